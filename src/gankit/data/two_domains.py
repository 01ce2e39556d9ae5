"""Image-to-image translation sources: images of a domain A and of a domain B, paired or not.

A source holds each domain as one uint8 tensor ``[N, C, L, L]`` on the training device, ``L``
being ``data.load_size`` (or ``data.image_size`` when that is 0), and a batch is one index draw
and one gather there, in [-1, 1], of ``image_size`` squares. The randomness comes only from the
trainer's ``torch.Generator`` (resume stays exact), in this order: the indices, then, when
``L > image_size``, one crop offset per example, then, with ``data.flip``, one mirroring coin
per example. This is Pix2Pix's "random jitter" (Isola et al. 2017, Sec. 6.2: resize to 286,
random crop of 256, mirroring); a pair gets one crop and one flip for both of its sides.
Held-out images are resized to ``image_size`` with no jitter, as Pix2Pix tests.

The data sets: the user's folders (:mod:`gankit.data.domain_folders`: ``paired-folder`` for
Pix2Pix, ``unpaired-folder`` for CycleGAN) and built-in tasks on bundled images
(:mod:`gankit.data.translation_tasks`: ``edges2digits``, ``thin2thick``, ``grey2colour``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import Tensor

from gankit.configuration.schema import DataConfig
from gankit.data.images import resize, split_indices, to_unit_range
from gankit.data.spec import DataSpec, translation_spec
from gankit.errors import ConfigError, GankitError

# The data keys every translation data set reads: the crop, the stored side, the mirroring.
JITTER_KEYS = ("image_size", "load_size", "flip")

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

def crop_and_load_sizes(config: DataConfig, default: int) -> tuple[int, int]:
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


def split_pairs(name: str, a: Tensor, b: Tensor, labels: Tensor | None, n_classes: int,
                 config: DataConfig, crop: int, load: int) -> PairedImages:
    """Pairs split 80/20 by the project's seeded split; training images resized to ``load``,
    held-out ones to ``crop``."""
    train, held = (torch.from_numpy(i) for i in split_indices(len(a)))
    return PairedImages(name, resize(a[train], load), resize(b[train], load),
                        _pick(labels, train), resize(a[held], crop), resize(b[held], crop),
                        _pick(labels, held), n_classes, crop, config.flip)


def split_unpaired(name: str, a: Tensor, b: Tensor, config: DataConfig, crop: int, load: int
                    ) -> UnpairedImages:
    """Each domain split 80/20 on its own (seeded), resized as :func:`split_pairs` does."""
    train_a, held_a = (torch.from_numpy(i) for i in split_indices(len(a)))
    train_b, held_b = (torch.from_numpy(i) for i in split_indices(len(b)))
    return UnpairedImages(name, resize(a[train_a], load), resize(b[train_b], load),
                          held_a=resize(a[held_a], crop), held_b=resize(b[held_b], crop),
                          image_size=crop, flip=config.flip)

