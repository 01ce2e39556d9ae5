"""A config resolved against the registries: names checked, paper defaults filled, and the
recipe's own section parsed into the options dataclass the recipe declares.

:mod:`gankit.config` is the schema and knows no registry; this layer sits on top of it and of
the registries (recipes, losses, data sets, networks), so that adding a recipe, with its options
and its checks, adds no line to either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gankit.config import (
    Config,
    ModelConfig,
    from_dict,
    merge,
    parse_overrides,
    read_config_data,
    refuse_set,
    show_value,
)
from gankit.errors import ConfigError


def build_config(data: dict[str, Any], overrides: list[str] | None = None) -> Config:
    """Plain data (+ ``--set`` overrides) -> a checked :class:`Config`, paper defaults filled."""
    from gankit.losses import LOSSES
    from gankit.recipes import RECIPES

    if not isinstance(data, dict):  # e.g. a YAML file holding a list or a bare string
        raise ConfigError(f"config must be a mapping of sections, got {type(data).__name__}")
    data = merge(data, parse_overrides(overrides or []), "--set")
    name = data.get("recipe", Config.recipe)
    from_dict(Config, {"recipe": name})  # the schema's message for a wrong type or length
    recipe = RECIPES[name]
    data = merge(_under(recipe.defaults, data), data, "the config")  # the config's values win
    # An absent section takes the defaults; a present one (even `began: null`) must be a mapping.
    section = data.pop(name, {}) if recipe.Options is not None else None
    for other in RECIPES:  # another recipe's section: a config that forgot to switch recipes
        if other in data and other != "recipe":
            raise ConfigError(f"config section {other} holds options of recipe {other}, but "
                              f"recipe is {name}; set recipe: {other} or remove the section")
    config = from_dict(Config, data)
    if recipe.Options is not None:
        config.options = from_dict(recipe.Options, section, prefix=f"{name}.")
    spec = LOSSES[config.loss.name]
    if config.loss.gp_weight is None:
        config.loss.gp_weight = spec.default_gp_weight
    if config.loss.clip is None:
        config.loss.clip = spec.default_clip
    config.check()
    if config.options is not None:
        config.options.check()
    _check_names(config)
    from gankit.data import known_spec

    if (spec := known_spec(config.data.name)) is not None:  # pairs, or examples to generate
        recipe.check_data(spec, config.data.name, name)
    recipe.check_config(config)
    return config


def _under(defaults: dict[str, dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    """The recipe's defaults for the sections ``data`` leaves as mappings (or out): a section
    that is not a mapping (``loss: 5``) is left for the schema's own message."""
    return {section: values for section, values in defaults.items()
            if isinstance(data.get(section, {}), dict)}


def _check_names(config: Config) -> None:
    from gankit.data import check_data
    from gankit.models import GENERATORS, TRANSLATORS, check_family, check_part
    from gankit.recipes import RECIPES

    check_data(config.data)
    check_family(config.model.name)
    translates = RECIPES[config.recipe].translates  # an image-to-image G, or one of z
    check_part(TRANSLATORS if translates else GENERATORS, config.model, "generator")
    if not translates:
        defaults = ModelConfig()
        refuse_set(f"recipe {config.recipe}", [
            f"model.{key}={show_value(getattr(config.model, key))}"
            for key in ("g_norm", "g_dropout") if getattr(config.model, key) != getattr(
                defaults, key)], "they shape the image-to-image generators unet and resnet")


def load_config(name_or_path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (a path or a shipped name), apply overrides and check everything."""
    return build_config(read_config_data(name_or_path), overrides)
