"""Pictures of a run: loss curves, samples over the discriminator's landscape, 1-D densities,
image grids.

Plain functions of arrays and callables; they write PNGs and own no models.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gankit.storage.files import replace_atomically  # noqa: E402

if TYPE_CHECKING:
    from gankit.sampling.mcmc import SamplerTrace

TITLES = {"modes": "modes captured", "high_quality": "high-quality samples (%)",
          "reverse_kl": "reverse KL of the mode histogram", "w1": "exact W1 to real samples"}


def save_figure(fig: Any, path: Path) -> Path:
    """Write ``fig`` as a PNG to exactly ``path``, whole or not at all (a device or pipe in
    place: :func:`gankit.storage.files.replace_atomically`), and close it."""
    path = Path(path)
    try:
        with replace_atomically(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def plot_training_curves(records: Sequence[dict[str, float]], path: Path,
                         terms: Collection[str] = ()) -> Path:
    """The recipe's loss ``terms`` (first panel), its other logged figures (second panel) and
    each periodic evaluation metric (one panel each) against step. Whatever a recipe logs is
    drawn; the trainer's own figures (``steps_per_s``, ``lr/``) are left out."""
    logged = sorted({k for r in records for k in r} - {"step", "steps_per_s"})
    eval_keys = [k for k in logged if k.startswith("eval/")]
    recipe_keys = [k for k in logged if "/" not in k]
    panels = [("losses", [k for k in recipe_keys if k in terms]),
              ("statistics", [k for k in recipe_keys if k not in terms])]
    panels = [panel for panel in panels if panel[1]] or [("losses", [])]
    count = len(panels) + len(eval_keys)
    ncols = min(3, count)
    nrows = -(-count // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    axes = axes.ravel()
    for ax, (title, keys) in zip(axes, panels, strict=False):
        for key in keys:
            ax.plot(*zip(*[(r["step"], r[key]) for r in records if key in r], strict=True),
                    label=key, lw=1.2)
        ax.set(xlabel="step", title=title)
        if ax.lines:  # nothing is logged before the first log_every steps
            ax.legend(fontsize=8)
    for ax, key in zip(axes[len(panels):], eval_keys, strict=False):
        points = [(r["step"], r[key]) for r in records if key in r]
        ax.plot(*zip(*points, strict=True), marker="o", ms=3)
        name = key.removeprefix("eval/")
        ax.set(xlabel="step", title=TITLES.get(name, name))
    for ax in axes[count:]:
        ax.set_visible(False)
    fig.tight_layout()
    return save_figure(fig, path)


Landscape = Callable[[np.ndarray], "tuple[np.ndarray, str] | None"]  # points -> (values, label)


def plot_samples_2d(real: np.ndarray, fake: np.ndarray, landscape: Landscape, path: Path,
                    title: str = "", chains: np.ndarray | None = None,
                    labels: tuple[np.ndarray, np.ndarray | None] | None = None) -> Path:
    """Real and generated points over a filled contour of D (``landscape``) on their box, and
    latent chains decoded step by step (``chains`` [K, steps + 1, 2]), ending at a cross.
    With ``labels`` (the class each generated point was asked for, and the real points'
    labels or None) the points take their class's colour: real ones small and faint,
    generated ones as rings, so a conditional G that draws the wrong class shows."""
    both = np.concatenate([real, fake])
    lo, hi = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    pad = 0.15 * (hi - lo) + 1e-3
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 120)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 120)
    gx, gy = np.meshgrid(xs, ys)
    drawn = landscape(np.stack([gx.ravel(), gy.ravel()], 1))
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    if drawn is not None:
        contour = ax.contourf(gx, gy, drawn[0].reshape(gx.shape), levels=20, cmap="coolwarm",
                              alpha=0.75)
        fig.colorbar(contour, ax=ax, label=drawn[1])
    if labels is None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="black", alpha=0.35, label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=2, c="gold", alpha=0.6, label="generated")
    else:
        fake_labels, real_labels = labels
        colours = plt.get_cmap("tab10" if fake_labels.max() < 10 else "tab20")
        if real_labels is None:
            ax.scatter(real[:, 0], real[:, 1], s=2, c="black", alpha=0.35, label="real")
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
    ax.set(xlim=(xs[0], xs[-1]), ylim=(ys[0], ys[-1]), title=title, aspect="equal")
    ax.legend(loc="upper right", fontsize=7, markerscale=4)
    return save_figure(fig, path)


def draw_density_1d(ax: Any, x: np.ndarray, p_data: np.ndarray, fake: np.ndarray,
                    d_values: np.ndarray | None, title: str = "", d_label: str = "D(x)") -> None:
    """Goodfellow et al. 2014, Fig. 1: p_data (black dots), p_g (green), D(x) (blue dashes).

    D's axis is [0, 1] with the 1/2 line for probabilities, free otherwise."""
    ax.plot(x, p_data, "k:", lw=2, label="p_data")
    ax.hist(fake, bins=60, range=(x[0], x[-1]), density=True, histtype="step", color="green",
            lw=1.5, label="p_g")
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
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    drawn = landscape(x[:, None])
    values, label = drawn if drawn is not None else (None, "")
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


def plot_chain_trace(trace: SamplerTrace, path: Path, name: str) -> Path:
    """Latent chains step by step: the mean energy E(z) over chains and, for MALA, the mean
    acceptance probability with the step size it used (adapted during the burn-in only)."""
    mala = trace.step_acceptance is not None
    fig, axes = plt.subplots(1, 2 if mala else 1, figsize=(10 if mala else 5, 3.5),
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
