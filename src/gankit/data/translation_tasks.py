"""Built-in translation tasks on bundled images, with known answers to score against.

- ``edges2digits`` (paired, labelled): mnist5k's digits (B) and their edges (A).
- ``thin2thick`` (unpaired, labelled): mnist5k digits as they are (A) and thickened (B).
- ``grey2colour`` (paired): grey (A) and colour (B) patches of scikit-learn's sample photos.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gankit.configuration.schema import DataConfig
from gankit.data.images import HELD_OUT_FRACTION, mnist5k_arrays, resize, split_indices
from gankit.data.morphology import dilate, erode, thicken
from gankit.data.sources import DATASETS
from gankit.data.two_domains import (
    JITTER_KEYS,
    PairedImages,
    UnpairedImages,
    crop_and_load_sizes,
    split_pairs,
)
from gankit.errors import ConfigError

PHOTO_SCALE = 2  # grey2colour: the sample photos are box-downscaled by this before cutting


@DATASETS.register("edges2digits", uses=JITTER_KEYS, pairs="paired", n_classes=10)
def load_edges2digits(config: DataConfig) -> PairedImages:
    """mnist5k as pairs: B the digit, A its morphological gradient (3x3 grey dilation minus
    3x3 grey erosion, at the native 28 px: the digit's outline), both resized to
    ``data.load_size`` (0: ``data.image_size``, 0: 28). Labels are the digits' classes; the
    split is mnist5k's."""
    crop, load = crop_and_load_sizes(config, 28)
    digits, labels = mnist5k_arrays()  # uint8 [5000, 1, 28, 28]
    edges = dilate(digits) - erode(digits)  # >= 0: a neighbourhood's max is at least its min
    return split_pairs("edges2digits", edges, digits, labels, 10, config, crop, load)


@DATASETS.register("thin2thick", uses=JITTER_KEYS, pairs="unpaired", n_classes=10)
def load_thin2thick(config: DataConfig) -> UnpairedImages:
    """mnist5k's training digits cut (seeded) into two disjoint halves: A the first half as
    they are, B the second half thickened by one grey dilation with the 3x3 cross (each pixel
    the largest of itself and its four neighbours) at 28 px: 1.7x the ink, strokes about 2 px
    wider. The cross rather than the 3x3 square, which doubles the ink and fills the loops of
    6, 8 and 9 so that the digit classifier reads only 90% of such digits (98.5% of the
    originals, 95.6% of the cross-thickened): label preservation, the translation's score,
    needs a domain B the classifier can read. The held-out images are mnist5k's held-out
    digits as aligned pairs: ``held_b[i]`` is ``held_a[i]`` thickened. Labels on both sides;
    sizes as :func:`load_edges2digits`."""
    crop, load = crop_and_load_sizes(config, 28)
    digits, labels = mnist5k_arrays()
    train, held = (torch.from_numpy(i) for i in split_indices(len(digits)))
    first, second = (train[torch.from_numpy(i)] for i in split_indices(len(train), 0.5))
    return UnpairedImages(
        "thin2thick", resize(digits[first], load), resize(thicken(digits[second]), load),
        labels[first], labels[second], resize(digits[held], crop),
        resize(thicken(digits[held]), crop), labels[held], labels[held], held_paired=True,
        n_classes=10, image_size=crop, flip=config.flip)


@DATASETS.register("grey2colour", uses=JITTER_KEYS, pairs="paired", n_classes=0)
def load_grey2colour(config: DataConfig) -> PairedImages:
    """Colourisation pairs from scikit-learn's two sample photos (china.jpg, flower.jpg,
    427x640): each photo box-downscaled by 2 (to 213x320) and cut into a grid of squares of
    side ``data.load_size`` (0: ``data.image_size``, 0: 32) at half that stride, so that a
    pixel shows the same scene area whatever the size. A is the grey of B by ITU-R 601-2 luma
    (PIL's "L"), B the RGB patch. The held-out patches come from the right-most fifth of each
    photo and the training patches from the rest, so that no held-out patch shares a pixel with
    a training one (overlapping patches split at random would all share some: the scores
    would reward memorising); at 32 px, 360 training and 72 held-out patches."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    crop, load = crop_and_load_sizes(config, 32)
    parts: dict[str, list[Tensor]] = {"train_a": [], "train_b": [], "held_a": [], "held_b": []}
    for photo in load_sample_images().images:
        image = Image.fromarray(photo)
        image = image.resize((image.width // PHOTO_SCALE, image.height // PHOTO_SCALE),
                             Image.Resampling.BOX)
        cut = round(image.width * (1 - HELD_OUT_FRACTION))  # held out: the columns from here
        if load > min(image.height, image.width - cut):
            raise ConfigError(f"grey2colour cuts its held-out patches from {image.height}x"
                              f"{image.width - cut} px strips of its photos: data.load_size (or "
                              f"data.image_size) {load} must be at most "
                              f"{min(image.height, image.width - cut)}")
        for side, mode in (("b", "RGB"), ("a", "L")):
            pixels = torch.from_numpy(np.array(image.convert(mode))).reshape(
                image.height, image.width, -1).permute(2, 0, 1)  # [C, H, W]
            parts[f"train_{side}"].append(_grid(pixels[:, :, :cut], load, max(1, load // 2)))
            parts[f"held_{side}"].append(_grid(pixels[:, :, cut:], load, max(1, load // 2)))
    train_a, train_b, held_a, held_b = (torch.cat(parts[key]) for key in parts)
    return PairedImages("grey2colour", train_a, train_b, None, resize(held_a, crop),
                        resize(held_b, crop), None, 0, crop, config.flip)


def _grid(pixels: Tensor, size: int, stride: int) -> Tensor:
    """The squares of side ``size`` of ``pixels`` [C, H, W] at ``stride``, row by row:
    [n, C, size, size]."""
    squares = pixels.unfold(1, size, stride).unfold(2, size, stride)  # [C, rows, cols, S, S]
    return squares.permute(1, 2, 0, 3, 4).reshape(-1, pixels.shape[0], size, size).contiguous()

