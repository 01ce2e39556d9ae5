"""Periodic looks at a toy run: metrics logged over training and a picture of the samples.

A snapshot draws from its own seeded generator, with the networks in eval mode and no gradients,
so taking one never changes the training run (resume stays bit-exact).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data import ToyDistribution
from gankit.divergences import wasserstein1
from gankit.losses import d_probability
from gankit.metrics.toy import toy_metrics
from gankit.plots import plot_density_1d, plot_samples_2d, plot_training_curves
from gankit.runlog import read_metrics
from gankit.trainer import Trainer

EVAL_SEED = 20140610  # fixed, distinct from training seeds: every snapshot sees the same z


def evaluate_toy(dataset: ToyDistribution, fake: Tensor, generator: torch.Generator
                 ) -> dict[str, float]:
    """Exact W1 to fresh real samples; on mixtures also PacGAN's mode metrics."""
    real = dataset.sample(len(fake), generator, fake.device).cpu()
    fake = fake.cpu()
    if dataset.modes is not None and len(dataset.modes) > 1:
        return toy_metrics(fake, real, dataset.modes, dataset.mode_std)
    return {"w1": wasserstein1(fake, real)}


def toy_snapshot(dataset: ToyDistribution, n_eval: int):
    """A trainer hook: log toy metrics, then plot samples over D and the training curves."""

    def snapshot(trainer: Trainer) -> None:
        generator = torch.Generator(trainer.device).manual_seed(EVAL_SEED)
        fake = trainer.recipe.sample(n_eval, generator)
        metrics = evaluate_toy(dataset, fake, generator)
        trainer.log_eval(metrics)
        if trainer.run_dir is None:
            return
        real = dataset.sample(n_eval, generator, trainer.device).cpu().numpy()
        path = trainer.run_dir / "samples" / f"step-{trainer.step:07d}.png"
        plot_toy(trainer, real, fake.cpu().numpy(), path, metrics)
        if trainer.logger is not None:
            trainer.logger.image("samples", path, trainer.step)
        plot_training_curves(read_metrics(trainer.run_dir), trainer.run_dir / "training.png")

    return snapshot


def plot_toy(trainer: Trainer, real: np.ndarray, fake: np.ndarray, path: Path,
             metrics: dict[str, float]) -> None:
    recipe = trainer.recipe

    def critic(points: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(points, dtype=torch.float32, device=trainer.device)
        with torch.no_grad():
            return d_probability(recipe.critic(x), recipe.loss).cpu().numpy()

    summary = ", ".join(f"{k} {v:.3g}" for k, v in metrics.items() if math.isfinite(v))
    title = f"step {trainer.step}\n{summary}"
    label = "D(x)" if recipe.loss.probabilistic else "critic D(x)"
    if real.shape[1] == 2:
        plot_samples_2d(real, fake, critic, path, title, label)
    elif real.shape[1] == 1:
        lo, hi = np.percentile(np.concatenate([real, fake]), [0.5, 99.5])
        x = np.linspace(lo - 1, hi + 1, 400, dtype=np.float32)
        dataset_pdf = getattr(trainer.data, "pdf", None)
        p_data = (dataset_pdf(torch.as_tensor(x)[:, None]).numpy() if dataset_pdf
                  else np.histogram(real[:, 0], bins=len(x), range=(x[0], x[-1]), density=True)[0])
        plot_density_1d(x, p_data, fake[:, 0], critic(x[:, None]), path, title)
