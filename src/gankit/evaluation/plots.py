"""Pictures of a run: loss curves, samples over the discriminator's landscape, 1-D densities,
image grids.

Plain functions of arrays and callables; they write PNGs and own no models.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from gankit.evaluation.palette import GENERATED, REAL, landscape_colormap
from gankit.storage.figures import DPI, save_figure, subplots
from gankit.storage.files import replace_atomically

if TYPE_CHECKING:
    from gankit.sampling.mcmc import SamplerTrace

TITLES = {"modes": "modes captured", "high_quality": "high-quality samples (%)",
          "reverse_kl": "reverse KL of the mode histogram", "w1": "exact W1 to real samples"}


def fixed_margins(fig: Any, left: float, right: float, bottom: float, top: float,
                  between: tuple[float, float] = (0.0, 0.0)) -> None:
    """Lay out ``fig``'s grid of axes with margins and gaps (width, height) given in inches,
    so that tick labels and titles fit without :meth:`~matplotlib.figure.Figure.tight_layout`
    and a trimmed save, each a layout pass that measures every text: for the snapshots'
    pictures they were most of the drawing time (``benchmarks/snapshot_cost.py``)."""
    width, height = fig.get_size_inches()
    gridspec = fig.axes[0].get_subplotspec().get_gridspec()
    nrows, ncols = gridspec.get_geometry()
    panel_w = (width - left - right - (ncols - 1) * between[0]) / ncols
    panel_h = (height - bottom - top - (nrows - 1) * between[1]) / nrows
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=between[0] / panel_w,
                        hspace=between[1] / panel_h)


def training_panels(records: Sequence[dict[str, float]], terms: Collection[str] = ()
                    ) -> list[tuple[str, list[str]]]:
    """The panels of :func:`plot_training_curves`, as (title, keys): the recipe's loss
    ``terms``, its other logged figures, then one panel per evaluation metric that changes.

    A metric whose every recorded value is the same is left out: a flat line says nothing
    its number (in eval.json and metrics.jsonl) does not, and such metrics are counts and
    yardsticks of the measurement (``fid_held_out_n``, ``held_out_images``, ``fid_input``),
    or a figure still at its floor (``near_copies`` 0). With a single snapshot nothing
    varies yet, so every metric keeps its panel."""
    logged = sorted({k for r in records for k in r} - {"step", "steps_per_s"})
    recipe_keys = [k for k in logged if "/" not in k]
    panels = [("losses", [k for k in recipe_keys if k in terms]),
              ("statistics", [k for k in recipe_keys if k not in terms])]
    panels = [panel for panel in panels if panel[1]] or [("losses", [])]
    for key in (k for k in logged if k.startswith("eval/")):
        values = [r[key] for r in records if key in r]
        if len(values) == 1 or len(set(values)) > 1:
            name = key.removeprefix("eval/")
            panels.append((TITLES.get(name, name), [key]))
    return panels


def plot_training_curves(records: Sequence[dict[str, float]], path: Path,
                         terms: Collection[str] = ()) -> Path:
    """The :func:`training_panels` against step: losses and statistics as lines with a
    legend, each evaluation metric as dots at its snapshots. Whatever a recipe logs is
    drawn; the trainer's own figures (``steps_per_s``, ``lr/``) are left out."""
    panels = training_panels(records, terms)
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    axes = axes.ravel()
    for ax, (title, keys) in zip(axes, panels, strict=False):
        for key in keys:
            points = [(r["step"], r[key]) for r in records if key in r]
            if key.startswith("eval/"):
                ax.plot(*zip(*points, strict=True), marker="o", ms=3)
            else:
                ax.plot(*zip(*points, strict=True), label=key, lw=1.2)
        ax.set(xlabel="step", title=title)
        if ax.get_legend_handles_labels()[0]:  # nothing is logged before log_every steps
            ax.legend(fontsize=8)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    # room for tick labels of up to about seven characters, the titles and "step"
    fixed_margins(fig, left=0.65, right=0.15, bottom=0.5, top=0.3, between=(0.75, 0.75))
    return save_figure(fig, path, trim=False)


# D's values at points and what they are ("D(x)", "energy U(x)"), or None where the recipe has
# no landscape to show; computed in the training process, before the picture is drawn
Landscape = tuple[np.ndarray, str] | None
LANDSCAPE_SIDE = 100  # D is evaluated on a LANDSCAPE_SIDE x LANDSCAPE_SIDE grid of the box


