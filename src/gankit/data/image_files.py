"""Reading a researcher's own image files: finding them in a folder, decoding each to 8-bit
grey or RGB and fitting it to a square, skipping damaged files with one warning that names
them, and caching the result as one safetensors file.

Shared by every loader of files (``image-folder``, the paired and unpaired translation folders)
and by ``gankit translate``, so all read a file alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

import numpy as np
import torch
from torch import Tensor

from gankit.configuration.schema import DataConfig
from gankit.errors import ConfigError, GankitError

if TYPE_CHECKING:
    from PIL.Image import Image

T = TypeVar("T")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# PIL's default Image.MAX_IMAGE_PIXELS, where it only warns (it refuses at twice that): a header
# claiming more is refused before decoding, whatever the user's PIL setting, since a small file
# can claim gigapixels and decoding it would exhaust memory
MAX_IMAGE_PIXELS = 89_478_485
PROGRESS_FROM = 2000  # files: fewer are read in about a second, with no bar
# bump when to_8bit or read_image change what a file becomes, so older caches are rebuilt
READER_VERSION = 2


def read_input_images(path: Path, size: int, channels: int) -> tuple[Tensor, list[str]]:
    """The image file ``path``, or every image under the folder ``path``, as uint8 [N,
    channels, size, size] (read as image-folder reads, center-cropped), with each one's path
    relative to the folder (``sub/cat.jpg``), for ``gankit translate``. Damaged files are
    skipped and reported in one warning; none readable is one error."""
    path = Path(path)
    if path.is_file():
        files, folder = [path], path.parent
    elif path.is_dir():
        files, folder = find_images(path), path
        if not files:
            raise GankitError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
    else:
        raise GankitError(f"--input {path}: no such file or folder")
    read = read_files(files, folder, lambda file: read_image(file, size, channels))
    kept = [(file, image) for file, image in zip(files, read, strict=True) if image is not None]
    names = [file.relative_to(folder).as_posix() for file, _ in kept]
    return torch.from_numpy(np.stack([image for _, image in kept])), names


def user_folder(config: DataConfig, name: str, holds: str) -> Path:
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


def stack_read(arrays: list[np.ndarray | None]) -> Tensor:
    """The arrays that were read (not None), stacked into one uint8 tensor."""
    return torch.from_numpy(np.stack([a for a in arrays if a is not None]))


def cached(config: DataConfig, files: list[Path], build: Callable[[], dict[str, Tensor]],
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


def read_files(files: list[Path], folder: Path, read: Callable[[Path], T], note: str = "",
               progress: str = "reading images") -> list[T | None]:
    """``read(path)`` for each of ``files`` (under ``folder``), None for a file that is damaged
    or refused: those are skipped and reported in one warning (count, names, reasons, then
    ``note``), and when no file can be read that is one error line. Many files show a progress
    bar named ``progress``."""
    from tqdm.auto import tqdm

    results, bad = [], []
    for path in tqdm(files, desc=progress, unit="file", leave=False,
                     disable=len(files) < PROGRESS_FROM):
        try:
            results.append(read(path))
        except (OSError, ValueError, SyntaxError) as err:  # what PIL raises for damaged files
            reason = str(err) if isinstance(err, Refused) else type(err).__name__
            bad.append(f"{path.relative_to(folder)} ({reason})")
            results.append(None)
    if len(bad) == len(files):
        raise GankitError(f"none of the {len(files)} image files in {folder} could be read: "
                          f"{listing(bad)}")
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable image file(s) of {len(files)} in "
                      f"{folder}: {listing(bad)}{note}", stacklevel=3)
    return results


def listing(failures: list[str]) -> str:
    """The first five ``name (reason)`` entries and how many more, so that the skip warning
    and the nothing-readable error stay one line however many files fail."""
    more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
    return ", ".join(failures[:5]) + more


def find_images(folder: Path) -> list[Path]:
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


class Refused(ValueError):
    """A file refused on purpose rather than damaged; its message is the reason listed."""


def _too_many_pixels(pixels: int) -> Refused:
    return Refused(f"claims {pixels:,} pixels, over the limit of {MAX_IMAGE_PIXELS:,} "
                    "against decompression bombs")


def read_image(path: Path | IO[bytes], size: int, channels: int) -> np.ndarray:
    """One file (a path or an open file) as uint8 [C, size, size]: upright (EXIF
    orientation), 8-bit, resized, cropped."""
    return fit_square(open_image(path, channels), size)


def open_image(path: Path | IO[bytes], channels: int) -> Image:
    """One file (a path, or an open file such as a zip archive's member) as an upright (EXIF
    orientation) 8-bit "L" or "RGB" image, refusing a decompression bomb before it is
    decoded."""
    from PIL import ImageOps

    with opened(path) as image:
        return to_8bit(ImageOps.exif_transpose(image), channels)


@contextmanager
def opened(path: Path | IO[bytes]) -> Iterator[Image]:
    """PIL's image of one file with its header read and its pixels not yet decoded; a header
    claiming more than :data:`MAX_IMAGE_PIXELS` is refused (:class:`Refused`)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            # PIL warns between its limit and twice it; the check below refuses those instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_IMAGE_PIXELS:  # header only, not decoded
                    raise _too_many_pixels(image.width * image.height)
                yield image
    except Image.DecompressionBombError as err:  # PIL's own refusal, before ours can look
        claimed = re.search(r"\((\d+) pixels\)", str(err))
        raise (_too_many_pixels(int(claimed[1])) if claimed else Refused(str(err))) from err


def fit_square(image: Image, size: int) -> np.ndarray:
    """An "L" or "RGB" image as uint8 [C, size, size]: the shorter side resized to ``size``
    (Lanczos), the longer one center-cropped."""
    from PIL import Image

    scale = size / min(image.size)
    width, height = (max(size, round(s * scale)) for s in image.size)
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    left, top = (width - size) // 2, (height - size) // 2
    array = np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def to_8bit(image: Image, channels: int) -> Image:
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

    # a temporary file of this process's own: torchrun's processes may all build it at once
    from gankit.storage.files import replace_atomically

    try:
        with replace_atomically(path) as tmp:
            save_file({key: t.contiguous() for key, t in tensors.items()}, str(tmp),
                      {"fingerprint": fingerprint})
    except (OSError, SafetensorError) as err:
        warnings.warn(f"could not write image cache {path} ({_why(err, path)}); "
                      "going on without it", stacklevel=3)


def _why(err: Exception, *own: Path) -> str:
    """An OS error's reason, naming the file only when it is not one of ``own`` (the message
    names those already): ``File exists: data/notes`` for a file where a folder must go."""
    if not isinstance(err, OSError) or not err.strerror:
        return str(err)
    named = err.filename is not None and Path(err.filename) not in own
    return f"{err.strerror}: {err.filename}" if named else err.strerror


def stored_form(path: Path) -> tuple[bool, tuple[int, int]]:
    """Whether the file holds colour (RGB, palette, CMYK, ...) rather than grey ("1", "L",
    16-bit or float grey), and its (width, height), from its header alone, without decoding
    the pixels."""
    from PIL import Image, ImageMode

    with Image.open(path) as image:
        return ImageMode.getmode(image.mode).basemode != "L", image.size
