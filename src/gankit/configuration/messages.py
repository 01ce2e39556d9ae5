"""How config values read in one-line messages: bounded reprs, bounds, dotted keys, refusals.

Every config error names the bad value; a value can be a megabyte string, an int of 5,000
digits or an alias bomb, so these helpers keep the message short and its making cheap.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

from gankit.errors import ConfigError


class _ShortRepr(reprlib.Repr):
    """reprlib's bounded repr, also for ints whose full repr Python refuses (> 4,300 digits)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:  # ~60 digits: more than a message shows anyway
            return f"<int of ~{int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_SHORT_REPR = _ShortRepr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


def show_value(value: Any, limit: int = 60) -> str:
    """A short one-line repr for error messages: bounded in length and in the work it does, so
    that a huge int, a megabyte string or an alias bomb (a list holding itself 10^9 times over
    shared references) prints as fast as a number."""
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def range_problem(value: int, low: int, high: int) -> str | None:
    """What is wrong with ``value`` for the bounds [low, high] (``"must be >= 1, got 0"``), or
    None; the phrase of every bounded int, in the config and on the command line."""
    if value < low:
        return f"must be >= {_int_text(low)}, got {show_value(value)}"
    if value > high:
        return f"must be <= {_int_text(high)}, got {show_value(value)}"
    return None


def _int_text(n: int) -> str:
    """A bound as people read it: 2^63 - 1 rather than 9223372036854775807."""
    for offset, suffix in ((0, ""), (1, " - 1")):
        magnitude = abs(n) + offset
        if magnitude >= 2**16 and magnitude & (magnitude - 1) == 0:
            return f"{'-' if n < 0 else ''}2^{magnitude.bit_length() - 1}{suffix}"
    return str(n)


def key_text(prefix: str, key: Any) -> str:
    """A dotted key for a message; a key that is no short printable string shows as its repr."""
    return printable(f"{prefix}{key}" if isinstance(key, str) else f"{prefix}{show_value(key)}")


def printable(text: str, limit: int = 60) -> str:
    """``text`` as it is when it keeps a message short and on one line (and is not empty),
    else its short repr."""
    return text if text.isprintable() and 0 < len(text) <= limit else show_value(text, limit)


def refuse_set(user: str, keys: list[str], why: str) -> None:
    """One line refusing settings ``keys`` (``"train.g_ema=0.999"``) that ``user`` (a recipe, a
    data set) would silently ignore; nothing when there are none."""
    if keys:
        raise ConfigError(f"{user} does not use {', '.join(keys)} ({why}); remove them")
