r"""Is D an energy model? The learned energy against the true log-density on the toy mixtures.

An energy model $q(x) = e^{-U(x)}/Z$ is a density model: where it is trained well, $-U(x)$
follows $\log p_{data}(x)$ up to a constant. MEG trains D as such an energy (Kumar et al. 2019,
Sec. 2-3: the positive phase on data, the negative phase on samples of a maximum-entropy G), so
its U should rank points as the data density does. A non-saturating GAN's D does not model the
data alone: its optimal logit is $d^*(x) = \log p_{data}(x) - \log p_g(x)$ (Goodfellow et al.
2014, Prop. 1), which flattens towards 0 wherever G has learned the data; its energy
$-d(x)$ (the one DDLS samples, Che et al. 2020) is the *correction* to G, not the density.

For each data set (PacGAN's grid25 and ring8), one MEG and one non-saturating GAN are trained;
each model's data-space energy (:meth:`gankit.recipes.base.TwoPlayerRecipe.energy`) is compared
with the exact log-density (:meth:`gankit.data.distributions.GaussianMixture.log_pdf`) by
:func:`compare`: Pearson and Spearman correlations of $-U$ with $\log p$ on a grid over the data's
box and on points near the data, and how deep the modes lie in the energy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from gankit.api import Run, build
from gankit.data.distributions import GaussianMixture
from gankit.evaluation.plots import save_figure, subplots
from gankit.experiments.base import EXPERIMENTS, output_paths
from gankit.training.runlog import write_json

NAME = "energy-landscape"
SEED = 2019
DATASETS = ("grid25", "ring8")
MODELS = {"meg": "MEG energy U(x)", "non-saturating": "non-saturating GAN -d(x)"}
NEAR_DATA_WIDTH = 4.0  # points near the data: the mixture with its std widened this much


def settings(quick: bool) -> tuple[dict[str, int], int, list[str]]:
    """(training steps per model, grid points per axis, extra overrides)."""
    if quick:
        return {"meg": 150, "non-saturating": 300}, 40, ["model.g_hidden=64",
                                                         "model.d_hidden=64"]
    # MEG takes 5 energy steps per G step: 3,000 G steps cost about the non-saturating 8,000.
    return {"meg": 3000, "non-saturating": 8000}, 120, []


@EXPERIMENTS.register(NAME)
def energy_landscape(out_dir: Path, quick: bool = False) -> dict[str, Any]:
    """Train MEG and a non-saturating GAN on each toy mixture; compare their energies with the
    true log-density."""
    steps, size, extra = settings(quick)
    figures: dict[str, Any] = {"source": "Kumar et al. 2019; Che et al. 2020; Goodfellow et al. "
                                         "2014, Prop. 1", "seed": SEED, "train_steps": steps,
                               "grid": size, "near_data_width": NEAR_DATA_WIDTH, "results": {}}
    panels = []
    for dataset in DATASETS:
        for model, label in MODELS.items():
            run = build(f"{dataset}-{model}", [f"train.steps={steps[model]}",
                                               f"train.seed={SEED}", *extra],
                        progress=False, snapshots=False)
            run.fit()
            data = run.data
            grid = box_grid(data, size)
            energy = data_energy(run)
            result = compare(energy, data, grid, torch.Generator().manual_seed(SEED))
            figures["results"][f"{dataset}-{model}"] = result
            panels.append((dataset, label, grid, energy(grid).numpy(), data, result))
    png, json_path = output_paths(out_dir, NAME)
    plot(panels, size, png)
    write_json(json_path, figures)
    return figures


def data_energy(run: Run) -> Callable[[Tensor], Tensor]:
    """The trained recipe's energy at points [N, 2] -> [N], in eval mode, without gradients,
    in chunks of the training batch (a D with minibatch layers compares a batch's pairs)."""
    recipe = run.recipe
    recipe.eval()
    chunk = run.config.data.batch_size

    @torch.no_grad()
    def energy(x: Tensor) -> Tensor:
        return torch.cat([recipe.energy(part).float() for part in x.split(chunk)])

    return energy


def box_grid(data: GaussianMixture, size: int) -> Tensor:
    """``size`` x ``size`` points [size^2, 2] over the modes' box, padded by a quarter of it."""
    lo, hi = data.modes.min(0).values, data.modes.max(0).values
    pad = 0.25 * (hi - lo)
    axes = [torch.linspace(float(a - p), float(b + p), size) for a, b, p in zip(lo, hi, pad,
                                                                                 strict=True)]
    return torch.cartesian_prod(*axes)


def compare(energy: Callable[[Tensor], Tensor], data: GaussianMixture, grid: Tensor,
            generator: torch.Generator, n_near: int = 5000) -> dict[str, float]:
    """How well ``-energy`` follows ``data.log_pdf``:

    - ``pearson_grid``, ``spearman_grid``: correlations over ``grid`` (Spearman's ranks are
      blind to the scale: an energy can be right in order yet far from quadratic in the
      distance to a mode, which the penalty on its gradient forbids);
    - ``pearson_near_data``: Pearson over ``n_near`` draws of the mixture with its std widened
      by NEAR_DATA_WIDTH, where the density changes within and between modes;
    - ``mode_depth``: (mean energy over the grid - mean energy at the mode centres) / the
      grid's std of the energy: > 0 when the modes are wells.
    """
    widened = GaussianMixture(data.name, data.dim, data.modes, data.mode_std * NEAR_DATA_WIDTH)
    near = widened.points(n_near, generator)
    on_grid, at_near, at_modes = energy(grid), energy(near), energy(data.modes)
    truth_grid, truth_near = data.log_pdf(grid), data.log_pdf(near)
    spread = float(on_grid.std())
    return {"pearson_grid": _correlation(stats.pearsonr, -on_grid, truth_grid),
            "spearman_grid": _correlation(stats.spearmanr, -on_grid, truth_grid),
            "pearson_near_data": _correlation(stats.pearsonr, -at_near, truth_near),
            "mode_depth": (float(on_grid.mean() - at_modes.mean()) / spread if spread > 0
                           else float("nan"))}


def _correlation(measure: Callable[..., Any], a: Tensor, b: Tensor) -> float:
    """A correlation of two series; nan when either is constant (it is undefined there)."""
    if float(a.std()) == 0 or float(b.std()) == 0:
        return float("nan")
    return float(measure(a.double().numpy(), b.double().numpy())[0])


def plot(panels: list[tuple[str, str, Tensor, np.ndarray, GaussianMixture, dict[str, float]]],
         size: int, path: Path) -> None:
    """One row per data set: -log p_data (clipped at its median, where it is already far from
    every mode), then each model's energy; the mode centres as dots."""
    rows = [panels[i:i + len(MODELS)] for i in range(0, len(panels), len(MODELS))]
    fig, axes = subplots(len(rows), 1 + len(MODELS), figsize=(4.2 * (1 + len(MODELS)),
                                                                   3.8 * len(rows)),
                             squeeze=False)
    for row_axes, row in zip(axes, rows, strict=True):
        dataset, _, grid, _, data, _ = row[0]
        gx, gy = (grid[:, i].reshape(size, size).numpy() for i in (0, 1))
        truth = -data.log_pdf(grid).numpy()
        drawn = [(np.minimum(truth, np.median(truth)), f"{dataset}: -log p_data(x) (clipped)")]
        drawn += [(values, f"{label}\nPearson {r['pearson_grid']:.2f}, "
                           f"Spearman {r['spearman_grid']:.2f}")
                  for _, label, _, values, _, r in row]
        for ax, (values, title) in zip(row_axes, drawn, strict=True):
            contour = ax.contourf(gx, gy, values.reshape(size, size), levels=20, cmap="viridis")
            fig.colorbar(contour, ax=ax)
            ax.scatter(*data.modes.T.numpy(), s=6, c="white", edgecolors="k", linewidths=0.3)
            ax.set(title=title, aspect="equal")
            ax.title.set_fontsize(9)
    fig.tight_layout()
    save_figure(fig, path)
