"""The colours of real and generated data, and of D's landscape behind them, defined once for
every picture of gankit: the snapshots and plots (matplotlib reads these strings) and the
browser view (its page loads :func:`css` as ``/palette.css`` and draws with the CSS variables).
The module imports nothing itself, so it stays cheap; importing it as
``gankit.evaluation.palette`` still runs the package's ``__init__``, which imports torch."""

from __future__ import annotations

from typing import Any

REAL = "#000000"  # black: real points, p_data
GENERATED = "#ffd700"  # gold (matplotlib's "gold"): generated points, p_g
# D's landscape, from what D takes for generated through undecided to what it takes for real:
# matplotlib's coolwarm at 0, 0.5 and 1 (blue, grey, red), clear of the black and gold points.
# Drawn as a straight line in RGB through the three, in the view and in the snapshots alike.
LANDSCAPE = ("#3b4cc0", "#dddcdc", "#b40426")


def low_is_real(label: str) -> bool:
    """Whether D's values read the other way round: an energy (MEG's ``energy U(x)``, BEGAN's
    ``auto-encoder loss L(x)``) is low where the data looks real. The view's ``heatScale``
    (view/static/view.js) reads the labels by the same rule."""
    return label.startswith(("energy", "auto-encoder"))


def landscape_colormap(label: str = "D(x)") -> Any:  # -> matplotlib Colormap
    """:data:`LANDSCAPE` as a matplotlib colour map for D's values named ``label``, turned
    round for an energy, so "looks real" has one colour whatever D outputs."""
    from matplotlib.colors import LinearSegmentedColormap

    ends = LANDSCAPE[::-1] if low_is_real(label) else LANDSCAPE
    return LinearSegmentedColormap.from_list("gankit-landscape", list(ends))


def css() -> str:
    """The palette as CSS variables (``--real``, ``--fake``, ``--landscape-generated``,
    ``--landscape-undecided``, ``--landscape-real``) for the view's page."""
    generated, undecided, real = LANDSCAPE
    return (f":root {{ --real: {REAL}; --fake: {GENERATED}; --landscape-generated: {generated}; "
            f"--landscape-undecided: {undecided}; --landscape-real: {real}; }}\n")
