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

from gankit.config import check_n_eval
from gankit.data import ToyDistribution
from gankit.divergences import wasserstein1
from gankit.errors import GankitError
from gankit.metrics.toy import toy_metrics
from gankit.plots import plot_density_1d, plot_samples_2d, plot_training_curves
from gankit.recipes import Recipe
from gankit.runlog import read_metrics
from gankit.trainer import Trainer

EVAL_SEED = 20140610  # fixed, distinct from training seeds: every evaluation sees the same z


def draw_eval_samples(dataset: ToyDistribution, recipe: Recipe, n: int, seed: int,
                      device: torch.device) -> tuple[Tensor, Tensor]:
    """``n`` generated and ``n`` fresh real points [n, dim] (CPU) from one seeded generator.

    The networks are in eval mode and nothing touches the training RNG, so evaluating never
    changes a run, and the snapshot at step s and ``gankit eval`` at step s agree exactly.
    """
    check_n_eval(n, "number of evaluation samples")
    generator = torch.Generator(device).manual_seed(seed)
    fake = generate(recipe, n, generator)
    real = dataset.sample(n, generator, device)
    return fake.cpu(), real.cpu()


def generate(recipe: Recipe, n: int, generator: torch.Generator, z: Tensor | None = None
             ) -> Tensor:
    """``n`` samples from the recipe in eval mode (at latents ``z`` if given); NaN or inf
    output is a clear error."""
    was_training = recipe.training
    recipe.eval()
    try:
        with torch.no_grad():
            fake = recipe.sample(n, generator) if z is None else recipe.decode(z)
    finally:
        recipe.train(was_training)
    if not torch.isfinite(fake).all():
        raise GankitError("the generator outputs NaN or inf; its weights are not finite "
                          "(use an earlier checkpoint)")
    return fake


def toy_eval_metrics(dataset: ToyDistribution, fake: Tensor, real: Tensor) -> dict[str, float]:
    """Exact W1 between the two sets; on mixtures also PacGAN's mode metrics."""
    if dataset.modes is not None and len(dataset.modes) > 1:
        return toy_metrics(fake, real, dataset.modes, dataset.mode_std)
    return {"w1": wasserstein1(fake, real)}


def eval_settings(n: int, features: str | None, seed: int) -> dict[str, object]:
    """How a set of metrics was measured, recorded with them (eval.json, ``gankit train``'s
    result): two evaluations compare only when these agree."""
    return {"n": n, "features": features, "seed": seed}


def toy_snapshot(dataset: ToyDistribution, n_eval: int):
    """A trainer hook: log toy metrics, then plot samples over D and the training curves."""

    def snapshot(trainer: Trainer) -> None:
        fake, real = draw_eval_samples(dataset, trainer.recipe, n_eval, EVAL_SEED, trainer.device)
        metrics = toy_eval_metrics(dataset, fake, real)
        trainer.log_eval(metrics, eval_settings(n_eval, None, EVAL_SEED))
        if trainer.run_dir is None:
            return
        path = trainer.run_dir / "samples" / f"step-{trainer.step:07d}.png"
        plot_toy(trainer, real.numpy(), fake.numpy(), path, metrics)
        if trainer.logger is not None:
            trainer.logger.image("samples", path, trainer.step)
        plot_training_curves(read_metrics(trainer.run_dir), trainer.run_dir / "training.png",
                             trainer.term_names)

    return snapshot


def plot_toy(trainer: Trainer, real: np.ndarray, fake: np.ndarray, path: Path,
             metrics: dict[str, float]) -> None:
    def landscape(points: np.ndarray) -> tuple[np.ndarray, str] | None:
        x = torch.as_tensor(points, dtype=torch.float32, device=trainer.device)
        with torch.no_grad():
            drawn = trainer.recipe.landscape(x)
        return None if drawn is None else (drawn[0].cpu().numpy(), drawn[1])

    summary = ", ".join(f"{k} {v:.3g}" for k, v in metrics.items() if math.isfinite(v))
    title = f"step {trainer.step}\n{summary}"
    if real.shape[1] == 2:
        plot_samples_2d(real, fake, landscape, path, title)
    elif real.shape[1] == 1:
        lo, hi = np.percentile(np.concatenate([real, fake]), [0.5, 99.5])
        x = np.linspace(lo - 1, hi + 1, 400, dtype=np.float32)
        dataset_pdf = getattr(trainer.data, "pdf", None)
        p_data = (dataset_pdf(torch.as_tensor(x)[:, None]).numpy() if dataset_pdf
                  else np.histogram(real[:, 0], bins=len(x), range=(x[0], x[-1]), density=True)[0])
        plot_density_1d(x, p_data, fake[:, 0], landscape, path, title)
