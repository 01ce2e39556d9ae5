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
    from_dict,
    merge,
    parse_overrides,
    read_config_data,
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
    if isinstance(loss := data.get("loss", {}), dict) and "name" not in loss:
        data = merge(data, {"loss": {"name": recipe.default_loss}}, f"recipe {name}")
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
    recipe.check_config(config)
    return config


def _check_names(config: Config) -> None:
    from gankit.data import check_data
    from gankit.models import GENERATORS, check_family, check_part

    check_data(config.data)
    check_family(config.model.name)
    check_part(GENERATORS, config.model, "generator")


def load_config(name_or_path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (a path or a shipped name), apply overrides and check everything."""
    return build_config(read_config_data(name_or_path), overrides)
