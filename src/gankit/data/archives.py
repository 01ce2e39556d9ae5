"""Where a researcher's images lie: a folder, or a zip archive as StyleGAN2-ADA's
``dataset_tool.py`` writes it (image files at any depth, and optionally ``dataset.json`` at the
top, ``{"labels": [[name, class], ...]}``). Both are read alike, one named member at a time, so
that ``image-folder`` can hold them all decoded (:mod:`gankit.data.images`) or read them as
training goes (:mod:`gankit.data.streaming`).

Before any work a loader checks what it was given (:func:`open_archive`), reads every image's
header (:func:`scan`: unreadable files are skipped with one warning, none readable is one
error) and, without ``data.image_size``, keeps the images' own size or says in one line what it
fits them to (:func:`fitted_size`).
"""

from __future__ import annotations

import io
import json
import math
import os
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np
import torch
from torch import Tensor

from gankit.data import image_files
from gankit.errors import ConfigError, GankitError

LABELS_FILE = "dataset.json"  # StyleGAN2-ADA's labels: {"labels": [[name, class], ...] | null}
LARGEST_SIZE = 1024  # data.image_size's bound: a fitted size never exceeds it


@contextmanager
def damaged_member() -> Iterator[None]:
    """A zip member that fails its CRC or does not inflate, as the OSError that the readers
    skip with one warning (:func:`gankit.data.image_files.read_files`), not a traceback."""
    try:
        yield
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise OSError(f"damaged zip member: {err}") from None


class ImageArchive:
    """The image files of a folder or a zip archive, by their names relative to it
    (``sub/cat.png``), sorted; each process opens its own zip handle (:meth:`open`)."""

    def __init__(self, path: Path, names: list[str], is_zip: bool) -> None:
        self.path, self.names, self.is_zip = path, names, is_zip
        self._zip: zipfile.ZipFile | None = None
        self._zip_pid = 0  # the process that opened _zip

    def __getstate__(self) -> dict[str, object]:
        """Pickled for a DataLoader worker without the handle: it opens its own."""
        return {**self.__dict__, "_zip": None, "_zip_pid": 0}

    def open(self, name: str, whole: bool = True) -> IO[bytes]:
        """The file ``name`` of the archive, for reading: a zip member decompressed whole, or
        with ``whole`` False as a stream that is decompressed only as far as it is read (a
        header). A zip handle inherited over fork would share its file offset with the
        parent's, so each process opens the zip anew."""
        if not self.is_zip:
            return open(self.path / name, "rb")  # noqa: SIM115 (the caller closes it)
        if self._zip is None or self._zip_pid != os.getpid():
            self._zip, self._zip_pid = zipfile.ZipFile(self.path), os.getpid()
        with damaged_member():
            return io.BytesIO(self._zip.read(name)) if whole else self._zip.open(name)

    def read(self, name: str, size: int, channels: int) -> np.ndarray:
        """One image as uint8 [channels, size, size], read as image-folder reads a file
        (:func:`gankit.data.image_files.read_image`)."""
        with self.open(name) as file:
            return image_files.read_image(file, size, channels)

    def header_size(self, name: str) -> tuple[int, int]:
        """(width, height) from the header alone (a zip member is not decompressed past it);
        a damaged header or a decompression bomb raises as
        :func:`gankit.data.image_files.read_files` expects."""
        with damaged_member(), self.open(name, whole=False) as file, \
                image_files.opened(file) as image:
            return image.size

    def member(self, name: str) -> Path:
        """``name`` as a path under the archive, for messages and fingerprints."""
        return self.path / name

    def fingerprint_files(self) -> list[Path]:
        """The files whose names, sizes and times say whether a cache of this archive is
        stale: the zip, or the folder's images and labels file."""
        if self.is_zip:
            return [self.path]
        labels = self.path / LABELS_FILE
        return [*map(self.member, self.names), *([labels] if labels.is_file() else [])]

    def labels(self, names: list[str]) -> tuple[Tensor | None, int]:
        """The class of each of ``names`` (int64 [N]) from ``dataset.json`` and the number of
        classes, or (None, 0) when there is none or it says ``"labels": null``."""
        where = f"{LABELS_FILE} in {self.path}"
        try:
            with self.open(LABELS_FILE) as file:
                given = json.load(file).get("labels")
        except (FileNotFoundError, KeyError):  # a folder's missing file; a zip's missing member
            return None, 0
        except (OSError, ValueError, AttributeError) as err:
            raise GankitError(f"{where} is not a JSON object with \"labels\" ({err})") from None
        if given is None:
            return None, 0
        try:
            by_name = {str(name): label for name, label in given}
        except (TypeError, ValueError):
            raise GankitError(f"{where}: \"labels\" must be a list of [name, class] pairs"
                              ) from None
        bad = [v for v in by_name.values()
               if not isinstance(v, int) or isinstance(v, bool) or v < 0]
        if bad:
            raise GankitError(f"{where}: labels must be class numbers (int >= 0), got "
                              f"{bad[0]!r}")
        missing = [name for name in names if name not in by_name]
        if missing:
            raise GankitError(f"{where} gives no label for {len(missing)} of the {len(names)} "
                              f"images (first: {missing[0]})")
        labels = torch.tensor([by_name[name] for name in names], dtype=torch.int64)
        return labels, int(labels.max()) + 1


