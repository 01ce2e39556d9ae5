"""The image-folder reader against awkward files: bit depths and modes checked against numpy
references, EXIF orientation, decompression bombs, symlinked folders, and caches that fail."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torch import Tensor

import gankit.data.image_files as image_files
from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS
from gankit.errors import GankitError

SIZE = 16  # files are written at data.image_size, so no resampling blurs the values compared
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601-2, PIL's grey from colour


def _load(folder: Path, **kw) -> Tensor:
    return DATASETS["image-folder"](DataConfig(name="image-folder", path=str(folder),
                                               image_size=SIZE, **kw)).images


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _grey(values: np.ndarray) -> np.ndarray:
    return np.repeat(values[..., None], 3, axis=-1)


def _over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The documented alpha rule, in exact integers: round(c * a / 255 + 255 * (1 - a / 255))."""
    numerator = rgb.astype(np.int64) * alpha[..., None] + 255 * (255 - alpha[..., None])
    return (2 * numerator + 255) // 510  # round(numerator / 255); never exactly half


# Each case writes one file and returns the 8-bit RGB it must load as, computed here in numpy.

def _sixteen_bit_png(folder: Path) -> np.ndarray:
    values = _rng().integers(0, 65536, (SIZE, SIZE), dtype=np.uint16)
    Image.fromarray(values).save(folder / "a.png")  # "I;16"
    return _grey(np.round(values.astype(np.float64) * 255 / 65535))


def _int32_tiff(folder: Path) -> np.ndarray:
    values = _rng().integers(0, 65536, (SIZE, SIZE)).astype(np.int32)
    Image.fromarray(values).save(folder / "a.tif")  # "I"
    return _grey(np.round(values.astype(np.float64) * 255 / 65535))


def _float_tiff(folder: Path) -> np.ndarray:
    values = _rng().uniform(-0.2, 1.2, (SIZE, SIZE)).astype(np.float32)  # some out of [0, 1]
    Image.fromarray(values).save(folder / "a.tif")  # "F"
    return _grey(np.round(np.clip(values.astype(np.float64), 0, 1) * 255))


def _palette(transparent: bool) -> Callable[[Path], np.ndarray]:
    def write(folder: Path) -> np.ndarray:
        rng = _rng()
        palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
        index = rng.integers(0, 16, (SIZE, SIZE), dtype=np.uint8)
        image = Image.frombytes("P", (SIZE, SIZE), index.tobytes())
        image.putpalette(palette.tobytes())
        alpha = rng.integers(0, 256, 16)
        image.save(folder / "a.png", **({"transparency": bytes(alpha.tolist())}
                                        if transparent else {}))
        return _over_white(palette[index], alpha[index]) if transparent else palette[index]
    return write


def _cmyk(fmt: str) -> Callable[[Path], np.ndarray]:
    def write(folder: Path) -> np.ndarray:
        # a JPEG is lossy: one flat colour survives it; a TIFF keeps random pixels exactly
        shape = (1, 1, 4) if fmt == "JPEG" else (SIZE, SIZE, 4)
        cmyk = np.broadcast_to(_rng().integers(0, 256, shape, dtype=np.uint8),
                               (SIZE, SIZE, 4)).copy()
        Image.frombytes("CMYK", (SIZE, SIZE), cmyk.tobytes()).save(folder / f"a.{fmt.lower()}",
                                                                   format=fmt, quality=95)
        c = cmyk.astype(np.float64)
        return np.round((255 - c[..., :3]) * (255 - c[..., 3:]) / 255)
    return write


def _one_bit_png(folder: Path) -> np.ndarray:
    bits = _rng().random((SIZE, SIZE)) > 0.5
    Image.fromarray(bits).save(folder / "a.png")  # "1"
    return _grey(bits * 255)


