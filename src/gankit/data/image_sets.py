"""An image set given by a path, as ``gankit metrics A B`` reads it (like torch-fidelity's
inputs): a folder or zip archive of image files, or a ``.npy`` / ``.npz`` array file. Either
is read a batch at a time (:meth:`ImageSet.images`), as uint8 [B, C, H, W]; a folder, a zip
and a ``.npy`` file (memory-mapped) are held one batch at a time, an ``.npz`` array whole.
Arrays are read without unpickling (``allow_pickle=False``).

- A folder or zip: its images as image-folder finds them (:mod:`gankit.data.archives`), at
  their own size when all share one square size, else fitted to one with a warning;
  ``image_size`` resizes the shorter side to it and center-crops instead. A set whose files
  are all grey (R = G = B everywhere) is read as one channel.
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

from gankit.data import archives, image_files
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
    if file.is_dir() or file.suffix.lower() == ".zip":
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
    """The images of a folder or zip archive, found and sized as image-folder finds and sizes
    them (:mod:`gankit.data.archives`). Every file is decoded once when the set is opened, to
    find its colour and to skip damaged ones (one warning), and again, a batch at a time, when
    it is measured."""

    def __init__(self, path: Path, image_size: int | None = None) -> None:
        self.archive = archives.open_archive(str(path), "gankit metrics")
        probed = image_files.read_files(list(map(self.archive.member, self.archive.names)),
                                        self.archive.path, self._probe)  # (size, grey) | None
        self.names = [name for name, seen in zip(self.archive.names, probed, strict=True)
                      if seen]
        seen = [found for found in probed if found]
        size = image_size or archives.fitted_size([size for size, _ in seen], Path(path),
                                                  "give --image-size S")
        channels = 1 if all(grey for _, grey in seen) else 3
        self.shape = (channels, size, size)

    def __len__(self) -> int:
        return len(self.names)

    def images(self, rows: Tensor) -> Tensor:
        channels, size, _ = self.shape
        return torch.from_numpy(np.stack([  # [B, C, S, S]; grey files have R = G = B
            self.archive.read(self.names[row], size, 3)[:channels] for row in rows.tolist()]))

    def _probe(self, path: Path) -> tuple[tuple[int, int], bool]:
        """A file's (width, height) and whether it is grey (R = G = B), decoding it whole so
        that a damaged file is found now, not halfway through a measurement."""
        with self.archive.open(path.relative_to(self.archive.path).as_posix()) as file:
            rgb = np.asarray(image_files.open_image(file, 3))  # [H, W, 3]
        grey = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 0] == rgb[..., 2]).all())
        return (rgb.shape[1], rgb.shape[0]), grey
