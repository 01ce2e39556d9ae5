"""What image metrics need from a network: features (FID, KID, precision/recall) and, for
classifiers, class probabilities (classifier score, label histograms, StackedMNIST modes).

Any object with these methods plugs into :meth:`gankit.Run.evaluate`; one registered in
:data:`FEATURE_EXTRACTORS` also into ``gankit eval --features NAME`` (the project's digit
classifiers, ``digits``, and the optional InceptionV3, ``inception``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from gankit.registry import Registry


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


# name -> (image data set, weights file or None, device) -> FeatureExtractor; ``weights=True``
# says the extractor reads ``--weights``. The registered ones live in this package's modules.
FEATURE_EXTRACTORS: Registry[Callable[[Any, str | None, Any], FeatureExtractor]] = Registry(
    "feature extractor", package="gankit.metrics", group="gankit.feature_extractors")