def _rgba_png(folder: Path) -> np.ndarray:
    rgba = _rng().integers(0, 256, (SIZE, SIZE, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(folder / "a.png")
    return _over_white(rgba[..., :3], rgba[..., 3].astype(np.int64))


def _la_png(folder: Path) -> np.ndarray:
    grey, alpha = _rng().integers(0, 256, (2, SIZE, SIZE), dtype=np.uint8)
    Image.merge("LA", [Image.fromarray(grey), Image.fromarray(alpha)]).save(folder / "a.png")
    return _grey(_over_white(grey[..., None], alpha.astype(np.int64))[..., 0])


CASES = {  # name: (writer, whether the source is colour, tolerance in grey levels)
    "16-bit grey PNG": (_sixteen_bit_png, False, 0),
    "32-bit integer TIFF": (_int32_tiff, False, 0),
    "float TIFF": (_float_tiff, False, 0),
    "palette PNG": (_palette(False), True, 0),
    "palette PNG with transparency": (_palette(True), True, 0),
    "CMYK TIFF": (_cmyk("TIFF"), True, 0),
    "CMYK JPEG": (_cmyk("JPEG"), True, 2),
    "1-bit PNG": (_one_bit_png, False, 0),
    "RGBA PNG": (_rgba_png, True, 0),
    "LA PNG": (_la_png, False, 0),
}


@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("case", list(CASES))
def test_modes_and_bit_depths_load_as_their_values(tmp_path, case, channels):
    write, colour, tolerance = CASES[case]
    rgb = write(tmp_path).astype(np.float64)  # [H, W, 3]
    # PIL's grey is fixed-point luma: a float reference can round the other way by one level
    expected = rgb.transpose(2, 0, 1) if channels == 3 else np.round(rgb @ LUMA)[None]
    tolerance += 1 if colour and channels == 1 else 0
    loaded = _load(tmp_path, channels=channels)[0].numpy().astype(np.float64)  # [C, H, W]
    assert loaded.shape == (channels, SIZE, SIZE)
    np.testing.assert_allclose(loaded, expected, rtol=0, atol=tolerance)


def test_sixteen_bit_grey_is_scaled_not_saturated(tmp_path):
    ramp = np.linspace(0, 65535, SIZE * SIZE).reshape(SIZE, SIZE).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "a.png")
    loaded = _load(tmp_path, channels=1).float()
    assert loaded.mean() == pytest.approx(127.5, abs=0.5)  # PIL's convert("L") gives ~254
    assert loaded.min() == 0 and loaded.max() == 255


@pytest.mark.parametrize(("orientation", "upright"), [(3, lambda a: np.rot90(a, 2)),
                                                      (6, lambda a: np.rot90(a, -1)),
                                                      (8, lambda a: np.rot90(a, 1))])
def test_exif_orientation_is_applied(tmp_path, orientation, upright):
    rgb = _rng().integers(0, 256, (SIZE, 2 * SIZE, 3), dtype=np.uint8)  # stored 2:1 wide
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = orientation  # the Orientation tag a phone writes instead of rotating pixels
    image.save(tmp_path / "a.png", exif=exif)
    shown = upright(rgb)
    top, left = ((shown.shape[0] - SIZE) // 2, (shown.shape[1] - SIZE) // 2)
    np.testing.assert_array_equal(_load(tmp_path)[0].permute(1, 2, 0).numpy(),
                                  shown[top:top + SIZE, left:left + SIZE])


# --- decompression bombs ------------------------------------------------------------------------


def _png_claiming(path: Path, width: int, height: int) -> None:
    """A valid 1x1 PNG whose IHDR then claims ``width`` x ``height`` (a few bytes on disk)."""
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)  # IHDR data starts after magic, length, type
    data[29:33] = struct.pack(">I", zlib.crc32(data[12:29]))  # CRC of IHDR's type and data
    path.write_bytes(bytes(data))


def _good_images(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (SIZE, SIZE), (40 * i, 0, 0)).save(folder / f"good{i}.png")


@pytest.mark.parametrize(("width", "height", "pil_limit"), [
    (40_000, 40_000, Image.MAX_IMAGE_PIXELS),  # over twice PIL's limit: PIL raises
    (10_000, 10_000, Image.MAX_IMAGE_PIXELS),  # between once and twice: PIL only warns
    (10_000, 10_000, None),  # PIL's check switched off by the user: the reader's own still holds
])
def test_decompression_bombs_are_skipped_by_name_with_the_limit(tmp_path, monkeypatch, width,
                                                                height, pil_limit):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pil_limit)
    _good_images(tmp_path, 2)
    _png_claiming(tmp_path / "bomb.png", width, height)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = _load(tmp_path)
    assert len(data) == 2
    (warning,) = caught  # PIL's own DecompressionBombWarning is not shown besides ours
    message = str(warning.message)
    assert (f"skipped 1 unreadable image file(s) of 3 in {tmp_path}: bomb.png (claims "
            f"{width * height:,} pixels, over the limit of 89,478,485") in message
    assert "\n" not in message


def test_the_bomb_limit_is_pils_default_and_just_above_it_is_refused(tmp_path):
    assert image_files.MAX_IMAGE_PIXELS == 89_478_485
    _png_claiming(tmp_path / "edge.png", image_files.MAX_IMAGE_PIXELS + 1, 1)
    with pytest.raises(GankitError, match=r"edge.png \(claims 89,478,486 pixels"):
        _load(tmp_path)


# --- what the walk finds ------------------------------------------------------------------------


