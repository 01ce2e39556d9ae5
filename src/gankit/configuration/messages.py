"""How config values read in one-line messages: bounded reprs, bounds, dotted keys, refusals.

Every config error names the bad value; a value can be a megabyte string, an int of 5,000
digits or an alias bomb, so these helpers keep the message short and its making cheap.
"""

from __future__ import annotations

import math
import reprlib
import struct
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


# float32's range, which the tensors that config values and flags reach compute in: its largest
# finite value and its smallest normal one (below it, subnormals that a GPU flushes to 0).
FLOAT32_MAX = (2 - 2**-23) * 2**127  # 3.4028235e38
FLOAT32_TINY = 2.0**-126  # 1.1754944e-38


def as_float32(value: float) -> float:
    """``value`` as a float32 tensor stores it: rounded to float32, inf beyond its range."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:  # struct refuses what rounds past the largest float32
        return math.copysign(math.inf, value)


def float32_problem(value: float | int, positive: bool = False) -> str | None:
    """What is wrong with ``value`` for a number computed in float32 (a step size, a learning
    rate, a penalty weight), or None: it must be finite *after* the conversion (1e39 becomes inf)
    and, unless it is 0 (where ``positive`` allows it), at least float32's smallest normal
    number (1e-320 becomes 0, 1e-40 a subnormal that a GPU flushes to 0). ``positive``: > 0
    too. The phrase of every float flag and float config key."""
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64
        number = math.inf if value > 0 else -math.inf
    magnitude = abs(as_float32(number)) if math.isfinite(number) else math.inf
    allowed = (f"a number in [{FLOAT32_TINY:.8g}, {FLOAT32_MAX:.8g}]" if positive else
               f"0 or a number of magnitude in [{FLOAT32_TINY:.8g}, {FLOAT32_MAX:.8g}]")
    if math.isnan(number) or (positive and not number > 0) or magnitude > FLOAT32_MAX or (
            number != 0 and magnitude < FLOAT32_TINY):
        return f"must be {allowed} (it is used in float32), got {show_value(value)}"
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
