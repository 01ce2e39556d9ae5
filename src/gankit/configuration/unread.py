"""The one rule for config keys that a run would ignore.

Who reads which key is declared where the reader is defined: a recipe lists the shared keys it
does not read with their off values (``Recipe.UNUSED``, with ``Recipe.UNUSED_WHY``), a data set
the data keys it reads (``DATASETS.register(name, uses=...)``), and the model schema the keys
only image-to-image generators read (``ModelConfig.IMAGE_TO_IMAGE``) or only R3GAN's networks
(``ModelConfig.R3GAN``), a network family the model keys it ignores
(``GENERATORS.register("r3gan", ignores=..., why=...)``). :func:`settle_unread`
applies the rule to all of them:

- a key the person set explicitly (a preset, their own file, ``--set``) that the run ignores
  is refused in one line naming it, since silently dropping a choice hides a mistake;
- a key that only a data-set config or a default set, for another recipe (``grid25``'s hinge
  loss under ``recipe: meg``), goes back to its off value, and ``--explain`` says so: a preset
  never has to reset keys just to satisfy another recipe's refusal.

The same holds for another recipe's own section (``meg:`` under ``recipe: acgan``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gankit.configuration.compose import SCHEMA_DEFAULT, Source
from gankit.configuration.messages import refuse_set, show_value
from gankit.configuration.schema import (
    AugmentConfig,
    Config,
    DataConfig,
    ModelConfig,
    TrainConfig,
)
from gankit.errors import ConfigError


@dataclass(frozen=True)
class Reader:
    """Who ignores ``off``'s keys (``recipe meg``, ``data set ring8``), and why."""

    name: str
    off: dict[str, Any]  # section.key -> the value that means off
    why: str


def readers(config: Config) -> list[Reader]:
    """The declarations that apply to ``config``: its data set's, then its recipe's."""
    from gankit.data import DATASETS
    from gankit.recipes import RECIPES

    found = []
    name = config.data.name
    if name in DATASETS:  # a researcher's factory or given data may read any key
        uses = DATASETS.facts(name).get("uses", ())  # a source that declares nothing reads none
        defaults = DataConfig()
        optional = [f.name for f in dataclasses.fields(DataConfig)
                    if f.name not in DataConfig.EVERY_SOURCE]
        read = ", ".join(f"data.{key}" for key in (*DataConfig.EVERY_SOURCE, *uses))
        found.append(Reader(f"data set {name}", {
            f"data.{key}": getattr(defaults, key) for key in optional if key not in uses},
            f"it reads {read}"))
        if DATASETS.facts(name).get("images") is False:
            found.append(Reader(f"data set {name}", augment_off(),
                                "its examples are points, and augment transforms images"))
    found += model_readers(config.model) + schedule_readers(config.train)
    recipe = RECIPES[config.recipe]
    if not recipe.translates:
        found.append(Reader(f"recipe {config.recipe}", {
            f"model.{key}": getattr(ModelConfig(), key) for key in ModelConfig.IMAGE_TO_IMAGE},
            "they shape the image-to-image generators unet and resnet"))
    if not recipe.augments:
        found.append(Reader(f"recipe {config.recipe}", augment_off(),
                            "it does not pass what its D judges through Recipe.seen_by_d"))
    found.append(Reader(f"recipe {config.recipe}", dict(recipe.UNUSED), recipe.UNUSED_WHY))
    return found


def model_readers(model: ModelConfig) -> list[Reader]:
    """The model keys ``model``'s networks leave unread: those each part's family declares it
    ignores, and R3GAN's own keys when neither part is an r3gan network. A researcher's factory
    (an import string) or a given module may read any key."""
    from gankit.configuration.imports import GIVEN, is_import_string
    from gankit.models import DISCRIMINATORS, GENERATORS, part_name

    defaults = ModelConfig()
    found = []
    names = {part: part_name(model, part) for part in ("generator", "discriminator")}
    for part, registry in (("generator", GENERATORS), ("discriminator", DISCRIMINATORS)):
        name = names[part]
        if name in registry and (facts := registry.facts(name)).get("ignores"):
            found.append(Reader(f"model.{part} {name}", {
                f"model.{key}": getattr(defaults, key) for key in facts["ignores"]},
                facts["why"]))
    if not any(name == GIVEN or is_import_string(name) or name == "r3gan"
               for name in names.values()):
        found.append(Reader(f"model {model.name}", {
            f"model.{key}": getattr(defaults, key) for key in ModelConfig.R3GAN},
            "only the r3gan networks read them"))
    return found


def schedule_readers(train: TrainConfig) -> list[Reader]:
    """The train keys that move a value along a schedule, or ramp the weight average, left
    unread by the run's other settings: no decay (train.lr_decay_from 1), an optimizer without
    beta2, no weight average."""
    found = []
    if train.lr_decay_from >= 1:
        found.append(Reader("a run whose schedules never start (train.lr_decay_from 1.0)",
                            {"train.lr_final": 0.0, "train.beta2_final": None},
                            "set train.lr_decay_from below 1, e.g. 0, to decay"))
    if train.optimizer != "adam":
        found.append(Reader(f"train.optimizer {train.optimizer}", {"train.beta2_final": None},
                            "only Adam has a beta2"))
    if train.g_ema == 0:
        found.append(Reader("a run without G's weight average (train.g_ema 0)",
                            {"train.g_ema_rampup": 0.0},
                            "there is no average to ramp up; set train.g_ema, e.g. 0.999"))
    return found


def augment_off() -> dict[str, Any]:
    """The ``augment`` section's keys at their defaults, which are off (no policy): what data of
    points and a recipe without a D on images leave unread."""
    defaults = AugmentConfig()
    return {f"augment.{f.name}": getattr(defaults, f.name)
            for f in dataclasses.fields(AugmentConfig)}


def settle_unread(config: Config, sources: dict[str, Source]) -> None:
    """Refuse the explicit settings ``config``'s run would ignore; put the others back to off,
    noting it in ``sources``. A value equal to off, or 0, is off already."""
    for reader in readers(config):
        refused = []
        for key, off in reader.off.items():
            section_name, name = key.split(".")
            section = getattr(config, section_name)
            value = getattr(section, name)
            if value in (off, 0):
                continue
            source = sources.get(key, SCHEMA_DEFAULT)
            if source.explicit:
                refused.append(f"{key}={show_value(value)}")
                continue
            setattr(section, name, off)
            sources[key] = Source(f"off: {reader.name} does not read it ({source.text} set "
                                  f"{show_value(value)})")
        refuse_set(reader.name, refused, reader.why)


def settle_other_sections(data: dict[str, Any], sources: dict[str, Source], recipe: str) -> None:
    """Another recipe's section in config ``data``: refused if the person set a key of it (a
    config that forgot to switch recipes), dropped if only a data-set config did."""
    from gankit.recipes import RECIPES

    for other in RECIPES:
        if other not in data or other in ("recipe", recipe):
            continue
        if any(source.explicit for key, source in sources.items()
               if key == other or key.startswith(other + ".")):
            raise ConfigError(f"config section {other} holds options of recipe {other}, but "
                              f"recipe is {recipe}; set recipe: {other} or remove the section")
        del data[other]
