"""A 1-D GAN reaching D(x) = 1/2 on the data: Goodfellow et al. 2014, Fig. 1, as a run.

G (a ReLU MLP of z ~ N(0, 1)) learns p_data = N(4, 0.5^2) (``gaussian-1d``) with the
non-saturating loss. Four snapshots show p_data, p_g (a histogram of G's samples) and D(x),
like the paper's panels (a)-(d): D first separates the two distributions, then G moves onto the
data, and at the end D is close to 1/2 wherever the data is, because at the global optimum
p_g = p_data and D* = p_data / (p_data + p_g) = 1/2 (Prop. 1, Thm. 1).

Per snapshot we report the mean of |D(x) - 1/2| over a uniform grid on the data's bulk
(mean +- 2 std) and W1(p_g, p_data) between fresh generated samples and p_data discretized on a
fine grid (so only the generated side carries sampling noise).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.special import expit

from gankit.api import build
from gankit.evaluation.plots import draw_density_1d, save_figure, subplots
from gankit.experiments.base import EXPERIMENTS, critic_on_grid, output_paths
from gankit.theory.divergences import wasserstein1
from gankit.training.runlog import write_json

NAME = "gan-1d"
SNAPSHOT_SEED = 19  # the snapshots' own samples, apart from the training stream
N_SAMPLES = 20_000



@EXPERIMENTS.register(NAME)
def gan_1d(out_dir: Path, quick: bool = False) -> dict[str, Any]:
    """Train the 1-D GAN and snapshot p_g and D at four steps."""
    steps = 600 if quick else 2000
    snapshots = (20, 100, steps // 2, steps)  # D separates; G arrives; G settles; the end
    run = build("gaussian-1d", [f"train.steps={steps}"], progress=False, snapshots=False)
    mu, std = run.data.centers.item(), run.data.std
    bulk = np.linspace(mu - 2 * std, mu + 2 * std, 201)  # [B] where |D - 1/2| is measured
    fine = np.linspace(mu - 8 * std, mu + 8 * std, 8001)  # [F] p_data's support for W1
    p_fine = run.data.pdf(torch.as_tensor(fine, dtype=torch.float32)[:, None]).double().numpy()
    x = np.linspace(0.0, 7.0, 400)  # [X] the plotted window
    p_data = run.data.pdf(torch.as_tensor(x, dtype=torch.float32)[:, None]).numpy()

    panels, records = [], []
    for step in snapshots:
        run.fit(step)
        fake = run.sample(N_SAMPLES, seed=SNAPSHOT_SEED)[:, 0].numpy()  # [N]
        d_bulk = expit(critic_on_grid(run.recipe.critic, bulk))  # D = sigmoid(logit)
        records.append({
            "step": step,
            "mean_abs_d_minus_half": float(np.abs(d_bulk - 0.5).mean()),
            "w1": wasserstein1(fake, fine, y_weights=p_fine),
            "p_g_mean": float(fake.mean()), "p_g_std": float(fake.std()),
        })
        panels.append((fake, expit(critic_on_grid(run.recipe.critic, x))))

    figures = {
        "source": "Goodfellow et al. 2014, Fig. 1, Prop. 1 and Thm. 1",
        "p_data": f"N({mu:g}, {std:g}^2)",
        "d_region": f"uniform grid on [{bulk[0]:g}, {bulk[-1]:g}] (p_data mean +- 2 std)",
        "w1_against": "p_data discretized on 8,001 points over mean +- 8 std",
        "n_samples": N_SAMPLES,
        "snapshots": records,
    }
    png, json_path = output_paths(out_dir, NAME)
    plot(x, p_data, panels, records, png)
    write_json(json_path, figures)
    return figures


def plot(x: np.ndarray, p_data: np.ndarray, panels: list[tuple[np.ndarray, np.ndarray]],
         records: list[dict[str, float]], path: Path) -> None:
    fig, axes = subplots(1, len(panels), figsize=(4.2 * len(panels), 3.3))
    for ax, letter, (fake, d_values), record in zip(axes, "abcd", panels, records, strict=True):
        title = (f"({letter}) step {record['step']}\n"
                 f"|D - 1/2| {record['mean_abs_d_minus_half']:.3f}, W1 {record['w1']:.3f}")
        draw_density_1d(ax, x, p_data, fake, d_values, title)
    fig.tight_layout()
    save_figure(fig, path)
