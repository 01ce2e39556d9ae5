"""An image set given by a path, as ``gankit metrics A B`` reads it (like torch-fidelity's
inputs): a folder of image files, or a ``.npy`` / ``.npz`` array file. Either is read a batch
at a time (:meth:`ImageSet.images`), as uint8 [B, C, H, W], so that measuring a set holds one
batch of images in memory, not the set; arrays are read without unpickling
(``allow_pickle=False``), a ``.npy`` file memory-mapped.

- A folder: every image under it (:func:`gankit.data.image_files.find_images`), each at its
  own size, which must then be one square size for all; ``image_size`` resizes the shorter
  side to it and center-crops instead (as image-folder does). A set whose files are all grey
  (R = G = B everywhere) is read as one channel.
- An array: uint8 in 0..255 or floats in [-1, 1]; [N, C, H, W] or [N, H, W, C] with C 1 or 3
  (C at axis 1 when both could be), or [N, H, W] for grey. In an ``.npz``, its one array, or
  the one named after a colon: ``samples.npz:images``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from gankit.data import image_files
from gankit.data.images import to_uint8
from gankit.errors import GankitError

ARRAY_SUFFIXES = (".npy", ".npz")
CHANNELS = (1, 3)
CHECK_ROWS = 1024  # rows of a float array range-checked at once


class ImageSet(Protocol):
    """N images of one shape [C, H, W], read by rows."""

    shape: tuple[int, int, int]

    def __len__(self) -> int: ...

    def images(self, rows: Tensor) -> Tensor:
        """The images at ``rows`` (int64 [B], sorted) as uint8 [B, C, H, W]."""
        ...


def open_image_set(source: Path, image_size: int | None = None) -> ImageSet:
    """The image set at ``source`` (a folder, ``.npy``, ``.npz`` or ``FILE.npz:KEY``), checked
    whole before any image is measured; anything else, or a set without images, is one error
    line."""
    file, key = split_key(Path(source))
    if file.is_dir():
        return FolderSet(file, image_size)
    if not file.is_file():
        raise GankitError(f"{source}: no such file or folder")
    if file.suffix.lower() not in ARRAY_SUFFIXES:
        raise GankitError(f"{source}: not an image set; give a folder of images, a .npy or "
                          f".npz array, or a .safetensors statistics file")
    return ArraySet(read_array(file, key), str(source))


def split_key(source: Path) -> tuple[Path, str | None]:
    """``FILE.npz:KEY`` -> (FILE.npz, KEY); any other path -> (path, None)."""
    head, colon, key = str(source).rpartition(":")
    if colon and head.lower().endswith(".npz") and not source.exists():
        return Path(head), key
    return source, None


def read_array(file: Path, key: str | None) -> np.ndarray:
    """The array in a ``.npy`` file (memory-mapped), or the one (or the named) array of a
    ``.npz`` file."""
    try:
        loaded = np.load(file, mmap_mode="r" if file.suffix.lower() == ".npy" else None,
                         allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:  # pickled objects, damaged or not numpy
        raise GankitError(f"{file} is not a readable numpy file "
                          f"({str(err).splitlines()[0] or type(err).__name__})") from None
    if isinstance(loaded, np.ndarray):
        if key is not None:
            raise GankitError(f"{file} is a .npy file, which holds one array with no name; "
                              f"give it without ':{key}'")
        return loaded
    with loaded:
        names = list(loaded.files)
        if key is None and len(names) != 1:
            raise GankitError(f"{file} holds {len(names)} arrays ({', '.join(names) or 'none'});"
                              f" name one: {file}:NAME")
        name = names[0] if key is None else key
        if name not in names:
            raise GankitError(f"{file} has no array {name!r}; it holds {', '.join(names)}")
        try:
            return loaded[name]
        except ValueError as err:  # an object array, which would need unpickling
            raise GankitError(f"{file}:{name} cannot be read without unpickling ({err})"
                              ) from None


class ArraySet:
    """An image array (module docstring), converted to uint8 [B, C, H, W] a batch at a time."""

    def __init__(self, array: np.ndarray, name: str) -> None:
        if array.ndim == 3:
            array = array[:, None]
        if array.ndim != 4 or (array.shape[1] not in CHANNELS
                               and array.shape[3] not in CHANNELS):
            raise GankitError(f"{name} has shape {list(array.shape)}; images must be "
                              f"[N, C, H, W] or [N, H, W, C] with C 1 or 3, or [N, H, W]")
        if array.dtype != np.uint8 and array.dtype.kind != "f":
            raise GankitError(f"{name} holds {array.dtype}; images must be uint8 (0..255) or "
                              f"floats in [-1, 1]")
        if array.dtype.kind == "f" and not _in_unit_range(array):
            raise GankitError(f"{name} holds floats outside [-1, 1] (or non-finite); images "
                              f"must be uint8 (0..255) or floats in [-1, 1]")
        self.array = array
        self.channels_last = array.shape[1] not in CHANNELS
        image = list(array.shape[1:])
        self.shape = tuple(image[2:] + image[:2] if self.channels_last else image)

    def __len__(self) -> int:
        return len(self.array)

    def images(self, rows: Tensor) -> Tensor:
        batch = np.asarray(self.array[rows.numpy()])  # reads only these rows of a mapped file
        if self.channels_last:
            batch = batch.transpose(0, 3, 1, 2)
        batch = torch.from_numpy(np.ascontiguousarray(batch))
        return batch if batch.dtype == torch.uint8 else to_uint8(batch)


def _in_unit_range(array: np.ndarray) -> bool:
    """Whether every entry is finite and in [-1, 1], read in blocks of rows (a mapped file
    is never loaded whole)."""
    for start in range(0, len(array), CHECK_ROWS):
        block = np.asarray(array[start:start + CHECK_ROWS])
        if not np.isfinite(block).all() or block.min() < -1 or block.max() > 1:
            return False
    return True


class FolderSet:
    """The images under a folder (module docstring). Every file is decoded once when the set
    is opened, to find its size and colour and to skip damaged ones (one warning), and again,
    a batch at a time, when it is measured."""

    def __init__(self, folder: Path, image_size: int | None = None) -> None:
        files = image_files.find_images(folder)
        if not files:
            suffixes = ", ".join(sorted(image_files.IMAGE_SUFFIXES))
            raise GankitError(f"no image files ({suffixes}) in {folder}")
        probed = image_files.read_files(files, folder, _probe)  # (size, grey) or None
        self.files = [file for file, seen in zip(files, probed, strict=True) if seen]
        if image_size is None:
            sizes = sorted({size for size, _ in filter(None, probed)})
            if len(sizes) > 1 or sizes[0][0] != sizes[0][1]:
                shown = ", ".join(f"{w}x{h}" for w, h in sizes[:4]) + (
                    " ..." if len(sizes) > 4 else "")
                raise GankitError(f"the images in {folder} are not all one square size "
                                  f"({shown}); give --image-size S to resize them (shorter "
                                  f"side to S, center-cropped)")
            image_size = sizes[0][0]
        channels = 1 if all(grey for _, grey in filter(None, probed)) else 3
        self.shape = (channels, image_size, image_size)

    def __len__(self) -> int:
        return len(self.files)

    def images(self, rows: Tensor) -> Tensor:
        channels, size, _ = self.shape
        return torch.from_numpy(np.stack([
            image_files.fit_square(image_files.open_image(self.files[row], 3), size)[:channels]
            for row in rows.tolist()]))  # [B, C, S, S]; grey files have R = G = B


def _probe(path: Path) -> tuple[tuple[int, int], bool]:
    """A file's (width, height) and whether it is grey (R = G = B), decoding it whole so that
    a damaged file is found now, not halfway through a measurement."""
    rgb = np.asarray(image_files.open_image(path, 3))  # [H, W, 3]
    grey = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 0] == rgb[..., 2]).all())
    return (rgb.shape[1], rgb.shape[0]), grey