def landscape_grid(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box a 2-D picture shows (the 0.5-99.5th percentiles of both sets, padded by 15%)
    as the axes ``xs``, ``ys`` of the grid on which D's landscape is evaluated:
    :func:`grid_points` are the points to give D, row by row."""
    both = np.concatenate([real, fake])
    lo, hi = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    pad = 0.15 * (hi - lo) + 1e-3
    return (np.linspace(lo[0] - pad[0], hi[0] + pad[0], LANDSCAPE_SIDE),
            np.linspace(lo[1] - pad[1], hi[1] + pad[1], LANDSCAPE_SIDE))


def grid_points(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The points [len(ys) * len(xs), 2] of the grid of ``xs`` and ``ys``, row by row."""
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1)


def plot_samples_2d(real: np.ndarray, fake: np.ndarray, landscape: Landscape, path: Path,
                    title: str = "", chains: np.ndarray | None = None,
                    labels: tuple[np.ndarray, np.ndarray | None] | None = None) -> Path:
    """Real and generated points over a filled contour of D (``landscape``: its values at
    :func:`grid_points` of :func:`landscape_grid` of the same points), and latent chains
    decoded step by step (``chains`` [K, steps + 1, 2]), ending at a cross. With ``labels``
    (the class each generated point was asked for, and the real points' labels or None) the
    points take their class's colour: real ones small and faint, generated ones as rings, so
    a conditional G that draws the wrong class shows."""
    xs, ys = landscape_grid(real, fake)
    gx, gy = np.meshgrid(xs, ys)
    drawn = landscape
    fig, ax = subplots(figsize=(5.2, 4.4))
    # before the colorbar, which takes its room from the axes': a two-line title on top
    fixed_margins(fig, left=0.55, right=0.5, bottom=0.35, top=0.5)
    if drawn is not None:
        contour = ax.contourf(gx, gy, drawn[0].reshape(gx.shape), levels=20,
                              cmap=landscape_colormap(drawn[1]), alpha=0.75)
        bar = fig.colorbar(contour, ax=ax, label=drawn[1])
        bar.formatter.set_powerlimits((-3, 4))  # a critic's 10^5 as 1e5 above: labels fit
    if labels is None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c=REAL, alpha=0.35, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c=GENERATED, alpha=0.6, label="generated")
    else:
        fake_labels, real_labels = labels
        colours = matplotlib.colormaps.get_cmap("tab10" if fake_labels.max() < 10 else "tab20")
        if real_labels is None:
            ax.scatter(real[:, 0], real[:, 1], s=2, c=REAL, alpha=0.35, label="real")
        else:
            ax.scatter(real[:, 0], real[:, 1], s=2, c=colours(real_labels % colours.N),
                       alpha=0.25, label="real, by label")
        ax.scatter(fake[:, 0], fake[:, 1], s=6, facecolors="none", linewidths=0.5,
                   edgecolors=colours(fake_labels % colours.N), alpha=0.8,
                   label="generated, by asked class")
    for k, chain in enumerate([] if chains is None else chains):
        ax.plot(chain[:, 0], chain[:, 1], "-", color="darkgreen", lw=0.9,
                label="MALA chains in z" if k == 0 else None)
        ax.plot(chain[-1, 0], chain[-1, 1], "x", color="darkgreen", ms=4)
    ax.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]), aspect="equal")
    ax.set_title(title, fontsize=9)  # the metrics' line fits the fixed margins
    ax.legend(loc="upper right", fontsize=7, markerscale=4)
    return save_figure(fig, path, trim=False)


def draw_density_1d(ax: Any, x: np.ndarray, p_data: np.ndarray, fake: np.ndarray,
                    d_values: np.ndarray | None, title: str = "", d_label: str = "D(x)") -> None:
    """Goodfellow et al. 2014, Fig. 1: p_data (dots), p_g (a histogram), D(x) (blue dashes),
    real and generated in the colours of every picture (:mod:`gankit.evaluation.palette`).

    D's axis is [0, 1] with the 1/2 line for probabilities, free otherwise."""
    ax.plot(x, p_data, ":", color=REAL, lw=2, label="p_data")
    ax.hist(fake, bins=60, range=(x[0], x[-1]), density=True, histtype="stepfilled",
            color=GENERATED, alpha=0.6, edgecolor=GENERATED, lw=1.5, label="p_g")
    ax.set(title=title, xlabel="x", ylabel="density")
    ax.legend(loc="upper left", fontsize=7)
    if d_values is None:
        return
    d_axis = ax.twinx()
    d_axis.plot(x, d_values, "b--", lw=1.5, label=d_label)
    if d_label == "D(x)":
        d_axis.axhline(0.5, color="gray", lw=0.6)
        d_axis.set_ylim(0, 1)
    d_axis.legend(loc="upper right", fontsize=7)


def plot_density_1d(x: np.ndarray, p_data: np.ndarray, fake: np.ndarray, landscape: Landscape,
                    path: Path, title: str = "") -> Path:
    """:func:`draw_density_1d` as a PNG; ``landscape``: D's values at ``x``, or None."""
    fig, ax = subplots(figsize=(5.2, 3.4))
    values, label = landscape if landscape is not None else (None, "")
    draw_density_1d(ax, x, p_data, fake, values, title, label)
    return save_figure(fig, path)


