"""The digit classifier's network and the classifier around it: a small CNN returning its
penultimate features and logits, run in batches, in eval mode, on any device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import GankitError


class ImageShapeError(GankitError, ValueError):
    """Images that do not have the classifier's size, channel count or dtype."""


@dataclass(frozen=True)
class DigitNetConfig:
    """Architecture: 3x3 conv + ReLU + 2x2 max-pool per entry of ``channels``, then the feature
    layer of ``hidden`` units and the logits."""

    image_size: int
    channels: tuple[int, ...]
    hidden: int = 128
    n_classes: int = 10


class DigitNet(nn.Module):
    """Small CNN returning (features, logits); features are the post-ReLU penultimate layer."""

    def __init__(self, config: DigitNetConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        c_in, size = 1, config.image_size
        for c_out in config.channels:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            c_in, size = c_out, size // 2
        self.conv = nn.Sequential(*layers)
        self.feature = nn.Linear(c_in * size * size, config.hidden)
        self.head = nn.Linear(config.hidden, config.n_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = F.relu(self.feature(self.conv(x).flatten(1)))  # [N, hidden]
        return h, self.head(h)  # [N, hidden], [N, n_classes]


class DigitClassifier:
    """A trained :class:`DigitNet` behind the :class:`~gankit.metrics.extractors.Classifier`
    protocol: images [N, 1, S, S] in [-1, 1] on any device -> CPU outputs, in batches, eval
    mode, no grad. Multi-channel images (StackedMNIST) are the caller's to split per channel."""

    def __init__(self, net: DigitNet, dataset_name: str, device: torch.device | str = "cpu",
                 batch_size: int = 500, info: dict[str, Any] | None = None) -> None:
        # channels_last: in NCHW, max-pooling took half of the CPU forward pass (2x faster in
        # all); the convolutions then sum in another order, features agree to ~3e-7 relative.
        self.net = net.to(device, memory_format=torch.channels_last).eval()
        self.dataset_name = dataset_name
        self.name = f"digits-{dataset_name}"
        self.n_classes = net.config.n_classes
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.info = info or {}  # what the weight file says: accuracy, seed, epochs

    def features(self, images: Tensor) -> Tensor:
        """Penultimate activations [N, hidden] float32 (CPU): the FID/KID/PR feature space."""
        return self._forward(images)[0]

    def probabilities(self, images: Tensor) -> Tensor:
        """Softmax class probabilities [N, n_classes] (CPU), p(y|x) of the classifier score."""
        return self._forward(images)[1].softmax(1)

    def outputs(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`features` and :meth:`probabilities` from one forward pass."""
        features, logits = self._forward(images)
        return features, logits.softmax(1)

    def predict(self, images: Tensor) -> Tensor:
        """Most probable class [N] int64 (CPU)."""
        return self._forward(images)[1].argmax(1)

    @torch.no_grad()
    def _forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        size = self.net.config.image_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (1, size, size):
            raise ImageShapeError(f"{self.name} takes images [N, 1, {size}, {size}], got "
                                  f"{list(images.shape)} (classify multi-channel images one "
                                  f"channel at a time)")
        if not images.is_floating_point():
            raise ImageShapeError(f"{self.name} takes float images in [-1, 1], got {images.dtype}"
                                  " (gankit.data.images.to_unit_range converts uint8)")
        outputs = [self.net(batch.to(self.device, torch.float32,
                                     memory_format=torch.channels_last))
                   for batch in images.split(self.batch_size)]
        features, logits = (torch.cat(parts).float().cpu() for parts in zip(*outputs, strict=True))
        return features, logits  # [N, hidden], [N, n_classes]

