"""The colours of real and generated data, defined once for every picture of gankit: the
snapshots and plots (matplotlib reads these strings) and the browser view (its page loads
:func:`css` as ``/palette.css`` and draws with the CSS variables). Torch-free and tiny, so any
picture may import it."""

from __future__ import annotations

REAL = "#000000"  # black: real points, p_data
GENERATED = "#ffd700"  # gold (matplotlib's "gold"): generated points, p_g


def css() -> str:
    """The palette as CSS variables (``--real``, ``--fake``) for the view's page."""
    return f":root {{ --real: {REAL}; --fake: {GENERATED}; }}\n"
