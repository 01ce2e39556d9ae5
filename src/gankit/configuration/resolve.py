"""A composed config resolved against the registries: the recipe's paper defaults under it,
keys its run would ignore settled (:mod:`~gankit.configuration.unread`), the loss's paper
values filled in, names checked, and the recipe's own section parsed into its options.

The result shows every value that the run uses, never a None standing for "the paper's
default", and keeps where each came from (:func:`explain`). The schema knows no registry; this
layer sits on top of it and of the registries (recipes, losses, data sets, networks), so that
adding a recipe, with its options and its checks, adds no line here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from gankit.configuration.compose import SCHEMA_DEFAULT, Composition, Source, compose
from gankit.configuration.messages import show_value
from gankit.configuration.reading import from_dict
from gankit.configuration.schema import Config
from gankit.configuration.unread import settle_other_sections, settle_unread
from gankit.errors import ConfigError

GIVEN = Source("the config given", explicit=True)  # plain data: every key the person's


def build_config(data: dict[str, Any] | Composition, overrides: list[str] | None = None
                 ) -> Config:
    """Plain data or a :class:`Composition` (+ ``--set`` overrides) -> a checked
    :class:`Config`, paper defaults filled. Plain data counts as set by the person."""
    return resolve(data, overrides)[0]


def load_config(name_or_path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (a path or a shipped name), apply overrides and check everything."""
    return build_config(compose(name_or_path), overrides)


def resolve(data: dict[str, Any] | Composition, overrides: list[str] | None = None
            ) -> tuple[Config, dict[str, Source]]:
    """The checked config and the source of each of its ``section.key`` values."""
    from gankit.recipes import RECIPES

    composition = data if isinstance(data, Composition) else Composition.given(data, GIVEN)
    composition = composition.with_overrides(overrides or [])
    name = composition.data.get("recipe", Config.recipe)
    from_dict(Config, {"recipe": name})  # the schema's message for a wrong type or length
    recipe = RECIPES[name]
    composition = composition.under(recipe.defaults, Source(f"recipe {name}'s paper default"))
    data, sources = dict(composition.data), dict(composition.sources)
    # An absent section takes the defaults; a present one (even `began: null`) must be a mapping.
    section = data.pop(name, {}) if recipe.Options is not None else None
    settle_other_sections(data, sources, name)
    config = from_dict(Config, data)
    if recipe.Options is not None:
        config.options = from_dict(recipe.Options, section, prefix=f"{name}.")
    config.check()
    if config.options is not None:
        config.options.check()
    settle_unread(config, sources)
    _fill_loss_defaults(config, sources)
    _fill_data_defaults(config, sources)
    _check_names(config)
    from gankit.data import known_spec

    if (spec := known_spec(config.data.name)) is not None:  # pairs, or examples to generate
        recipe.check_data(spec, config.data.name, name)
    recipe.check_config(config)
    return config, sources


def _fill_loss_defaults(config: Config, sources: dict[str, Source]) -> None:
    """Unset penalty weights take the loss's paper values (WGAN-GP's lambda = 10, Gulrajani et
    al. 2017; WGAN's clip c = 0.01, Arjovsky et al. 2017; 0 for the others); label smoothing
    needs a D that outputs a logit."""
    from gankit.losses.adversarial import LOSSES

    loss = config.loss
    spec = LOSSES[loss.name]
    paper = Source(f"loss {loss.name}'s paper default (gankit.losses)")
    if loss.gp_weight is None:
        loss.gp_weight, sources["loss.gp_weight"] = spec.default_gp_weight, paper
    if loss.clip is None:
        loss.clip, sources["loss.clip"] = spec.default_clip, paper
    if loss.real_label < 1 and not spec.probabilistic:
        logits = ", ".join(name for name in LOSSES.names() if LOSSES[name].probabilistic)
        raise ConfigError(f"loss.real_label < 1 (label smoothing) needs a log-likelihood "
                          f"loss ({logits}), got loss.name {loss.name!r}")


def _fill_data_defaults(config: Config, sources: dict[str, Source]) -> None:
    """The recipe's options whose paper value depends on the data (MEG's lambda: 10 on images,
    0.1 on points), from the data set's registered facts; a researcher's data, whose facts are
    unknown here, leaves them to the recipe once the data is loaded."""
    from gankit.data import DATASETS
    from gankit.recipes import RECIPES

    if config.options is None or config.data.name not in DATASETS:
        return
    facts = DATASETS.facts(config.data.name)
    paper = Source(f"recipe {config.recipe}'s paper default for data {config.data.name}")
    for key, value in RECIPES[config.recipe].data_defaults(config.options, facts).items():
        setattr(config.options, key, value)
        sources[f"{config.recipe}.{key}"] = paper


def _check_names(config: Config) -> None:
    from gankit.data import check_data
    from gankit.models import GENERATORS, TRANSLATORS, check_family, check_part
    from gankit.recipes import RECIPES

    check_data(config.data)
    from gankit.augment import check_augment

    check_augment(config)
    check_family(config.model.name)
    translates = RECIPES[config.recipe].translates  # an image-to-image G, or one of z
    check_part(TRANSLATORS if translates else GENERATORS, config.model, "generator")


def explain(config: Config, sources: dict[str, Source]) -> list[str]:
    """One line per key of the resolved config: ``train.lr_d: 0.0001  <- preset wgan-gp
    (...)``; a key no layer set is the schema's default, or the recipe's option default."""
    rows = []
    for section, values in config.to_dict().items():
        if not isinstance(values, dict):
            rows.append((section, values, sources.get(section, SCHEMA_DEFAULT)))
            continue
        default = (Source(f"recipe {config.recipe}'s option default")
                   if section == config.recipe and dataclasses.is_dataclass(config.options)
                   else SCHEMA_DEFAULT)
        rows += [(f"{section}.{key}", value, sources.get(f"{section}.{key}", default))
                 for key, value in values.items()]
    width = max(len(f"{key}: {show_value(value)}") for key, value, _ in rows)
    return [f"{f'{key}: {show_value(value)}':{width}s}  <- {source.text}"
            for key, value, source in rows]
