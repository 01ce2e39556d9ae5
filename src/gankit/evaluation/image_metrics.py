"""The image metrics, one small function each, in a registry (as StyleGAN2-ADA's
``metric_main``): :func:`gankit.evaluation.images.image_metrics` runs every registered metric
whose needs the evaluation meets, so a new metric is one function here or in another package
(entry point group ``gankit.image_metrics``), and no caller changes::

    @IMAGE_METRICS.register("mean_brightness")
    def mean_brightness(batch: ImageBatch) -> dict[str, float]:
        return {"mean_brightness": float(batch.fake.mean())}

``needs`` names what a metric reads beyond the images: ``features`` (a feature space),
``classifier`` (a digit classifier on single-digit data), ``channel_classifier`` (one that
classifies each channel, StackedMNIST), ``held_out`` (a held-out split). Everything a metric
reads comes from the :class:`ImageBatch`, computed once and shared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
from torch import Tensor

from gankit.data.images import to_unit_range
from gankit.evaluation.latents import LatentSource, generate
from gankit.metrics.classifier import classifier_score, label_histogram_kl, stacked_mnist_modes
from gankit.metrics.digits import ChannelwiseClassifier
from gankit.metrics.extractors import FeatureExtractor
from gankit.metrics.features import density_coverage, fid, kid, precision_recall
from gankit.metrics.memorization import nearest_neighbour_check
from gankit.metrics.statistics import kid_subset_size
from gankit.registry import Registry

STACKED_MNIST_SAMPLES = 26_000  # PacGAN Table 2 and MEG count StackedMNIST modes over 26,000

ImageMetric = Callable[["ImageBatch"], dict[str, float]]
IMAGE_METRICS: Registry[ImageMetric] = Registry(
    "image metric", package="gankit.evaluation.image_metrics", group="gankit.image_metrics")


@dataclass
class ImageBatch:
    """What the metrics of one evaluation share: ``n`` generated images and as many training
    images (fewer if the split is smaller), their features and class probabilities, each
    computed at most once, when a metric first reads it."""

    recipe: Any
    latents: LatentSource
    data: Any  # an ImageDataset
    features: FeatureExtractor | None
    seed: int
    fake: Tensor  # [n, C, H, W] in [-1, 1] on the CPU
    real: Tensor
    generator: torch.Generator  # the latents' stream, after drawing ``fake``
    cpu: torch.Generator  # the real images' stream, after drawing ``real``
    mode_samples: int | None = None  # StackedMNIST: samples to count modes over

    def meets(self, needs: tuple[str, ...]) -> bool:
        """Whether this evaluation has what a metric needs (the module's docstring)."""
        classify = isinstance(self.features, ChannelwiseClassifier) and bool(
            self.data.n_classes)
        per_channel = self.data.channels_are_examples
        have = {"features": self.features is not None,
                "classifier": classify and not per_channel,
                "channel_classifier": classify and per_channel,
                "held_out": self.data.held_out is not None}
        return all(have.get(need, False) for need in needs)

    @property
    def n(self) -> int:
        return len(self.fake)

    @cached_property
    def f_real(self) -> Tensor:
        return self.features.features(self.real)  # [n, F]

    @cached_property
    def _fake_outputs(self) -> tuple[Tensor, Tensor | None]:
        """Features and, from a classifier, p(y|x) of the fakes: one pass gives both."""
        if self.meets(("classifier",)):
            return self.features.outputs(self.fake)
        return self.features.features(self.fake), None

    @property
    def f_fake(self) -> Tensor:
        return self._fake_outputs[0]

    @property
    def probs(self) -> Tensor:
        return self._fake_outputs[1]  # [n, K]

    @cached_property
    def held(self) -> Tensor:
        """As many held-out images as the split has, up to n."""
        return self.data.reference(self.n, self.cpu, "held_out")[0]


@IMAGE_METRICS.register("fid", needs=("features",))
def frechet_distance(batch: ImageBatch) -> dict[str, float]:
    """FID (Heusel et al. 2017) in the feature space."""
    return {"fid": fid(batch.f_real, batch.f_fake)}


@IMAGE_METRICS.register("kid", needs=("features",))
def kernel_distance(batch: ImageBatch) -> dict[str, float]:
    """KID (Binkowski et al. 2018) and its standard deviation over subsets, raw MMD^2 as
    torch-fidelity and StyleGAN2-ADA record it (papers print it x10^3)."""
    subset = kid_subset_size(min(len(batch.f_real), batch.n))
    value, std = kid(batch.f_real, batch.f_fake, subset_size=subset, seed=batch.seed)
    return {"kid": value, "kid_std": std}


@IMAGE_METRICS.register("precision_recall", needs=("features",))
def precision_and_recall(batch: ImageBatch) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019)."""
    return precision_recall(batch.f_real, batch.f_fake)


@IMAGE_METRICS.register("density_coverage", needs=("features",))
def density_and_coverage(batch: ImageBatch) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020)."""
    return density_coverage(batch.f_real, batch.f_fake)


@IMAGE_METRICS.register("fid_held_out", needs=("features", "held_out"))
def held_out_fid(batch: ImageBatch) -> dict[str, float]:
    """The FID between training and held-out real images, the floor that sample noise sets;
    as many images on each side, since FID's bias depends on the count (``fid_held_out_n``
    says how many when the held-out split has fewer than n)."""
    held = batch.held
    figures = {"fid_held_out": fid(batch.f_real[:len(held)], batch.features.features(held))}
    if len(held) < batch.n:
        figures["fid_held_out_n"] = len(held)
    return figures


@IMAGE_METRICS.register("memorization", needs=("held_out",))
def memorization(batch: ImageBatch) -> dict[str, float]:
    """The nearest-neighbour memorization check (:func:`memorization_metrics`)."""
    return memorization_metrics(batch.fake, batch.data)


def memorization_metrics(fake: Tensor, data: Any) -> dict[str, float]:
    """The nearest-neighbour check in pixel space against every training image, with all
    held-out images as the yardstick. Data whose channels are separate examples (StackedMNIST)
    is checked channel by channel against the training digits: a random triple of digits is
    almost never a training example, so whole images would look original whatever G does."""
    if data.channels_are_examples:
        fake = fake.reshape(-1, 1, *fake.shape[2:])
    check = nearest_neighbour_check(fake, to_unit_range(data.images),
                                    to_unit_range(data.held_out))
    return {"nn_ratio": check["ratio"], "near_copies": check["near_copies"]}


@IMAGE_METRICS.register("classifier_score", needs=("classifier",))
def classifier_figures(batch: ImageBatch) -> dict[str, float]:
    """The classifier score and the label histogram's KL to uniform."""
    return {"classifier_score": classifier_score(batch.probs)[0],
            "label_kl": label_histogram_kl(batch.probs.argmax(1), batch.features.n_classes)}


@IMAGE_METRICS.register("stacked_modes", needs=("channel_classifier",))
def stacked_modes(batch: ImageBatch) -> dict[str, float]:
    """StackedMNIST's modes and KL over ``mode_samples`` images (26,000 by default)."""
    count = batch.mode_samples or STACKED_MNIST_SAMPLES
    many = batch.fake if count == batch.n else generate(
        batch.recipe, batch.latents.draw(count, batch.generator))
    return {f"stacked_{k}": v for k, v in stacked_mnist_modes(batch.features.labels(many)).items()}