def test_symlinked_folders_and_files_are_read_once_and_loops_end(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "outside"
    _good_images(data / "real", 2)
    outside.mkdir()
    Image.new("RGB", (SIZE, SIZE), (0, 0, 200)).save(outside / "c.png")
    Image.new("RGB", (SIZE, SIZE), (0, 200, 0)).save(tmp_path / "d.png")
    (data / "linked").symlink_to(outside, target_is_directory=True)
    (data / "again").symlink_to(outside, target_is_directory=True)  # the same folder twice
    (data / "d.png").symlink_to(tmp_path / "d.png")
    (data / "d-again.png").symlink_to(tmp_path / "d.png")  # the same file twice
    (outside / "back").symlink_to(data, target_is_directory=True)  # a loop
    (data / "real" / "self").symlink_to(".", target_is_directory=True)  # a loop onto itself
    found = [str(p.relative_to(data)) for p in image_files.find_images(data)]
    assert found == ["again/c.png", "d-again.png", "real/good0.png", "real/good1.png"]
    loaded = _load(data)
    assert len(loaded) == 4 and len({bytes(x.numpy()) for x in loaded}) == 4


def test_a_folder_with_nothing_readable_is_one_error_line(tmp_path):
    for i in range(7):
        (tmp_path / f"bad{i}.jpg").write_bytes(b"not an image")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the skip warning is not given besides the error
        with pytest.raises(GankitError) as raised:
            _load(tmp_path)
    message = str(raised.value)
    assert message == (f"none of the 7 image files in {tmp_path} could be read: "
                       + ", ".join(f"bad{i}.jpg (UnidentifiedImageError)" for i in range(5))
                       + " and 2 more")


# --- caches that cannot be written --------------------------------------------------------------


def _partials(root: Path) -> list[Path]:
    return list(root.rglob("*.partial"))


def _one_cache_warning(caught: list[warnings.WarningMessage], cache: Path) -> str:
    """The reason given by the one warning in ``caught``, which must be about ``cache``."""
    (warning,) = caught
    message = str(warning.message)
    assert message.startswith(f"could not write image cache {cache} (")
    assert message.endswith("); going on without it") and "\n" not in message
    return message.removeprefix(f"could not write image cache {cache} (").removesuffix(
        "); going on without it")


@pytest.mark.parametrize("blocked", ["parent is a file", "cache is a folder"])
def test_an_unwritable_cache_is_one_warning_and_the_images_still_load(tmp_path, blocked):
    _good_images(tmp_path / "faces", 3)
    if blocked == "parent is a file":
        (tmp_path / "somefile").write_text("")
        cache = tmp_path / "somefile" / "cache.safetensors"
    else:
        cache = tmp_path / "cache.safetensors"
        cache.mkdir()
    for _ in range(2):  # and again: the failed cache is not mistaken for a good one
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = _load(tmp_path / "faces", cache=str(cache))
        assert len(loaded) == 3
        reason = _one_cache_warning(caught, cache)
        assert reason == (f"File exists: {cache.parent}" if blocked == "parent is a file"
                          else "Is a directory")
        assert _partials(tmp_path) == []  # the folder case writes it fully, then cannot rename


def test_a_cache_over_the_file_size_limit_is_a_warning_and_leaves_no_partial(tmp_path):
    import resource

    folder, cache = tmp_path / "faces", tmp_path / "cache.safetensors"
    folder.mkdir()
    for i in range(8):  # 8 x 3 x 64 x 64 bytes: 98 KB of cache against a 64 KB limit
        Image.fromarray(_rng().integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(
            folder / f"{i}.png")
    limit = 64 * 1024
    script = ("import warnings; warnings.simplefilter('always'); from gankit.config import "
              "DataConfig; from gankit.data import DATASETS; print(len(DATASETS['image-folder']("
              f"DataConfig(name='image-folder', path={str(folder)!r}, image_size=64, "
              f"cache={str(cache)!r}))))")
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(image_files.__file__).parents[2]),
             "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "8"
    assert f"could not write image cache {cache} (" in run.stderr
    assert "File too large (os error 27)); going on" in run.stderr
    assert run.stderr.count("UserWarning") == 1
    assert not cache.exists() and _partials(tmp_path) == []


def test_a_cache_from_an_older_reader_is_rebuilt(tmp_path, monkeypatch):
    _good_images(tmp_path / "faces", 2)
    cache = tmp_path / "cache.safetensors"
    _load(tmp_path / "faces", cache=str(cache))
    reads = []
    original = image_files.read_image
    monkeypatch.setattr(image_files, "read_image", lambda *a: reads.append(a) or original(*a))
    _load(tmp_path / "faces", cache=str(cache))
    assert reads == []
    monkeypatch.setattr(image_files, "READER_VERSION", image_files.READER_VERSION + 1)
    _load(tmp_path / "faces", cache=str(cache))
    assert len(reads) == 2
