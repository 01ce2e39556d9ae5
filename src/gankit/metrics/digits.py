"""The project's digit classifiers as a feature extractor (``--features digits``), applied to
each channel of an image, so that StackedMNIST's three colour channels are three digits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.metrics.extractors import FEATURE_EXTRACTORS, Classifier


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


@FEATURE_EXTRACTORS.register("digits")
def digits(data, weights: str | None, device: torch.device | str) -> ChannelwiseClassifier:
    """The project's digit classifier, channel by channel (mnist5k, stacked-mnist, digits8)."""
    from gankit.metrics.digit_classifier import load_digit_classifier

    which = "digits8" if data.name == "digits8" else "mnist5k"
    return ChannelwiseClassifier(load_digit_classifier(which, device),
                                 8 if which == "digits8" else 28)