def image_grid(images: np.ndarray, ncol: int, min_tile: int = 48, pad: int = 2) -> np.ndarray:
    """Images [N, C, H, W] in [-1, 1] (C = 1 or 3) -> one uint8 picture [rows, cols, 3]: tiles
    in rows of ``ncol``, each enlarged by an integer factor (nearest) to at least ``min_tile``
    pixels, so 8-px digits stay visible; a white ``pad`` between tiles."""
    n, c, h, w = images.shape
    scale = max(1, -(-min_tile // max(h, w)))
    tiles = np.clip((images + 1) * 127.5, 0, 255).round().astype(np.uint8)
    tiles = np.repeat(tiles, 3, axis=1) if c == 1 else tiles
    tiles = tiles.repeat(scale, axis=2).repeat(scale, axis=3).transpose(0, 2, 3, 1)
    th, tw = h * scale, w * scale
    rows = -(-n // ncol)
    grid = np.full((rows * (th + pad) + pad, ncol * (tw + pad) + pad, 3), 255, dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, col = divmod(i, ncol)
        top, left = pad + r * (th + pad), pad + col * (tw + pad)
        grid[top:top + th, left:left + tw] = tile
    return grid


def save_image_grid(images: np.ndarray, path: Path, ncol: int = 8) -> Path:
    """Write :func:`image_grid` of ``images`` as a PNG (exact pixels, no resampling blur)."""
    from PIL import Image

    path = Path(path)
    with replace_atomically(path) as tmp:
        Image.fromarray(image_grid(images, ncol)).save(tmp, format="PNG")
    return path


@dataclass(frozen=True)
class Grid:
    """Images [N, C, H, W] in [-1, 1] laid out in rows of ``ncol`` (:func:`image_grid`), with
    a title above and, where given, a name for each row (left) and each column (top)."""

    images: np.ndarray
    ncol: int
    title: str = ""
    rows: Sequence[str] = ()
    columns: Sequence[str] = ()


def save_grids(grids: Sequence[Grid], path: Path) -> Path:
    """Write ``grids`` side by side as one PNG, each at its exact pixels (nearest, no
    resampling blur), with its title and names; a picture a reader can read without
    knowing how the snapshot laid it out (which row is which class, which image is real)."""
    pictures = [image_grid(grid.images, grid.ncol) for grid in grids]
    gap = 40  # pixels between grids, room for the next one's row names
    width = sum(p.shape[1] for p in pictures) + gap * (len(pictures) - 1)
    height = max(p.shape[0] for p in pictures)
    fig = Figure(figsize=(width / DPI, height / DPI))
    left = 0
    for grid, picture in zip(grids, pictures, strict=True):
        h, w = picture.shape[:2]
        ax = fig.add_axes((left / width, 1 - h / height, w / width, h / height))
        ax.imshow(picture, interpolation="nearest")
        n_rows = -(-len(grid.images) // grid.ncol)
        ax.set_yticks([(r + 0.5) * h / n_rows for r in range(len(grid.rows))], grid.rows,
                      fontsize=8)
        ax.set_xticks([(c + 0.5) * w / grid.ncol for c in range(len(grid.columns))],
                      grid.columns, fontsize=8)
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        ax.set_title(grid.title, fontsize=10, pad=14 if grid.columns else 4)
        for spine in ax.spines.values():
            spine.set_visible(False)
        left += w + gap
    return save_figure(fig, path)


def plot_chain_trace(trace: SamplerTrace, path: Path, name: str) -> Path:
    """Latent chains step by step: the mean energy E(z) over chains and, for MALA, the mean
    acceptance probability with the step size it used (adapted during the burn-in only)."""
    mala = trace.step_acceptance is not None
    fig, axes = subplots(1, 2 if mala else 1, figsize=(10 if mala else 5, 3.5),
                         squeeze=False)
    energy = axes[0, 0]
    energy.plot(range(len(trace.energy)), trace.energy.numpy())
    energy.set(xlabel="step", ylabel="mean E(z)", title=f"{name}: energy")
    if mala:
        accept = axes[0, 1]
        accept.plot(range(1, len(trace.step_acceptance) + 1), trace.step_acceptance.numpy(),
                    label="acceptance")
        accept.set(xlabel="step", ylabel="mean acceptance probability", ylim=(0, 1.02),
                   title=f"acceptance {float(trace.acceptance.mean()):.2f}")
        size = accept.twinx()
        size.plot(range(1, len(trace.step_size) + 1), trace.step_size.numpy(), color="C1",
                  label="step size")
        size.set_ylabel("step size", color="C1")
    fig.tight_layout()
    return save_figure(fig, path)
