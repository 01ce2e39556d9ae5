"""Plain data (a YAML mapping, ``--set`` values) to the schema's typed sections
(:mod:`gankit.configuration.schema`), each wrong key, type or value one line.

Every value is checked against its key's type hint and bounds: an int within its key's
:func:`~gankit.configuration.schema.bounded` range, a float finite in float32, a string of at
most :data:`MAX_TEXT` characters, a list of at most :data:`MAX_LIST` values; an unknown key
names the known ones, a key that moved names where it is now.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from gankit.configuration.messages import float32_problem, key_text, range_problem, show_value
from gankit.configuration.schema import INT64_RANGE, check_interval
from gankit.errors import ConfigError

# Keys that moved, with where they are now: an old config fails with a line naming the new key.
MOVED_KEYS = {"loss.began_gamma": "began.gamma", "loss.began_lambda_k": "began.lambda_k"}


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from plain data, checking keys and types recursively."""
    where = prefix.rstrip(".") or "config"
    check_section(data, where)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("section", True)}
    unknown = sorted((k for k in data if k not in fields), key=show_value)  # keys of any type
    if unknown:
        key = key_text(prefix, unknown[0])
        if key in MOVED_KEYS:
            raise ConfigError(f"config key {key} is now {MOVED_KEYS[key]} (the recipe's own "
                              f"section); rename it")
        raise ConfigError(
            f"unknown config key {key}; known keys in {where}: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if value is None and _optional_section(hint):
            values[name] = None
            continue
        hint = _optional_section(hint) or hint
        if dataclasses.is_dataclass(hint):
            values[name] = from_dict(hint, value, f"{prefix}{name}.")
        else:
            if fields[name].metadata.get("interval"):
                values[name] = check_interval(value, f"{prefix}{name}")
                continue
            bounds = fields[name].metadata.get("range", INT64_RANGE)
            values[name] = _coerce(value, hint, f"{prefix}{name}", bounds)
    return cls(**values)


def _optional_section(hint: Any) -> Any:
    """The dataclass of a ``Section | None`` key (``train.keep_best``), else None."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        inner = [t for t in typing.get_args(hint) if t is not type(None)]
        if len(inner) == 1 and dataclasses.is_dataclass(inner[0]):
            return inner[0]
    return None


def check_section(data: Any, where: str, source: str = "") -> None:
    """``data`` must be a mapping: a config, or one of its sections."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping (a config section), got "
                          f"{type(data).__name__} {show_value(data)}{source}")


MAX_TEXT = 4096  # characters of a string value: PATH_MAX, the longest path Linux opens
MAX_LIST = 64  # values of a list key (InfoGAN's categorical codes): more is a mistake


def _coerce(value: Any, hint: Any, key: str, bounds: tuple[int, int] = INT64_RANGE) -> Any:
    """Check ``value`` against a type hint (int, float, str, bool, X | None, or tuple[X, ...]
    read from a list); an int must lie in ``bounds``, a float be finite in float32
    (:func:`float32_problem`), a string have at most MAX_TEXT characters, a list at most
    MAX_LIST values."""
    if typing.get_origin(hint) is tuple:  # tuple[int, ...]: a YAML list of such values
        (item, _) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)) or len(value) > MAX_LIST:
            raise ConfigError(f"{key} must be a list of at most {MAX_LIST} {item.__name__}s, "
                              f"got {type(value).__name__} {show_value(value)}")
        return tuple(_coerce(v, item, f"{key}[{i}]", bounds) for i, v in enumerate(value))
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [t for t in options if t is not type(None)]
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[hint]
    if not ok:
        got = f"{type(value).__name__} {show_value(value)}"
        raise ConfigError(f"{key} must be {hint.__name__}, got {got}")
    if hint is int and (problem := range_problem(value, *bounds)):
        raise ConfigError(f"{key} {problem}")
    if hint is str and len(value) > MAX_TEXT:
        raise ConfigError(f"{key} must have at most {MAX_TEXT} characters, got "
                          f"{len(value)}: {show_value(value)}")
    if hint is float:
        try:
            value = float(value)
        except OverflowError:  # an int beyond float range
            raise ConfigError(f"{key} must be a finite number, got {show_value(value)}") from None
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value}")
        if problem := float32_problem(value):  # every float key reaches a float32 tensor
            raise ConfigError(f"{key} {problem}")
    return value
