"""Evaluating a toy run: mode metrics and exact W1 on points, and a picture of the samples over
what D says (a contour in 2-D; p_data, a histogram of p_g and D(x) in 1-D)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from gankit.data import ToyDistribution
from gankit.errors import GankitError
from gankit.evaluation.latents import LatentSource, generate
from gankit.evaluation.plan import PLANS, EvaluationPlan, Measurement
from gankit.metrics.extractors import FeatureExtractor
from gankit.metrics.mode_collapse import MODE_METRICS, mode_metrics
from gankit.recipes import Recipe
from gankit.storage.drawing import Drawing
from gankit.theory.divergences import wasserstein1

if TYPE_CHECKING:
    from gankit.training.trainer import Trainer

# Points over which the snapshots measure the exact W1 for the curves (the final one too, as
# its curve point); the run's result and 'gankit eval' measure over all data.n_eval
# (:func:`toy_eval_metrics`). 300 points take 7 ms, 1,000 about 90: a snapshot of a short
# run comes every quarter second, and ten of them stay near a tenth of the training time. An
# empirical W1 over n points has a floor: two sets of grid25's own points read 0.53 at 300,
# 0.29 at 1,000, 0.18 at 2,500, so a curve falls towards its floor, not towards 0.
SNAPSHOT_W1_N = 300


@PLANS.register("points")
def toy_plan(recipe: Recipe, data: ToyDistribution, latents: LatentSource) -> EvaluationPlan:
    """Toy metrics (:func:`toy_eval_metrics`) and the samples over D (``samples/step-*.png``)."""

    def features(choice: Any, weights: str | None, device: torch.device | str) -> None:
        if choice is not None:
            raise GankitError(f"features {choice!r} are for image data; {data.name} is measured "
                              f"without them")

    def measure(n: int, seed: int, features: FeatureExtractor | None, device: torch.device,
                full: bool) -> Measurement:
        drawn = draw_eval_samples(data, recipe, latents, n, seed, device)
        periodic = toy_eval_metrics(data, drawn.fake, drawn.real, SNAPSHOT_W1_N)
        if not (full and "w1_n" in periodic):
            return Measurement(periodic, drawn.fake, drawn.real, drawn.fake_labels,
                               drawn.real_labels)
        # the result: W1 over all the points (the mode metrics are over all of them already),
        # computed after the pictures are handed over, which draw the snapshots' measurement
        metrics = {k: v for k, v in periodic.items() if k not in ("w1", "w1_n")}
        return Measurement(metrics, drawn.fake, drawn.real, drawn.fake_labels,
                           drawn.real_labels, curve=periodic,
                           rest=lambda: {"w1": wasserstein1(drawn.fake, drawn.real)})

    def points(trainer: Trainer, measured: Measurement) -> Drawing | None:
        return toy_drawing(trainer, measured,
                           trainer.run_dir / "samples" / f"step-{trainer.step:07d}.png")

    measures = frozenset({*(MODE_METRICS if is_mixture(data) else ()), "w1"})
    return EvaluationPlan("points", latents, measure, {"samples": points}, features,
                          measures=measures)


def is_mixture(data: ToyDistribution) -> bool:
    """Whether ``data`` has modes to count (PacGAN's mode metrics)."""
    return data.modes is not None and len(data.modes) > 1


def draw_eval_samples(data: ToyDistribution, recipe: Recipe, latents: LatentSource, n: int,
                      seed: int, device: torch.device) -> Measurement:
    """``n`` generated and ``n`` fresh real points [n, dim] (CPU) from one seeded generator,
    with the class each generated point was asked for (the layout's first categorical code)
    and each real point's label, where there are such (a record without metrics yet).

    The networks are in eval mode and nothing touches the training RNG, so evaluating never
    changes a run, and the snapshot at step s and ``gankit eval`` at step s agree exactly.
    """
    generator = torch.Generator(device).manual_seed(seed)
    z = latents.draw(n, generator)
    fake = generate(recipe, z)
    batch = data.sample(n, generator, device)
    layout = recipe.layout
    colour = next((code.name for code in layout.codes if code.categorical), None) if layout \
        else None
    fake_labels = layout.values(z)[colour].cpu() if colour else None
    real_labels = batch["label"].cpu() if colour and "label" in batch else None
    return Measurement({}, fake, batch["x"].cpu(), fake_labels, real_labels)


def toy_eval_metrics(data: ToyDistribution, fake: Tensor, real: Tensor,
                     w1_n: int | None = None) -> dict[str, float]:
    """Exact W1 between the two sets; on mixtures also PacGAN's mode metrics (over all the
    points: they cost little). With ``w1_n`` below the sets' size, W1 is the exact distance
    between their first ``w1_n`` points (iid draws of the seeded evaluation, so the same
    points at every snapshot), recorded as ``w1_n``: the transport problem grows as n^2 in
    memory and faster in time (2,500 points: 0.7 s; 1,000: 0.09 s; 300: 0.007 s), and an empirical
    W1 over fewer points reads higher (its sampling bias falls as n grows)."""
    if w1_n is not None and w1_n < len(fake):
        fake_w1, real_w1, record = fake[:w1_n], real[:w1_n], {"w1_n": float(w1_n)}
    else:
        fake_w1, real_w1, record = fake, real, {}
    if is_mixture(data):
        metrics = mode_metrics(fake, data.modes, data.mode_std)
    else:
        metrics = {}
    return metrics | {"w1": wasserstein1(fake_w1, real_w1)} | record


def toy_drawing(trainer: Trainer, measured: Measurement, path: Path) -> Drawing | None:
    """The picture of a toy snapshot, with D's landscape computed here: 2-D points over D's
    contour (and latent chains, for a sampler that has them); 1-D, p_data, a histogram of p_g
    and D(x). Its title gives the snapshot's measurement (the curve's, where the result
    measures more), so every step's picture reads alike. The MALA chains in z are drawn on
    the final snapshot's picture only: 50 MALA steps of 8 chains take 50 ms, most of a short
    run's snapshot (``benchmarks/snapshot_cost.py``)."""
    from gankit.evaluation.plots import (
        grid_points,
        landscape_grid,
        plot_density_1d,
        plot_samples_2d,
    )
    from gankit.sampling.paths import chain_paths

    def landscape(points: np.ndarray) -> tuple[np.ndarray, str] | None:
        """D on the grid in batches of the size D trains on: minibatch discrimination compares
        all pairs of a batch, which for the whole grid would be hundreds of GB."""
        x = torch.as_tensor(points, dtype=torch.float32, device=trainer.device)
        chunk = max(trainer.config.data.batch_size // trainer.config.model.pack, 1)
        values = []
        with torch.no_grad():
            for part in x.split(chunk):
                if (drawn := trainer.recipe.landscape(part)) is None:
                    return None
                values.append(drawn[0])
        return torch.cat(values).float().cpu().numpy(), drawn[1]

    real, fake = measured.real.numpy(), measured.fake.numpy()
    shown = measured.curve or measured.metrics
    summary = ", ".join(f"{k} {v:.3g}" for k, v in shown.items() if math.isfinite(v))
    title = f"step {trainer.step}\n{summary}"
    if real.shape[1] == 2:
        chains = chain_paths(trainer.recipe) if trainer.at_final_step else None
        labels = None if measured.fake_labels is None else (
            measured.fake_labels.numpy(),
            None if measured.real_labels is None else measured.real_labels.numpy())
        return Drawing(plot_samples_2d, path, (
            real, fake, landscape(grid_points(*landscape_grid(real, fake)))), {
            "title": title, "chains": None if chains is None else chains.numpy(),
            "labels": labels})
    if real.shape[1] != 1:  # points in 3 or more dimensions have no picture
        return None
    lo, hi = np.percentile(np.concatenate([real, fake]), [0.5, 99.5])
    x = np.linspace(lo - 1, hi + 1, 400, dtype=np.float32)
    dataset_pdf = getattr(trainer.data, "pdf", None)
    p_data = (dataset_pdf(torch.as_tensor(x)[:, None]).numpy() if dataset_pdf
              else np.histogram(real[:, 0], bins=len(x), range=(x[0], x[-1]), density=True)[0])
    return Drawing(plot_density_1d, path, (x, p_data, fake[:, 0], landscape(x[:, None])),
                   {"title": title})
