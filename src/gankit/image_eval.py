"""Evaluating an image GAN: which features to measure with, the metrics, and the periodic look
(sample grid, interpolation strip, metric curves) taken during training.

Like the toy snapshots, everything draws from its own seeded generator with the networks in
eval mode, so evaluating never changes a run and ``gankit eval`` at step s repeats the
snapshot of step s.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.config import FEATURES
from gankit.data import ImageDataset, StackedImages
from gankit.data.images import to_unit_range
from gankit.errors import GankitError
from gankit.metrics.classifier import classifier_score, label_histogram_kl, stacked_mnist_modes
from gankit.metrics.extractors import Classifier, FeatureExtractor
from gankit.metrics.features import density_coverage, fid, kid, precision_recall
from gankit.metrics.memorization import nearest_neighbour_check
from gankit.plots import plot_training_curves, save_image_grid
from gankit.recipes import Recipe
from gankit.runlog import read_metrics
from gankit.sampling import interpolation_path
from gankit.snapshots import EVAL_SEED, eval_settings, generate
from gankit.trainer import Trainer

MIN_IMAGE_SAMPLES = 10  # k-NN radii need k + 1 samples; a classifier score needs a histogram
STACKED_MNIST_SAMPLES = 26_000  # PacGAN Table 2 and MEG count StackedMNIST modes over 26,000
GRID_SIZE = 64  # samples in a grid: 8 x 8


class ChannelwiseClassifier:
    """A 1-channel digit classifier applied to each channel of [N, C, H, W] images, resized
    to the classifier's side: features are concatenated [N, C * F], labels are [N, C] (for
    StackedMNIST, the digit in each colour channel)."""

    def __init__(self, classifier: Classifier, side: int) -> None:
        self.inner, self.side = classifier, side
        self.name, self.n_classes = classifier.name, classifier.n_classes

    def _channels(self, images: Tensor) -> list[Tensor]:
        if images.shape[-1] != self.side:
            images = F.interpolate(images.float(), size=(self.side, self.side), mode="bilinear",
                                   antialias=True, align_corners=False)
        return [images[:, c:c + 1] for c in range(images.shape[1])]

    def features(self, images: Tensor) -> Tensor:
        return torch.cat([self.inner.features(x) for x in self._channels(images)], dim=1)

    def probabilities(self, images: Tensor) -> Tensor:
        """Class probabilities of the first channel (single-channel digit data)."""
        return self.inner.probabilities(self._channels(images)[0])

    def outputs(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`features` and :meth:`probabilities`, each channel classified once."""
        parts = [self.inner.outputs(x) for x in self._channels(images)]
        return torch.cat([f for f, _ in parts], dim=1), parts[0][1]

    def labels(self, images: Tensor) -> Tensor:
        return torch.stack([self.inner.probabilities(x).argmax(1)
                            for x in self._channels(images)], dim=1)


def feature_extractor(data: object, name: str | None = None, weights: str | None = None,
                      device: torch.device | str = "cpu") -> FeatureExtractor | None:
    """The features images are measured with: ``digits`` (the project's digit classifier, the
    default for mnist5k, stacked-mnist and digits8) or ``inception`` (InceptionV3 from the
    user's weights file). None when the data has no default (a folder of one's own images)."""
    name = name or ("digits" if getattr(data, "n_classes", 0) else None)
    if name is None:
        return None
    if name == "inception":
        if not weights:
            raise GankitError("features 'inception' need the weights file: --weights PATH "
                              "(pytorch-fid's pt_inception-2015-12-05-6726825d.pth)")
        from gankit.metrics.inception import InceptionFeatures

        return InceptionFeatures.from_file(weights, device)
    if name != "digits":
        raise GankitError(f"features must be one of {', '.join(FEATURES)}, got {name!r}")
    from gankit.metrics.digit_classifier import load_digit_classifier

    which = "digits8" if getattr(data, "name", "") == "digits8" else "mnist5k"
    return ChannelwiseClassifier(load_digit_classifier(which, device), 8 if which == "digits8"
                                 else 28)


def feature_name(features: FeatureExtractor | None) -> str | None:
    """The feature space's name as ``--features`` spells it (``digits``, ``inception``), or
    the extractor's own name for one a user brought."""
    if features is None:
        return None
    if isinstance(features, ChannelwiseClassifier):
        return "digits"
    return features.name


def generate_batched(recipe: Recipe, n: int, generator: torch.Generator,
                     chunk: int = 2500) -> Tensor:
    """``n`` samples on the CPU; latents drawn at once (the same for any chunk size), decoded
    in chunks so that tens of thousands of images fit in memory."""
    z = recipe.latent(n, generator)
    parts = [generate(recipe, len(part), generator, z=part).cpu() for part in z.split(chunk)]
    return torch.cat(parts)


