"""Import strings: ``"package.module:name"`` names a researcher's own factory in a config, so
that ``gankit sample``, ``eval`` and ``train --resume`` can rebuild a run made of their parts."""

from __future__ import annotations

import importlib
from typing import Any

from gankit.configuration.messages import show_value
from gankit.errors import ConfigError

GIVEN = "given"  # the name a config records for a part or data passed to gankit.build as objects


def is_import_string(name: str) -> bool:
    return ":" in name


def load_object(spec: str, key: str) -> Any:
    """The object ``module:attr`` names (``attr`` may be dotted); one ConfigError line naming the
    config ``key`` when the module or the attribute cannot be found."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{key} {show_value(spec)} must be an import string "
                          f"'package.module:name'")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # a module that fails while importing is the user's code too
        raise ConfigError(f"{key} {show_value(spec)}: cannot import {module_name} "
                          f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
                          ) from None
    value: Any = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise ConfigError(f"{key} {show_value(spec)}: {module_name} has no attribute {attr!r}")
        value = getattr(value, part)
    if not callable(value):
        raise ConfigError(f"{key} {show_value(spec)} is a {type(value).__name__}, not a "
                          f"factory to call")
    return value
