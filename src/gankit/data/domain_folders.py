"""The user's translation data: folders of domain A and domain B images (``data.path``).

- ``paired-folder`` (Pix2Pix): ``A/`` and ``B/`` files of matching names, or files that each
  hold A|B side by side (Pix2Pix's own format).
- ``unpaired-folder`` (CycleGAN): ``A/`` and ``B/`` files, of any names and counts.

Each file is read as image-folder reads one (:mod:`gankit.data.image_files`); the sources they
build, and their jitter, are in :mod:`gankit.data.two_domains`. Neither registers label facts:
what the files hold is known only once they are read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import Tensor

from gankit.configuration.schema import DataConfig
from gankit.data import image_files
from gankit.data.sources import DATASETS
from gankit.data.two_domains import (
    JITTER_KEYS,
    PairedImages,
    UnpairedImages,
    crop_and_load_sizes,
    split_pairs,
    split_unpaired,
)
from gankit.errors import ConfigError, GankitError

# A side-by-side file's width may differ from twice its height by this fraction (odd widths,
# a border); anything further is not an A|B pair.
SIDE_BY_SIDE_TOLERANCE = 0.05
FOLDER_KEYS = (*JITTER_KEYS, "channels", "path", "cache")


@DATASETS.register("paired-folder", uses=FOLDER_KEYS, pairs="paired")
def load_paired_folder(config: DataConfig) -> PairedImages:
    """Pairs from ``data.path``: its subfolders ``A/`` and ``B/`` holding files that pair by
    relative name without extension (``A/x.png`` with ``B/x.jpg``), or, without them, files
    that each hold A|B side by side (Pix2Pix's format: the left half is A). Each side is read
    as image-folder reads a file, at ``data.load_size`` (0: ``data.image_size``), with
    ``data.channels``; damaged files are skipped (with their pairs) and reported in one warning;
    ``data.cache`` holds both sides. The pairs are split 80/20 (seeded)."""
    folder = image_files.user_folder(config, "paired-folder",
                                     "a folder holding A/ and B/ or A|B images")
    crop, load = crop_and_load_sizes(config, config.image_size)
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
    return split_pairs("paired-folder", tensors["a"], tensors["b"], None, 0, config, crop, load)


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


@DATASETS.register("unpaired-folder", uses=FOLDER_KEYS, pairs="unpaired")
def load_unpaired_folder(config: DataConfig) -> UnpairedImages:
    """Images of ``data.path``'s subfolders ``A/`` and ``B/``, of any names and counts, read
    as :func:`load_paired_folder` reads a side; each domain split 80/20 (seeded), the held-out
    images unpaired."""
    folder = image_files.user_folder(config, "unpaired-folder", "a folder holding A/ and B/")
    crop, load = crop_and_load_sizes(config, config.image_size)
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
    return split_unpaired("unpaired-folder", tensors["a"], tensors["b"], config, crop, load)

