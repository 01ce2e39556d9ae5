"""Evaluating an image GAN: the metrics in a feature space, and the pictures of a snapshot
(a sample grid of fixed latents, a latent interpolation strip)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gankit.data import ImageDataset
from gankit.data.images import to_unit_range
from gankit.errors import GankitError
from gankit.evaluation.features import default_feature_name, feature_extractor
from gankit.evaluation.latents import LatentSource, generate, interpolation_path
from gankit.evaluation.plan import EVAL_SEED, EvaluationPlan, Measurement
from gankit.metrics.classifier import classifier_score, label_histogram_kl, stacked_mnist_modes
from gankit.metrics.digits import ChannelwiseClassifier
from gankit.metrics.extractors import FeatureExtractor
from gankit.metrics.features import density_coverage, fid, kid, precision_recall
from gankit.metrics.memorization import nearest_neighbour_check
from gankit.recipes import Recipe

if TYPE_CHECKING:
    from gankit.trainer import Trainer

MIN_IMAGE_SAMPLES = 10  # k-NN radii need k + 1 samples; a classifier score needs a histogram
STACKED_MNIST_SAMPLES = 26_000  # PacGAN Table 2 and MEG count StackedMNIST modes over 26,000
GRID_SIZE = 64  # samples in a grid: 8 x 8


def image_plan(recipe: Recipe, data: ImageDataset, latents: LatentSource) -> EvaluationPlan:
    """Feature metrics (:func:`image_metrics`), an 8x8 grid of fixed latents
    (``samples/step-*.png``) and an interpolation strip (``interpolation.png``)."""

    def features(choice: Any, weights: str | None, device: torch.device | str
                 ) -> FeatureExtractor | None:
        if isinstance(choice, FeatureExtractor):  # one the caller built
            return choice
        return feature_extractor(data, choice, weights, device)

    def measure(n: int, seed: int, features: FeatureExtractor | None, device: torch.device,
                full: bool) -> Measurement:
        # Modes are counted over n samples during training, over 26,000 for the result.
        return Measurement(image_metrics(recipe, latents, data, n, device, features, seed,
                                         mode_samples=None if full else n))

    def grid(trainer: Trainer, measured: Measurement) -> Path:
        path = trainer.run_dir / "samples" / f"step-{trainer.step:07d}.png"
        return write_sample_grid(recipe, latents, trainer.device, path)

    def strip(trainer: Trainer, measured: Measurement) -> Path:
        return write_interpolation_strip(recipe, latents, trainer.device,
                                         trainer.run_dir / "interpolation.png")

    return EvaluationPlan("images", latents, measure, {"samples": grid, "interpolation": strip},
                          features, default_feature_name(data))


def image_metrics(recipe: Recipe, latents: LatentSource, data: ImageDataset, n: int,
                  device: torch.device, features: FeatureExtractor | None,
                  seed: int = EVAL_SEED, mode_samples: int | None = None) -> dict[str, float]:
    """Metrics of ``n`` images generated from ``latents`` against ``n`` training images (fewer
    if the split is smaller): FID, KID, precision/recall, density/coverage in ``features``'
    space; with a classifier the classifier score and the label histogram's KL to uniform
    (StackedMNIST: modes and KL over ``mode_samples``, 26,000 by default); the
    nearest-neighbour memorization check against the training set in pixel space; and
    ``fid_held_out``, the FID between training and held-out real images (as many as the
    held-out split has, up to n), the floor that sample noise sets. When the held-out split has
    fewer than n images (mnist5k: 1,000), ``fid_held_out_n`` says how many that FID used."""
    if n < MIN_IMAGE_SAMPLES:
        raise GankitError(f"image metrics need at least {MIN_IMAGE_SAMPLES} samples "
                          f"(nearest-neighbour radii, classifier scores), got {n}")
    generator = torch.Generator(device).manual_seed(seed)
    fake = generate(recipe, latents.draw(n, generator))
    cpu = torch.Generator().manual_seed(seed)
    real, _ = data.reference(n, cpu, "train")
    classify = isinstance(features, ChannelwiseClassifier) and bool(data.n_classes)
    per_channel = data.channels_are_examples
    metrics: dict[str, float] = {}
    if features is not None:
        f_real = features.features(real)
        if classify and not per_channel:  # one pass gives the features and the scores' p(y|x)
            f_fake, probs = features.outputs(fake)
        else:
            f_fake = features.features(fake)
        metrics["fid"] = fid(f_real, f_fake)
        # subsets of at most half the samples, so that they differ and the std means something
        subset = max(2, min(1000, n // 2))
        metrics["kid"], metrics["kid_std"] = kid(f_real, f_fake, subset_size=subset, seed=seed)
        metrics |= precision_recall(f_real, f_fake) | density_coverage(f_real, f_fake)
    if data.held_out is not None:
        held, _ = data.reference(n, cpu, "held_out")
        if features is not None:  # as many images on each side: FID's bias depends on the count
            metrics["fid_held_out"] = fid(f_real[:len(held)], features.features(held))
            if len(held) < n:
                metrics["fid_held_out_n"] = len(held)
        metrics |= memorization_metrics(fake, data)
    if classify:
        if per_channel:
            count = mode_samples or STACKED_MNIST_SAMPLES
            many = fake if count == n else generate(recipe, latents.draw(count, generator))
            metrics |= {f"stacked_{k}": v for k, v in
                        stacked_mnist_modes(features.labels(many)).items()}
        else:
            metrics["classifier_score"] = classifier_score(probs)[0]
            metrics["label_kl"] = label_histogram_kl(probs.argmax(1), features.n_classes)
    return metrics


def memorization_metrics(fake: Tensor, data: ImageDataset) -> dict[str, float]:
    """The nearest-neighbour check in pixel space against every training image, with all
    held-out images as the yardstick. Data whose channels are separate examples (StackedMNIST)
    is checked channel by channel against the training digits: a random triple of digits is
    almost never a training example, so whole images would look original whatever G does."""
    if data.channels_are_examples:
        fake = fake.reshape(-1, 1, *fake.shape[2:])
    check = nearest_neighbour_check(fake, to_unit_range(data.images),
                                    to_unit_range(data.held_out))
    return {"nn_ratio": check["ratio"], "near_copies": check["near_copies"]}


def write_sample_grid(recipe: Recipe, latents: LatentSource, device: torch.device, path: Path,
                      n: int = GRID_SIZE) -> Path:
    """The same ``n`` latents at every snapshot, so grids over training show one G evolving."""
    from gankit.plots import save_image_grid

    z = latents.draw(n, torch.Generator(device).manual_seed(EVAL_SEED))
    return save_image_grid(generate(recipe, z).float().numpy(), path, ncol=math.isqrt(n))


def write_interpolation_strip(recipe: Recipe, latents: LatentSource, device: torch.device,
                              path: Path, rows: int = 6, steps: int = 10) -> Path:
    """Each row walks the great circle (slerp) between two fixed latents in ``steps`` images."""
    from gankit.plots import save_image_grid

    ends = latents.draw(2 * rows, torch.Generator(device).manual_seed(EVAL_SEED + 1))
    path_z = interpolation_path(ends[:rows], ends[rows:], steps)  # [rows, steps, d]
    images = generate(recipe, path_z.reshape(rows * steps, *ends.shape[1:]))
    return save_image_grid(images.float().numpy(), path, ncol=steps)
