"""Figures gankit draws and writes: made without pyplot, written whole or not at all.

Torch-free, so that commands which only draw (``gankit compare``) start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from gankit.storage.files import replace_atomically

DPI = 110  # every PNG's; a grid figure is sized in pixels at it, so no image is resampled


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float],
             **kwargs: Any) -> tuple[Figure, Any]:
    """``plt.subplots`` without pyplot: a figure no backend owns, so drawing a picture neither
    switches a notebook's backend nor keeps the figure in pyplot's global list."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def save_figure(fig: Any, path: Path, *, trim: bool = True) -> Path:
    """Write ``fig`` as a PNG to exactly ``path``, whole or not at all (a device or pipe in
    place: :func:`gankit.storage.files.replace_atomically`).

    ``trim`` cuts the PNG to what is drawn, which costs a second layout pass over every
    text; a figure laid out with :func:`gankit.evaluation.plots.fixed_margins` (the
    snapshots', drawn ten times a run) fits its canvas already and is saved as it is."""
    path = Path(path)
    with replace_atomically(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight" if trim else None)
    return path