def open_archive(path: str, name: str = "image-folder") -> ImageArchive:
    """``data.path`` as a folder or zip archive of images: a missing path, a file that is not
    a readable zip, or no image file in either is one error line, before any work."""
    if not path:
        raise ConfigError(f"data.name {name} needs data.path, a folder of images or a zip "
                          f"archive of them")
    where = Path(path)
    suffixes = ", ".join(sorted(image_files.IMAGE_SUFFIXES))
    if where.is_dir():
        names = [file.relative_to(where).as_posix() for file in image_files.find_images(where)]
        if not names:
            raise GankitError(f"no image files ({suffixes}) in {where}")
        return ImageArchive(where, names, is_zip=False)
    if not where.is_file():
        raise ConfigError(f"data.path {where} is not a folder or a zip archive")
    try:
        with zipfile.ZipFile(where) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError) as err:
        raise GankitError(f"data.path {where} is not a readable zip archive ({err})") from None
    names = sorted(member for member in members if not member.endswith("/")
                   and Path(member).suffix.lower() in image_files.IMAGE_SUFFIXES)
    if not names:
        raise GankitError(f"no image files ({suffixes}) in the zip archive {where}")
    return ImageArchive(where, names, is_zip=True)


def scan(archive: ImageArchive) -> tuple[list[str], list[tuple[int, int]]]:
    """The names of the images whose header reads, and their (width, height): unreadable ones
    are skipped with one warning, none readable is one error
    (:func:`gankit.data.image_files.read_files`)."""
    sizes = image_files.read_files(list(map(archive.member, archive.names)), archive.path,
                                   lambda path: archive.header_size(_name(archive, path)),
                                   progress="reading image headers")
    kept = [(name, size) for name, size in zip(archive.names, sizes, strict=True)
            if size is not None]
    return [name for name, _ in kept], [size for _, size in kept]


def _name(archive: ImageArchive, path: Path) -> str:
    return path.relative_to(archive.path).as_posix()


def fitted_size(sizes: list[tuple[int, int]], where: Path, choose: str = "set data.image_size"
                ) -> int:
    """The side the images take without ``data.image_size``: their own when all share one
    square size; else the largest power of two within every image's shorter side (no image is
    upscaled, and convolutional networks take powers of two), said in one warning line that
    ends in how to ``choose`` another."""
    distinct = sorted(set(sizes))
    (width, height), smallest = distinct[0], min(min(size) for size in distinct)
    if len(distinct) == 1 and width == height and 4 <= width <= LARGEST_SIZE:
        return width
    if smallest < 4:
        raise GankitError(f"the images in {where} are as small as {smallest} px; image-folder "
                          f"needs at least 4 px a side")
    size = min(2 ** int(math.log2(smallest)), LARGEST_SIZE)
    what = (f"{len(distinct)} sizes ({width}x{height} to {'x'.join(map(str, distinct[-1]))})"
            if len(distinct) > 1 else f"one size, {width}x{height}")
    warnings.warn(f"the {len(sizes)} images in {where} have {what}; fitting them to "
                  f"{size}x{size} px (the largest power of two within the smallest side, "
                  f"{smallest} px); {choose} to choose another", stacklevel=3)
    return size
