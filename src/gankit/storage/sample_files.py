"""Generated samples as files other tools read: one ``.npy`` array, or a folder of PNGs.

A folder of PNGs (``000000.png``, ...) is the input that clean-fid, torch-fidelity and people
read; it holds 8-bit images mapped from the generator's [-1, 1] range by the inverse of the
map that brought the data into it (``gankit.data.images``), so real and generated folders
compare like with like.

Beside either goes a small JSON file, ``OUT.json`` (``samples.npy.json``, ``pngs.json``), that
says what made them: the run, the checkpoint and step, and the command's settings
(:func:`metadata_path`). A sidecar rather than the format's own metadata because ``.npy`` has
none, and so that both outputs (and ``gankit translate``'s folders) record it one way.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from torch import Tensor

from gankit.data.images import to_uint8
from gankit.errors import GankitError
from gankit.storage.files import check_output, replace_atomically, written_in_place


def write_samples(samples: Tensor, out: Path, fmt: str, overwrite: bool = False,
                  decides: bool = False) -> Path:
    """Write ``samples`` [N, ...] to exactly ``out`` (no suffix is added) as ``fmt``, whole or
    not at all (:func:`gankit.storage.files.replace_atomically`; a device such as /dev/stdout is
    written in place); what is there is replaced only with ``overwrite``
    (:func:`gankit.storage.files.check_output`). ``decides``: they are the command's result, a
    signal after they arrive changes nothing (``replace_atomically``)."""
    if fmt == "npy":
        out = check_output(out, "file", overwrite)
        buffer = io.BytesIO()  # numpy's own file writes report a full disk without a reason
        np.save(buffer, samples.numpy())  # np.save(path) would append .npy to another suffix
        with replace_atomically(out, decides=decides) as tmp, open(tmp, "wb") as file:
            file.write(buffer.getbuffer())
        return out
    if fmt == "png-dir":
        return write_png_dir(samples, out, overwrite=overwrite, decides=decides)
    raise GankitError(f"sample format must be npy or png-dir, got {fmt!r}")


def write_png_dir(images: Tensor, folder: Path, names: list[str] | None = None,
                  overwrite: bool = False, decides: bool = False) -> Path:
    """One PNG per image of [N, C, H, W] (C = 1 grey, 3 RGB) into a new or empty ``folder``
    (with ``overwrite``, one that holds only PNGs is replaced whole), named ``names`` (relative
    paths ending in .png; default 000000.png, ...); ``decides`` as in :func:`write_samples`."""
    from PIL import Image

    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise GankitError(f"--format png-dir needs images [N, 1 or 3, H, W], these samples are "
                          f"{list(images.shape)}; use --format npy")
    folder = check_output(folder, "folder", overwrite)
    pixels = to_uint8(images).permute(0, 2, 3, 1).numpy()  # [N, H, W, C]
    digits = max(6, len(str(len(pixels) - 1)))
    names = names or [f"{i:0{digits}d}.png" for i in range(len(pixels))]
    with replace_atomically(folder, folder=True, decides=decides) as tmp:
        for name, image in zip(names, pixels, strict=True):
            mode = "L" if image.shape[2] == 1 else "RGB"
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image[..., 0] if mode == "L" else image, mode).save(tmp / name)
    return folder


def metadata_path(out: Path) -> Path | None:
    """The JSON file that records what made ``out``: ``OUT.json`` beside it; None for an
    output written in place (``/dev/stdout``), which has nowhere beside it."""
    out = Path(out)
    return None if written_in_place(out) else out.with_name(out.name + ".json")


def check_metadata(out: Path, overwrite: bool) -> None:
    """Refuse before any work a metadata file that could not be written (as ``--out``)."""
    if (path := metadata_path(out)) is not None:
        check_output(path, "file", overwrite)


def write_metadata(out: Path, record: dict[str, object]) -> Path | None:
    """Write ``record`` (the gankit version added first) to :func:`metadata_path` of ``out``."""
    from gankit import __version__
    from gankit.training.runlog import write_json

    if (path := metadata_path(out)) is not None:
        write_json(path, {"gankit_version": __version__, **record})
    return path
