"""Evaluating an image GAN: the metrics in a feature space, and the pictures of a snapshot
(a sample grid of fixed latents, a latent interpolation strip)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gankit.data import ImageDataset
from gankit.errors import GankitError
from gankit.evaluation.features import default_feature_name, feature_extractor
from gankit.evaluation.image_metrics import IMAGE_METRICS, ImageBatch
from gankit.evaluation.latents import LatentSource, generate, interpolation_path
from gankit.evaluation.plan import EVAL_SEED, PLANS, EvaluationPlan, Measurement
from gankit.metrics.extractors import FeatureExtractor
from gankit.recipes import Recipe
from gankit.storage.drawing import Drawing

if TYPE_CHECKING:
    from gankit.training.trainer import Trainer

MIN_IMAGE_SAMPLES = 10  # k-NN radii need k + 1 samples; a classifier score needs a histogram
GRID_SIZE = 64  # samples in a grid: 8 x 8


@PLANS.register("images")
def image_plan(recipe: Recipe, data: ImageDataset, latents: LatentSource) -> EvaluationPlan:
    """Feature metrics (:func:`image_metrics`), an 8x8 grid of fixed latents
    (``samples/step-*.png``), the same generated images beside real ones
    (``real-vs-generated.png``) and an interpolation strip (``interpolation.png``)."""

    def features(choice: Any, weights: str | None, device: torch.device | str
                 ) -> FeatureExtractor | None:
        if isinstance(choice, FeatureExtractor):  # one the caller built
            return choice
        return feature_extractor(data, choice, weights, device)

    def measure(n: int, seed: int, features: FeatureExtractor | None, device: torch.device,
                full: bool) -> Measurement:
        # Modes are counted over n samples during training, over 26,000 for the result.
        return image_measurement(recipe, latents, data, n, device, features, seed,
                                 mode_samples=None if full else n)

    def grid(trainer: Trainer, measured: Measurement) -> Drawing:
        path = trainer.run_dir / "samples" / f"step-{trainer.step:07d}.png"
        return sample_grid(recipe, latents, trainer.device, path)

    def side_by_side(trainer: Trainer, measured: Measurement) -> Drawing:
        return real_vs_generated(recipe, latents, data, trainer.device,
                                 trainer.run_dir / "real-vs-generated.png")

    def strip(trainer: Trainer, measured: Measurement) -> Drawing:
        return interpolation_strip(recipe, latents, trainer.device,
                                   trainer.run_dir / "interpolation.png")

    return EvaluationPlan("images", latents, measure,
                          {"samples": grid, "real-vs-generated": side_by_side,
                           "interpolation": strip},
                          features, default_feature_name(data), needs_features=True)


def image_metrics(recipe: Recipe, latents: LatentSource, data: ImageDataset, n: int,
                  device: torch.device, features: FeatureExtractor | None,
                  seed: int = EVAL_SEED, mode_samples: int | None = None) -> dict[str, float]:
    """Every registered image metric (:data:`IMAGE_METRICS`) whose needs this evaluation meets,
    on ``n`` images generated from ``latents`` against ``n`` training images (fewer if the
    split is smaller): FID, KID, precision/recall, density/coverage in ``features``' space;
    with a classifier the classifier score and the label histogram's KL to uniform
    (StackedMNIST: modes and KL over ``mode_samples``, 26,000 by default); the
    nearest-neighbour memorization check in pixel space and ``fid_held_out``, the FID between
    training and held-out real images, where the data has a held-out split."""
    return image_measurement(recipe, latents, data, n, device, features, seed,
                             mode_samples).metrics


def image_measurement(recipe: Recipe, latents: LatentSource, data: ImageDataset, n: int,
                      device: torch.device, features: FeatureExtractor | None,
                      seed: int = EVAL_SEED, mode_samples: int | None = None) -> Measurement:
    """:func:`image_metrics` with the number of real images they compared against
    (``n_real``: the training split's size where that is smaller than n)."""
    if n < MIN_IMAGE_SAMPLES:
        raise GankitError(f"image metrics need at least {MIN_IMAGE_SAMPLES} samples "
                          f"(nearest-neighbour radii, classifier scores), got {n}")
    generator = torch.Generator(device).manual_seed(seed)
    fake = generate(recipe, latents.draw(n, generator))
    cpu = torch.Generator().manual_seed(seed)
    real, _ = data.reference(n, cpu, "train")
    batch = ImageBatch(recipe, latents, data, features, seed, fake, real, generator, cpu,
                       mode_samples)
    metrics: dict[str, float] = {}
    for name in IMAGE_METRICS:
        if batch.meets(IMAGE_METRICS.facts(name).get("needs", ())):
            metrics |= IMAGE_METRICS[name](batch)
    return Measurement(metrics, n_real=len(real))


def sample_grid(recipe: Recipe, latents: LatentSource, device: torch.device, path: Path,
                n: int = GRID_SIZE) -> Drawing:
    """The same ``n`` latents at every snapshot, so grids over training show one G evolving."""
    from gankit.evaluation.plots import save_image_grid

    z = latents.draw(n, torch.Generator(device).manual_seed(EVAL_SEED))
    return Drawing(save_image_grid, path, (generate(recipe, z).float().numpy(),),
                   {"ncol": math.isqrt(n)})


def real_vs_generated(recipe: Recipe, latents: LatentSource, data: ImageDataset,
                      device: torch.device, path: Path, n: int = GRID_SIZE) -> Drawing:
    """``n`` fixed training images, titled "real", beside ``n`` generated ones from fixed
    latents, titled "generated": what a reader compares by eye (sharpness, colour, variety).
    The latents are the sample grid's (:func:`sample_grid`); a conditional G's draw
    their classes at random, where its sample grid is the class grid."""
    from gankit.evaluation.plots import Grid, save_grids

    real, _ = data.reference(n, torch.Generator().manual_seed(EVAL_SEED))
    z = latents.draw(n, torch.Generator(device).manual_seed(EVAL_SEED))
    ncol = math.isqrt(n)
    return Drawing(save_grids, path, ([Grid(real.float().numpy(), ncol, "real"),
                                       Grid(generate(recipe, z).float().numpy(), ncol,
                                            "generated")],))


def interpolation_strip(recipe: Recipe, latents: LatentSource, device: torch.device,
                        path: Path, rows: int = 6, steps: int = 10) -> Drawing:
    """Each row walks the great circle (slerp) between two fixed latents in ``steps`` images."""
    from gankit.evaluation.plots import save_image_grid

    ends = latents.draw(2 * rows, torch.Generator(device).manual_seed(EVAL_SEED + 1))
    path_z = interpolation_path(ends[:rows], ends[rows:], steps)  # [rows, steps, d]
    images = generate(recipe, path_z.reshape(rows * steps, *ends.shape[1:]))
    return Drawing(save_image_grid, path, (images.float().numpy(),), {"ncol": steps})