def image_metrics(recipe: Recipe, data: ImageDataset, n: int, device: torch.device,
                  features: FeatureExtractor | None, seed: int = EVAL_SEED,
                  mode_samples: int | None = None) -> dict[str, float]:
    """Metrics of ``n`` generated images against ``n`` training images (fewer if the split is
    smaller): FID, KID, precision/recall, density/coverage in ``features``' space; with a
    classifier the classifier score and the label histogram's KL to uniform (StackedMNIST:
    modes and KL over ``mode_samples``, 26,000 by default); the nearest-neighbour memorization
    check against the training set in pixel space; and ``fid_held_out``, the FID between
    training and held-out real images (as many as the held-out split has, up to n), the floor
    that sample noise sets. When the held-out split has fewer than n images (mnist5k: 1,000),
    ``fid_held_out_n`` says how many that FID used."""
    if n < MIN_IMAGE_SAMPLES:
        raise GankitError(f"image metrics need at least {MIN_IMAGE_SAMPLES} samples "
                          f"(nearest-neighbour radii, classifier scores), got {n}")
    generator = torch.Generator(device).manual_seed(seed)
    fake = generate_batched(recipe, n, generator)
    cpu = torch.Generator().manual_seed(seed)
    real, _ = data.reference(n, cpu, "train")
    classify = isinstance(features, ChannelwiseClassifier) and bool(data.n_classes)
    stacked = isinstance(data, StackedImages)
    metrics: dict[str, float] = {}
    if features is not None:
        f_real = features.features(real)
        if classify and not stacked:  # one pass gives the features and the scores' p(y|x)
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
        if stacked:
            count = mode_samples or STACKED_MNIST_SAMPLES
            many = fake if count == n else generate_batched(recipe, count, generator)
            metrics |= {f"stacked_{k}": v for k, v in
                        stacked_mnist_modes(features.labels(many)).items()}
        else:
            metrics["classifier_score"] = classifier_score(probs)[0]
            metrics["label_kl"] = label_histogram_kl(probs.argmax(1), features.n_classes)
    return metrics


def memorization_metrics(fake: Tensor, data: ImageDataset) -> dict[str, float]:
    """The nearest-neighbour check in pixel space against every training image, with all
    held-out images as the yardstick. StackedMNIST is checked digit by digit (each channel
    against the training digits): a random triple of digits is almost never a training
    example, so whole images would look original whatever G does."""
    if isinstance(data, StackedImages):
        fake = fake.reshape(-1, 1, *fake.shape[2:])
    check = nearest_neighbour_check(fake, to_unit_range(data.images),
                                    to_unit_range(data.held_out))
    return {"nn_ratio": check["ratio"], "near_copies": check["near_copies"]}


def image_snapshot(data: ImageDataset, n_eval: int, features: FeatureExtractor | None):
    """A trainer hook: metrics (``eval/`` curves), an 8x8 grid of fixed latents
    (``samples/step-*.png``), a latent interpolation strip and the curves, also in TensorBoard.
    StackedMNIST modes are counted over ``n_eval`` samples during training and over 26,000 at
    the last step, whose metrics are the run's result (the same as ``gankit eval``'s)."""

    def snapshot(trainer: Trainer) -> None:
        mode_samples = None if trainer.at_final_step else n_eval
        metrics = image_metrics(trainer.recipe, data, n_eval, trainer.device, features,
                                mode_samples=mode_samples)
        trainer.log_eval(metrics, eval_settings(n_eval, feature_name(features), EVAL_SEED))
        if trainer.run_dir is None:
            return
        pictures = {
            "samples": write_sample_grid(trainer.recipe, trainer.device, trainer.run_dir
                                         / "samples" / f"step-{trainer.step:07d}.png"),
            "interpolation": write_interpolation_strip(trainer.recipe, trainer.device,
                                                       trainer.run_dir / "interpolation.png"),
            "training": plot_training_curves(read_metrics(trainer.run_dir),
                                             trainer.run_dir / "training.png",
                                             trainer.term_names),
        }
        if trainer.logger is not None:
            for tag, path in pictures.items():
                trainer.logger.image(tag, path, trainer.step)

    return snapshot


def write_sample_grid(recipe: Recipe, device: torch.device, path: Path,
                      n: int = GRID_SIZE) -> Path:
    """The same ``n`` latents at every snapshot, so grids over training show one G evolving."""
    images = generate_batched(recipe, n, torch.Generator(device).manual_seed(EVAL_SEED))
    return save_image_grid(images.float().numpy(), path, ncol=math.isqrt(n))


def write_interpolation_strip(recipe: Recipe, device: torch.device, path: Path, rows: int = 6,
                              steps: int = 10) -> Path:
    """Each row walks the great circle (slerp) between two fixed latents in ``steps`` images."""
    generator = torch.Generator(device).manual_seed(EVAL_SEED + 1)
    ends = recipe.latent(2 * rows, generator)
    path_z = interpolation_path(ends[:rows], ends[rows:], steps)  # [rows, steps, d]
    flat = path_z.reshape(rows * steps, *ends.shape[1:])
    images = generate(recipe, len(flat), generator, z=flat).cpu()
    return save_image_grid(images.float().numpy(), path, ncol=steps)
