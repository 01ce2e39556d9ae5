"""A config resolved against the registries: re-exported from
:mod:`gankit.configuration.resolve`, so ``from gankit.resolve import build_config`` keeps
working."""

from gankit.configuration.resolve import build_config, explain, load_config, resolve

__all__ = ["build_config", "explain", "load_config", "resolve"]
