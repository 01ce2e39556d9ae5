"""Which feature space images are measured in: one of :data:`FEATURE_EXTRACTORS` by name
(``--features``; the project's digit classifier by default on digit data), and the names
records give them."""

from __future__ import annotations

import torch

from gankit.data import ImageDataset
from gankit.metrics.digits import ChannelwiseClassifier
from gankit.metrics.extractors import FEATURE_EXTRACTORS, FeatureExtractor


def default_feature_name(data: ImageDataset) -> str | None:
    """``digits`` for labelled digit data (mnist5k, stacked-mnist, digits8); None for a folder
    of one's own images, which has no default feature space."""
    return "digits" if data.n_classes else None


def feature_extractor(data: ImageDataset, name: str | None = None, weights: str | None = None,
                      device: torch.device | str = "cpu") -> FeatureExtractor | None:
    """The features images are measured with: the extractor registered as ``name`` in
    :data:`FEATURE_EXTRACTORS` (``digits``, ``inception`` with its ``weights`` file); by default
    the data's (:func:`default_feature_name`), None when it has none."""
    name = name or default_feature_name(data)
    return None if name is None else FEATURE_EXTRACTORS[name](data, weights, device)


def feature_name(features: FeatureExtractor | None) -> str | None:
    """The feature space's name as ``--features`` spells it (``digits``, ``inception``), or
    the extractor's own name for one a user brought; None without features."""
    if features is None:
        return None
    if isinstance(features, ChannelwiseClassifier):
        return "digits"
    return features.name
