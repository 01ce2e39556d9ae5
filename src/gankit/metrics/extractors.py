"""What image metrics need from a network: features (FID, KID, precision/recall) and, for
classifiers, class probabilities (classifier score, label histograms, StackedMNIST modes).

Any object with these methods plugs into ``gankit eval`` and :meth:`gankit.Run.evaluate`; the
project's digit classifiers and the optional InceptionV3 implement them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class FeatureExtractor(Protocol):
    name: str

    def features(self, images: Tensor) -> Tensor:
        """Images [N, C, H, W] in [-1, 1] (any device) -> features [N, F] float32 on the CPU."""
        ...


@runtime_checkable
class Classifier(FeatureExtractor, Protocol):
    n_classes: int

    def probabilities(self, images: Tensor) -> Tensor:
        """Images [N, C, H, W] in [-1, 1] -> class probabilities [N, n_classes] on the CPU."""
        ...

    def outputs(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """Features and class probabilities of one forward pass, for callers that need both."""
        ...
