"""The feature spaces images are measured in: the project's digit classifier, applied channel by
channel, or InceptionV3 from the user's weights file; and the names records give them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.config import FEATURES
from gankit.data import ImageDataset
from gankit.errors import GankitError
from gankit.metrics.extractors import Classifier, FeatureExtractor


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


def default_feature_name(data: ImageDataset) -> str | None:
    """``digits`` for labelled digit data (mnist5k, stacked-mnist, digits8); None for a folder
    of one's own images, which has no default feature space."""
    return "digits" if data.n_classes else None


def feature_extractor(data: ImageDataset, name: str | None = None, weights: str | None = None,
                      device: torch.device | str = "cpu") -> FeatureExtractor | None:
    """The features images are measured with: ``digits`` (the project's digit classifier) or
    ``inception`` (InceptionV3 from the user's weights file); by default the data's
    (:func:`default_feature_name`), None when it has none."""
    name = name or default_feature_name(data)
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

    which = "digits8" if data.name == "digits8" else "mnist5k"
    return ChannelwiseClassifier(load_digit_classifier(which, device), 8 if which == "digits8"
                                 else 28)


def feature_name(features: FeatureExtractor | None) -> str | None:
    """The feature space's name as ``--features`` spells it (``digits``, ``inception``), or
    the extractor's own name for one a user brought; None without features."""
    if features is None:
        return None
    if isinstance(features, ChannelwiseClassifier):
        return "digits"
    return features.name
