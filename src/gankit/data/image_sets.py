"""An image set given by a path, as ``gankit metrics A B`` reads it (like torch-fidelity's
inputs): a folder of image files, or a ``.npy`` / ``.npz`` array file. Every one becomes uint8
[N, C, H, W]; arrays are read without unpickling (``allow_pickle=False``).

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

import numpy as np
import torch
from torch import Tensor

from gankit.data import image_files
from gankit.data.images import to_uint8
from gankit.errors import GankitError

ARRAY_SUFFIXES = (".npy", ".npz")
CHANNELS = (1, 3)


def read_image_set(source: Path, image_size: int | None = None) -> Tensor:
    """The images of ``source`` (a folder, ``.npy``, ``.npz`` or ``FILE.npz:KEY``) as uint8
    [N, C, H, W]; anything else, or a set without images, is one error line."""
    file, key = split_key(Path(source))
    if file.is_dir():
        return read_folder(file, image_size)
    if not file.is_file():
        raise GankitError(f"{source}: no such file or folder")
    if file.suffix.lower() not in ARRAY_SUFFIXES:
        raise GankitError(f"{source}: not an image set; give a folder of images, a .npy or "
                          f".npz array, or a .safetensors statistics file")
    return images_from_array(read_array(file, key), str(source))


def split_key(source: Path) -> tuple[Path, str | None]:
    """``FILE.npz:KEY`` -> (FILE.npz, KEY); any other path -> (path, None)."""
    text = str(source)
    head, colon, key = text.rpartition(":")
    if colon and head.lower().endswith(".npz") and not source.exists():
        return Path(head), key
    return source, None


def read_array(file: Path, key: str | None) -> np.ndarray:
    """The array in a ``.npy`` file, or the one (or the named) array of a ``.npz`` file."""
    try:
        loaded = np.load(file, allow_pickle=False)
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


def images_from_array(array: np.ndarray, name: str) -> Tensor:
    """An image array (module docstring) as uint8 [N, C, H, W]."""
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4 or (array.shape[1] not in CHANNELS and array.shape[3] not in CHANNELS):
        raise GankitError(f"{name} has shape {list(array.shape)}; images must be [N, C, H, W] "
                          f"or [N, H, W, C] with C 1 or 3, or [N, H, W]")
    if array.shape[1] not in CHANNELS:
        array = array.transpose(0, 3, 1, 2)  # [N, H, W, C] -> [N, C, H, W]
    if array.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(array))
    if array.dtype.kind != "f":
        raise GankitError(f"{name} holds {array.dtype}; images must be uint8 (0..255) or "
                          f"floats in [-1, 1]")
    if array.size and (not np.isfinite(array).all() or array.min() < -1 or array.max() > 1):
        raise GankitError(f"{name} holds floats outside [-1, 1] (or non-finite); images must "
                          f"be uint8 (0..255) or floats in [-1, 1]")
    return to_uint8(torch.from_numpy(np.ascontiguousarray(array)))


def read_folder(folder: Path, image_size: int | None = None) -> Tensor:
    """Every image under ``folder`` as uint8 [N, C, S, S] (module docstring); damaged files
    are skipped with one warning, a folder without a readable image is one error line."""
    files = image_files.find_images(folder)
    if not files:
        suffixes = ", ".join(sorted(image_files.IMAGE_SUFFIXES))
        raise GankitError(f"no image files ({suffixes}) in {folder}")
    opened = [image for image in image_files.read_files(
        files, folder, lambda path: image_files.open_image(path, 3)) if image is not None]
    if image_size is None:
        sizes = sorted({image.size for image in opened})
        if len(sizes) > 1 or sizes[0][0] != sizes[0][1]:
            shown = ", ".join(f"{w}x{h}" for w, h in sizes[:4]) + (" ..." if len(sizes) > 4
                                                                    else "")
            raise GankitError(f"the images in {folder} are not all one square size ({shown}); "
                              f"give --image-size S to resize them (shorter side to S, "
                              f"center-cropped)")
        image_size = sizes[0][0]
    images = np.stack([image_files.fit_square(image, image_size) for image in opened])
    grey = (images[:, 0] == images[:, 1]).all() and (images[:, 0] == images[:, 2]).all()
    return torch.from_numpy(images[:, :1] if grey else images)  # [N, C, S, S]
