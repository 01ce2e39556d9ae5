"""Which feature space images are measured in: one of :data:`FEATURE_EXTRACTORS` by name
(``--features``; the project's digit classifier by default on digit data), a feature file fitted
to the data with ``gankit features fit`` (:mod:`gankit.metrics.learned`), and the names records
give them."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from gankit.configuration import schema
from gankit.errors import GankitError
from gankit.metrics.digits import ChannelwiseClassifier
from gankit.metrics.extractors import FEATURE_EXTRACTORS, FeatureExtractor


def default_feature_name(data: Any) -> str | None:
    """``digits`` for labelled digit data (mnist5k, stacked-mnist, digits8); None for a folder
    of one's own images, which has no default feature space."""
    return "digits" if data.n_classes else None


def is_feature_file(name: str) -> bool:
    """Whether ``--features`` / ``data.features`` names a fitted feature file rather than a
    registered feature space (:func:`gankit.configuration.schema.is_feature_file`)."""
    return schema.is_feature_file(name, FEATURE_EXTRACTORS)


def feature_extractor(data: Any, name: str | None = None, weights: str | None = None,
                      device: torch.device | str = "cpu") -> FeatureExtractor | None:
    """The features images are measured with: a feature file (:func:`is_feature_file`) fitted
    on the data's image shape, or the extractor registered as ``name`` in
    :data:`FEATURE_EXTRACTORS` (``digits``, ``inception`` with its ``weights`` file); by default
    the data's (:func:`default_feature_name`), None when it has none. A file fitted on another
    image shape is refused in one line before any work; the digit classifier on images that
    are not digits (colour, or a folder of one's own) is measured with a warning."""
    name = name or default_feature_name(data)
    if name is None:
        return None
    if is_feature_file(name):
        from gankit.metrics.learned import load, shape_text

        fitted = load(Path(name).expanduser(), device)
        shapes = [tuple(data.shape)] + ([tuple(data.shape_b)] if hasattr(data, "shape_b") else [])
        if fitted.image_shape not in shapes:
            held = " or ".join(shape_text(s) for s in dict.fromkeys(shapes))
            raise GankitError(f"feature file {name} was fitted on {shape_text(fitted.image_shape)}"
                              f" images, but data {data.name} holds {held} images; fit one on "
                              f"this data: gankit features fit DATA --out FILE")
        return fitted
    if name == "digits" and (colour := _not_digits(data)):
        warnings.warn(f"--features digits measures {data.name}'s {colour} images with a digit "
                      f"classifier: the figures say little about them; fit a feature space "
                      f"with 'gankit features fit' and give --features FILE", stacklevel=2)
    return FEATURE_EXTRACTORS[name](data, weights, device)


def _not_digits(data: Any) -> str | None:
    """Why the digit classifier does not fit ``data`` (``RGB``, ``unlabelled``), or None."""
    if data.shape[0] == 3 and not getattr(data, "channels_are_examples", False):
        return "RGB"
    return None if data.n_classes else "unlabelled"


def feature_name(features: FeatureExtractor | None) -> str | None:
    """The feature space's name as ``--features`` spells it (``digits``, ``inception``), or
    the extractor's own name for one a user brought or fitted (``learned-DIGEST``); None
    without features."""
    if features is None:
        return None
    if isinstance(features, ChannelwiseClassifier):
        return "digits"
    return features.name
