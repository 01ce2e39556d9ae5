"""Image-to-image translation data: images of a domain A and of a domain B, paired or not.

A source holds each domain as one uint8 tensor ``[N, C, L, L]`` on the training device, ``L``
being ``data.load_size`` (or ``data.image_size`` when that is 0), and a batch is one index draw
and one gather there, in [-1, 1], of ``image_size`` squares. The randomness comes only from the
trainer's ``torch.Generator`` (resume stays exact), in this order: the indices, then, when
``L > image_size``, one crop offset per example, then, with ``data.flip``, one mirroring coin
per example. This is Pix2Pix's "random jitter" (Isola et al. 2017, Sec. 6.2: resize to 286,
random crop of 256, mirroring); a pair gets one crop and one flip for both of its sides.
Held-out images are resized to ``image_size`` with no jitter, as Pix2Pix tests.

- ``paired-folder`` (Pix2Pix): the user's ``A/`` and ``B/`` files of matching names, or files
  that each hold A|B side by side (Pix2Pix's own format).
- ``unpaired-folder`` (CycleGAN): the user's ``A/`` and ``B/`` files, of any names.
- ``edges2digits`` (paired, labelled): mnist5k's digits (B) and their edges (A).
- ``thin2thick`` (unpaired, labelled): mnist5k digits as they are (A) and thickened (B).
- ``grey2colour`` (paired): grey (A) and colour (B) patches of scikit-learn's sample photos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.config import DataConfig
from gankit.data import image_files
from gankit.data.images import (
    HELD_OUT_FRACTION,
    mnist5k_arrays,
    resize,
    split_indices,
    to_unit_range,
)
from gankit.data.spec import DataSpec, translation_spec
from gankit.errors import ConfigError, GankitError

# A side-by-side file's width may differ from twice its height by this fraction (odd widths,
# a border); anything further is not an A|B pair.
SIDE_BY_SIDE_TOLERANCE = 0.05
PHOTO_SCALE = 2  # grey2colour: the sample photos are box-downscaled by this before cutting


@dataclass
class HeldOut:
    """The held-out images of a translation source, for evaluation (CPU, float in [-1, 1])."""

    a: Tensor  # [M, C_a, S, S]
    b: Tensor  # [M_b, C_b, S, S]
    labels_a: Tensor | None  # int64 [M], or None for unlabelled data
    labels_b: Tensor | None  # int64 [M_b]
    paired: bool  # b[i] is the translation target of a[i] (pixel metrics apply)


class _TwoDomains:
    """What paired and unpaired sources share: shapes, the copy on the device, the jitter."""

    name: str
    a: Tensor  # uint8 [N, C_a, L, L]
    b: Tensor  # uint8 [N_b, C_b, L, L]
    n_classes: int
    image_size: int
    flip: bool
    _on_device: dict[str, dict[str, Tensor]]

    @property
    def shape(self) -> tuple[int, ...]:
        """One example of ``a`` as batches hold it: [C_a, image_size, image_size]."""
        return (self.a.shape[1], self.image_size, self.image_size)

    @property
    def shape_b(self) -> tuple[int, ...]:
        return (self.b.shape[1], self.image_size, self.image_size)

    def _check(self, labels: dict[str, Tensor | None], held: dict[str, Tensor | None]) -> None:
        """Shapes and dtypes at construction, where a mistake is cheap to name (``labels``:
        the training labels by field name, ``held``: the held-out images); an image_size of 0
        becomes L."""
        self.image_size = self.image_size or self.a.shape[-1]
        load, size = self.a.shape[-1], self.image_size
        for key, images in (("a", self.a), ("b", self.b)):
            if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[2:] != (load,
                                                                                        load):
                raise ValueError(f"{self.name}: {key} must be uint8 [N, C, {load}, {load}], "
                                 f"got {images.dtype} {list(images.shape)}")
        if not 1 <= size <= load:
            raise ValueError(f"{self.name}: image_size {size} must be in [1, {load}]")
        for key, values in labels.items():
            n = len(self.b if key.endswith("_b") else self.a)
            if values is not None and (values.dtype != torch.int64 or values.shape != (n,)):
                raise ValueError(f"{self.name}: {key} must be int64 [{n}], got {values.dtype} "
                                 f"{list(values.shape)}")
        given = {values is not None for values in labels.values()}
        if given != {self.n_classes > 0}:
            named = ", ".join(k for k, v in labels.items() if v is not None) or "none"
            raise ValueError(f"{self.name}: give {' and '.join(labels)} (all of them) exactly "
                             f"when n_classes > 0, got n_classes {self.n_classes} and {named}")
        for key, images in held.items():
            channels = (self.b if key.endswith("_b") else self.a).shape[1]
            if images is not None and (images.dtype != torch.uint8
                                       or images.shape[1:] != (channels, size, size)):
                raise ValueError(f"{self.name}: {key} must be uint8 [M, {channels}, {size}, "
                                 f"{size}], got {images.dtype} {list(images.shape)}")

    def _on(self, device: torch.device | str, tensors: dict[str, Tensor | None]
            ) -> dict[str, Tensor]:
        """``tensors`` on ``device``: copied once, then indexed there."""
        key = str(torch.device(device))
        if key not in self._on_device:
            self._on_device.clear()
            self._on_device[key] = {name: t.to(device) for name, t in tensors.items()
                                    if t is not None}
        return self._on_device[key]

    def _window(self, n: int, generator: torch.Generator, device: torch.device | str
                ) -> tuple[Tensor, Tensor] | None:
        """The rows and columns [n, S] each of ``n`` examples is read at: a random crop
        (when ``L > S``) mirrored by a coin (with ``flip``); None when neither applies."""
        load, size = self.a.shape[-1], self.image_size
        if load == size and not self.flip:
            return None
        span = torch.arange(size, device=device)  # [S]
        offset = (torch.randint(load - size + 1, (n, 2), generator=generator, device=device)
                  if load > size else torch.zeros(n, 2, dtype=torch.long, device=device))
        rows, cols = offset[:, :1] + span, offset[:, 1:] + span  # [n, S] each
        if self.flip:
            mirrored = torch.randint(2, (n, 1), generator=generator, device=device).bool()
            cols = torch.where(mirrored, cols.flip(1), cols)
        return rows, cols

    def _held(self, images: Tensor | None) -> Tensor:
        if images is None:
            raise GankitError(f"data set {self.name} has no held-out split")
        return to_unit_range(images)


def _gather(images: Tensor, index: Tensor, window: tuple[Tensor, Tensor] | None) -> Tensor:
    """uint8 ``images`` [N, C, L, L] at ``index`` [n], read through ``window``'s rows and
    columns [n, S] (one advanced-indexing gather): float [n, C, S, S] in [-1, 1]."""
    if window is None:
        return to_unit_range(images[index])
    rows, cols = window
    channels = torch.arange(images.shape[1], device=images.device)
    return to_unit_range(images[index[:, None, None, None], channels[:, None, None],
                                rows[:, None, :, None], cols[:, None, None, :]])


@dataclass
class PairedImages(_TwoDomains):
    """Pairs (a[i], b[i]), b[i] the translation of a[i] (Pix2Pix), with optional labels."""

    name: str
    a: Tensor  # uint8 [N, C_a, L, L]
    b: Tensor  # uint8 [N, C_b, L, L]
    labels: Tensor | None = None  # int64 [N]: the class both sides show
    held_a: Tensor | None = None  # uint8 [M, C_a, S, S], never trained on, no jitter
    held_b: Tensor | None = None  # uint8 [M, C_b, S, S]
    held_labels: Tensor | None = None  # int64 [M]
    n_classes: int = 0  # 0: unlabelled
    image_size: int = 0  # S, the side batches are cropped to; 0: L (no crop)
    flip: bool = False  # mirror each pair left-right with probability 1/2
    _on_device: dict[str, dict[str, Tensor]] = field(default_factory=dict, repr=False)
    kind: ClassVar[str] = "pairs"  # what evaluation measures and draws (gankit.evaluation)

    def __post_init__(self) -> None:
        self._check({"labels": self.labels}, {"held_a": self.held_a, "held_b": self.held_b})
        if len(self.a) != len(self.b):
            raise ValueError(f"{self.name}: a pair needs both sides, got {len(self.a)} a and "
                             f"{len(self.b)} b")
        if (self.held_a is None) != (self.held_b is None) or (
                self.held_a is not None and len(self.held_a) != len(self.held_b)):
            counts = [None if h is None else len(h) for h in (self.held_a, self.held_b)]
            raise ValueError(f"{self.name}: a held-out pair needs both sides, got {counts[0]} "
                             f"held_a and {counts[1]} held_b")

    def __len__(self) -> int:
        return len(self.a)

    @property
    def spec(self) -> DataSpec:
        return translation_spec(self.shape, self.shape_b, paired=True, n_classes=self.n_classes)

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> dict[str, Tensor]:
        """``n`` pairs drawn uniformly with replacement: ``a`` [n, C_a, S, S] and ``b``
        [n, C_b, S, S] in [-1, 1], one crop and one flip for both sides of a pair, and for
        labelled sets ``label`` [n]."""
        stored = self._on(device, {"a": self.a, "b": self.b, "labels": self.labels})
        index = torch.randint(len(self.a), (n,), generator=generator, device=device)
        window = self._window(n, generator, device)
        batch = {"a": _gather(stored["a"], index, window), "b": _gather(stored["b"], index, window)}
        if self.labels is not None:
            batch["label"] = stored["labels"][index]
        return batch

    def held_out(self) -> HeldOut:
        return HeldOut(self._held(self.held_a), self._held(self.held_b), self.held_labels,
                       self.held_labels, paired=True)


@dataclass
class UnpairedImages(_TwoDomains):
    """Images of A and of B drawn independently (CycleGAN), with optional labels each."""

    name: str
    a: Tensor  # uint8 [N_a, C_a, L, L]
    b: Tensor  # uint8 [N_b, C_b, L, L]
    labels_a: Tensor | None = None  # int64 [N_a]
    labels_b: Tensor | None = None  # int64 [N_b]
    held_a: Tensor | None = None  # uint8 [M_a, C_a, S, S], never trained on, no jitter
    held_b: Tensor | None = None  # uint8 [M_b, C_b, S, S]
    held_labels_a: Tensor | None = None
    held_labels_b: Tensor | None = None
    held_paired: bool = False  # held_b[i] is the translation target of held_a[i]
    n_classes: int = 0
    image_size: int = 0  # S; 0: L (no crop)
    flip: bool = False
    _on_device: dict[str, dict[str, Tensor]] = field(default_factory=dict, repr=False)
    kind: ClassVar[str] = "unpaired"

    def __post_init__(self) -> None:
        self._check({"labels_a": self.labels_a, "labels_b": self.labels_b},
                    {"held_a": self.held_a, "held_b": self.held_b})
        if self.held_paired and (self.held_a is None or self.held_b is None
                                 or len(self.held_a) != len(self.held_b)):
            raise ValueError(f"{self.name}: held_paired needs as many held_a as held_b")

    def __len__(self) -> int:
        """The larger domain's count, CycleGAN's epoch (its UnalignedDataset)."""
        return max(len(self.a), len(self.b))

    @property
    def spec(self) -> DataSpec:
        return translation_spec(self.shape, self.shape_b, paired=False, n_classes=self.n_classes)

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> dict[str, Tensor]:
        """``n`` images of A and ``n`` of B, drawn apart (a's indices, b's, then a's jitter and
        b's): ``a``, ``b`` in [-1, 1] and, for labelled sets, ``label_a``, ``label_b`` [n]."""
        stored = self._on(device, {"a": self.a, "b": self.b, "labels_a": self.labels_a,
                                   "labels_b": self.labels_b})
        index_a = torch.randint(len(self.a), (n,), generator=generator, device=device)
        index_b = torch.randint(len(self.b), (n,), generator=generator, device=device)
        window_a = self._window(n, generator, device)
        window_b = self._window(n, generator, device)
        batch = {"a": _gather(stored["a"], index_a, window_a),
                 "b": _gather(stored["b"], index_b, window_b)}
        if self.labels_a is not None:
            batch |= {"label_a": stored["labels_a"][index_a],
                      "label_b": stored["labels_b"][index_b]}
        return batch

    def held_out(self) -> HeldOut:
        return HeldOut(self._held(self.held_a), self._held(self.held_b), self.held_labels_a,
                       self.held_labels_b, paired=self.held_paired)


# --- building sources ---------------------------------------------------------------------------

def _sizes(config: DataConfig, default: int) -> tuple[int, int]:
    """(S, L): the crop ``data.image_size`` (0: ``default``) and the stored side
    ``data.load_size`` (0: S, no crop)."""
    crop = config.image_size or default
    load = config.load_size or crop
    if load < crop:  # data.image_size 0: DataConfig.check could not know the default crop
        raise ConfigError(f"data.load_size {load} is smaller than the data set's image size "
                          f"{crop} (data.image_size 0): the random crop must fit inside the "
                          f"resized image")
    return crop, load


def _pick(values: Tensor | None, index: Tensor) -> Tensor | None:
    return None if values is None else values[index]


def _split_pairs(name: str, a: Tensor, b: Tensor, labels: Tensor | None, n_classes: int,
                 config: DataConfig, crop: int, load: int) -> PairedImages:
    """Pairs split 80/20 by the project's seeded split; training images resized to ``load``,
    held-out ones to ``crop``."""
    train, held = (torch.from_numpy(i) for i in split_indices(len(a)))
    return PairedImages(name, resize(a[train], load), resize(b[train], load),
                        _pick(labels, train), resize(a[held], crop), resize(b[held], crop),
                        _pick(labels, held), n_classes, crop, config.flip)


def _split_unpaired(name: str, a: Tensor, b: Tensor, config: DataConfig, crop: int, load: int
                    ) -> UnpairedImages:
    """Each domain split 80/20 on its own (seeded), resized as :func:`_split_pairs` does."""
    train_a, held_a = (torch.from_numpy(i) for i in split_indices(len(a)))
    train_b, held_b = (torch.from_numpy(i) for i in split_indices(len(b)))
    return UnpairedImages(name, resize(a[train_a], load), resize(b[train_b], load),
                          held_a=resize(a[held_a], crop), held_b=resize(b[held_b], crop),
                          image_size=crop, flip=config.flip)


def _thicken(images: Tensor) -> Tensor:
    """Grey dilation by the 3x3 cross: each pixel the largest of itself and its four
    neighbours (the border padded with 0, which never wins), uint8 [N, C, H, W] -> the same."""
    padded = F.pad(images, (1, 1, 1, 1))
    h, w = images.shape[-2:]
    shifted = [padded[..., 1:h + 1, 1:w + 1], padded[..., :h, 1:w + 1],
               padded[..., 2:, 1:w + 1], padded[..., 1:h + 1, :w], padded[..., 1:h + 1, 2:]]
    return torch.stack(shifted).amax(0)


def _dilate(images: Tensor) -> Tensor:
    """Grey dilation by a 3x3 square: each pixel the largest of its 3x3 neighbourhood (the
    border padded so that it never wins), uint8 [N, C, H, W] -> the same."""
    return F.max_pool2d(images.float(), 3, stride=1, padding=1).to(torch.uint8)


def _erode(images: Tensor) -> Tensor:
    """Grey erosion by a 3x3 square: each pixel the smallest of its 3x3 neighbourhood."""
    return (-F.max_pool2d(-images.float(), 3, stride=1, padding=1)).to(torch.uint8)


# --- the user's folders -------------------------------------------------------------------------

def load_paired_folder(config: DataConfig) -> PairedImages:
    """Pairs from ``data.path``: its subfolders ``A/`` and ``B/`` holding files that pair by
    relative name without extension (``A/x.png`` with ``B/x.jpg``), or, without them, files
    that each hold A|B side by side (Pix2Pix's format: the left half is A). Each side is read
    as image-folder reads a file, at ``data.load_size`` (0: ``data.image_size``), with
    ``data.channels``; damaged files are skipped (with their pairs) and reported in one warning;
    ``data.cache`` holds both sides. The pairs are split 80/20 (seeded)."""
    folder = image_files.user_folder(config, "paired-folder",
                                     "a folder holding A/ and B/ or A|B images")
    crop, load = _sizes(config, config.image_size)
    if (folder / "A").is_dir() or (folder / "B").is_dir():
        pairs = _matched_files(folder)
        files = [path for pair in pairs for path in pair]

        def build() -> dict[str, Tensor]:
            images = image_files.read_files(files, folder, lambda path: image_files.read_image(
                path, load, config.channels), note="; the pairs they belong to are dropped")
            kept = [(a, b) for a, b in zip(images[::2], images[1::2], strict=True)
                    if a is not None and b is not None]
            if not kept:
                raise GankitError(f"no pair in {folder} has both of its files readable")
            return {"a": image_files.stack_read([a for a, _ in kept]),
                    "b": image_files.stack_read([b for _, b in kept])}
    else:
        files = image_files.find_images(folder)
        if not files:
            raise GankitError(f"{folder} holds neither subfolders A/ and B/ nor image files: "
                              f"paired-folder reads A/ and B/ files of matching names, or "
                              f"images that each hold A|B side by side")

        def build() -> dict[str, Tensor]:
            halves = image_files.stack_read(image_files.read_files(
                files, folder, lambda path: _read_side_by_side(path, load, config.channels)))
            # [N, 2, C, L, L]
            return {"a": halves[:, 0], "b": halves[:, 1]}

    tensors = image_files.cached(config, files, build, "paired-folder", config.load_size)
    return _split_pairs("paired-folder", tensors["a"], tensors["b"], None, 0, config, crop, load)


def _matched_files(folder: Path) -> list[tuple[Path, Path]]:
    """The (A, B) file pairs of ``folder``, matched by relative name without extension; a name
    on one side only is an error listing them."""
    named: dict[str, dict[str, Path]] = {}
    for side, other in (("A", "B"), ("B", "A")):
        if not (folder / side).is_dir():
            raise ConfigError(f"data.path {folder} has {other}/ but no {side}/: paired-folder "
                              f"pairs the files of A/ and B/ by name")
        named[side] = {}
        for path in image_files.find_images(folder / side):
            key = path.relative_to(folder / side).with_suffix("").as_posix()
            if key in named[side]:
                raise GankitError(f"{folder / side} holds two files named {key} "
                                  f"({named[side][key].name}, {path.name}): which one pairs "
                                  f"with {other}/{key} is ambiguous")
            named[side][key] = path
    if not named["A"] and not named["B"]:
        raise GankitError(f"no image files in {folder / 'A'} or {folder / 'B'}")
    alone = [str(named[side][key].relative_to(folder)) for side, other in (("A", "B"), ("B", "A"))
             for key in sorted(named[side].keys() - named[other].keys())]
    if alone:
        raise GankitError(f"{len(alone)} file(s) in {folder} have no file of the same name "
                          f"(without extension) on the other side of A/ and B/: "
                          f"{image_files.listing(alone)}")
    return [(named["A"][key], named["B"][key]) for key in sorted(named["A"])]


def _read_side_by_side(path: Path, size: int, channels: int) -> np.ndarray:
    """One A|B file as uint8 [2, C, size, size]: its left half (A) and right half (B), each
    fitted like an image-folder file; a file not about twice as wide as high is refused."""
    image = image_files.open_image(path, channels)
    width, height = image.size
    if abs(width / (2 * height) - 1) > SIDE_BY_SIDE_TOLERANCE:
        raise image_files.Refused(f"{width}x{height} px, not A|B side by side: the width "
                                  f"must be about twice the height")
    half = width // 2
    return np.stack([image_files.fit_square(image.crop((0, 0, half, height)), size),
                     image_files.fit_square(image.crop((half, 0, width, height)), size)])


def load_unpaired_folder(config: DataConfig) -> UnpairedImages:
    """Images of ``data.path``'s subfolders ``A/`` and ``B/``, of any names and counts, read
    as :func:`load_paired_folder` reads a side; each domain split 80/20 (seeded), the held-out
    images unpaired."""
    folder = image_files.user_folder(config, "unpaired-folder", "a folder holding A/ and B/")
    crop, load = _sizes(config, config.image_size)
    sides = {}
    for side in ("A", "B"):
        if not (folder / side).is_dir():
            raise ConfigError(f"data.path {folder} has no subfolder {side}/: unpaired-folder "
                              f"reads the images of A/ and of B/")
        sides[side] = image_files.find_images(folder / side)
        if not sides[side]:
            raise GankitError(f"no image files in {folder / side}")
    files = sides["A"] + sides["B"]

    def build() -> dict[str, Tensor]:
        images = image_files.read_files(files, folder, lambda path: image_files.read_image(
            path, load, config.channels))
        read = {"A": images[:len(sides["A"])], "B": images[len(sides["A"]):]}
        for side, side_images in read.items():
            if all(image is None for image in side_images):
                raise GankitError(f"none of the {len(side_images)} image files in "
                                  f"{folder / side} could be read")
        return {"a": image_files.stack_read(read["A"]), "b": image_files.stack_read(read["B"])}

    tensors = image_files.cached(config, files, build, "unpaired-folder", config.load_size)
    return _split_unpaired("unpaired-folder", tensors["a"], tensors["b"], config, crop, load)


# --- built-in tasks -----------------------------------------------------------------------------

def load_edges2digits(config: DataConfig) -> PairedImages:
    """mnist5k as pairs: B the digit, A its morphological gradient (3x3 grey dilation minus
    3x3 grey erosion, at the native 28 px: the digit's outline), both resized to
    ``data.load_size`` (0: ``data.image_size``, 0: 28). Labels are the digits' classes; the
    split is mnist5k's."""
    crop, load = _sizes(config, 28)
    digits, labels = mnist5k_arrays()  # uint8 [5000, 1, 28, 28]
    edges = _dilate(digits) - _erode(digits)  # >= 0: a neighbourhood's max is at least its min
    return _split_pairs("edges2digits", edges, digits, labels, 10, config, crop, load)


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
    crop, load = _sizes(config, 28)
    digits, labels = mnist5k_arrays()
    train, held = (torch.from_numpy(i) for i in split_indices(len(digits)))
    first, second = (train[torch.from_numpy(i)] for i in split_indices(len(train), 0.5))
    return UnpairedImages(
        "thin2thick", resize(digits[first], load), resize(_thicken(digits[second]), load),
        labels[first], labels[second], resize(digits[held], crop),
        resize(_thicken(digits[held]), crop), labels[held], labels[held], held_paired=True,
        n_classes=10, image_size=crop, flip=config.flip)


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

    crop, load = _sizes(config, 32)
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

