"""Translation data (gankit.data.two_domains, domain_folders, translation_tasks): paired and
unpaired sources, their seeded jitter, the user's folders and the built-in tasks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.ndimage import grey_dilation, grey_erosion

from gankit.configuration.resolve import load_config
from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS, HeldOut, PairedImages, UnpairedImages
from gankit.data.images import to_uint8
from gankit.errors import ConfigError, GankitError


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def edges() -> PairedImages:
    return DATASETS["edges2digits"](DataConfig(name="edges2digits"))


@pytest.fixture(scope="module")
def thin2thick() -> UnpairedImages:
    return DATASETS["thin2thick"](DataConfig(name="thin2thick"))


@pytest.fixture(scope="module")
def grey() -> PairedImages:
    return DATASETS["grey2colour"](DataConfig(name="grey2colour", load_size=40, flip=True))


@pytest.fixture(scope="module")
def mnist5k():
    return DATASETS["mnist5k"](DataConfig(name="mnist5k"))


def _positions(n: int, load: int) -> torch.Tensor:
    """uint8 [n, 3, load, load] whose pixels say where they are: channel 0 the row, 1 the
    column, 2 the example."""
    rows = torch.arange(load)[:, None].expand(load, load)
    cols = torch.arange(load)[None, :].expand(load, load)
    return torch.stack([torch.stack([rows, cols, torch.full_like(rows, i)]) for i in range(n)]
                       ).to(torch.uint8)


def _windows(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Of a batch of :func:`_positions` images: the rows [n, S], columns [n, S] and example [n]
    each was read at."""
    pixels = to_uint8(batch).long()
    return pixels[:, 0, :, 0], pixels[:, 1, 0, :], pixels[:, 2, 0, 0]


# --- the sources ---------------------------------------------------------------------------------

def test_a_pair_gets_one_crop_and_one_flip_that_vary_and_stay_inside():
    load, size, n = 12, 8, 4000
    images = _positions(5, load)
    data = PairedImages("crafted", images, images.clone(), image_size=size, flip=True)
    batch = data.sample(n, _generator())
    data.spec.check(batch)
    assert torch.equal(batch["a"], batch["b"])  # both sides read at the same window
    rows, cols, example = _windows(batch["a"])
    # every example is one square: rows consecutive, columns consecutive or mirrored
    assert torch.equal(rows, rows[:, :1] + torch.arange(size))
    mirrored = cols[:, 0] > cols[:, -1]
    left = torch.where(mirrored, cols[:, -1], cols[:, 0])
    assert torch.equal(torch.where(mirrored[:, None], cols.flip(1), cols),
                       left[:, None] + torch.arange(size))
    # the crops cover every offset that fits, and none that does not
    assert set(rows[:, 0].tolist()) == set(range(load - size + 1))
    assert set(left.tolist()) == set(range(load - size + 1))
    assert set(example.tolist()) == set(range(5))
    assert 0.45 < mirrored.float().mean() < 0.55  # n = 4000: the std of the fraction is 0.008
    # the index is the first draw, then the crops, then the coins
    generator = _generator()
    index = torch.randint(5, (n,), generator=generator)
    offsets = torch.randint(load - size + 1, (n, 2), generator=generator)
    coins = torch.randint(2, (n, 1), generator=generator)
    assert torch.equal(example, index) and torch.equal(rows[:, 0], offsets[:, 0])
    assert torch.equal(left, offsets[:, 1]) and torch.equal(mirrored, coins[:, 0].bool())


def test_no_jitter_reads_the_images_as_they_are():
    images = _positions(5, 8)
    plain = PairedImages("crafted", images, images.clone())
    assert plain.image_size == 8 and plain.shape == (3, 8, 8)
    batch = plain.sample(64, _generator(2))
    index = torch.randint(5, (64,), generator=_generator(2))
    assert torch.equal(to_uint8(batch["a"]), images[index])
    flipped = PairedImages("crafted", images, images.clone(), flip=True)
    _, cols, _ = _windows(flipped.sample(200, _generator())["a"])
    assert {tuple(c) for c in cols.tolist()} == {tuple(range(8)), tuple(range(7, -1, -1))}


def test_unpaired_draws_are_independent_on_each_side():
    images = _positions(6, 12)
    data = UnpairedImages("crafted", images, images[:4].clone(), image_size=8, flip=True)
    assert len(data) == 6 and data.spec.shape_b == (3, 8, 8) and not data.spec.paired
    batch = data.sample(2000, _generator(1))
    data.spec.check(batch)
    rows_a, cols_a, example_a = _windows(batch["a"])
    rows_b, cols_b, example_b = _windows(batch["b"])
    assert set(example_b.tolist()) == set(range(4))
    assert (example_a != example_b).float().mean() > 0.6
    assert (rows_a[:, 0] != rows_b[:, 0]).float().mean() > 0.6
    mirrored_a, mirrored_b = cols_a[:, 0] > cols_a[:, 1], cols_b[:, 0] > cols_b[:, 1]
    assert 0.4 < (mirrored_a != mirrored_b).float().mean() < 0.6
    generator = _generator(1)  # a's indices, then b's, then the jitter
    assert torch.equal(example_a, torch.randint(6, (2000,), generator=generator))
    assert torch.equal(example_b, torch.randint(4, (2000,), generator=generator))


def test_labels_follow_the_drawn_examples():
    images = _positions(6, 8)
    labels = torch.tensor([3, 1, 4, 1, 5, 9])
    paired = PairedImages("crafted", images, images.clone(), labels, n_classes=10)
    batch = paired.sample(100, _generator(4))
    paired.spec.check(batch)
    assert torch.equal(batch["label"], labels[_windows(batch["a"])[2]])
    unpaired = UnpairedImages("crafted", images, images.clone(), labels, labels.flip(0),
                              n_classes=10)
    batch = unpaired.sample(100, _generator(4))
    unpaired.spec.check(batch)
    assert torch.equal(batch["label_a"], labels[_windows(batch["a"])[2]])
    assert torch.equal(batch["label_b"], labels.flip(0)[_windows(batch["b"])[2]])


def test_sources_check_what_they_are_given():
    images = _positions(3, 8)
    with pytest.raises(ValueError, match="image_size 10 must be in"):
        PairedImages("crafted", images, images, image_size=10)
    with pytest.raises(ValueError, match="a pair needs both sides"):
        PairedImages("crafted", images, images[:2])
    with pytest.raises(ValueError, match="exactly when n_classes > 0"):
        PairedImages("crafted", images, images, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"held_b must be uint8 \[M, 3, 4, 4\]"):
        PairedImages("crafted", images, images, held_a=images[:, :, :4, :4], held_b=images,
                     image_size=4)
    with pytest.raises(GankitError, match="has no held-out split"):
        UnpairedImages("crafted", images, images).held_out()


# --- the built-in tasks --------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "keys", "shape_b", "paired"), [
    ("edges2digits", {"a", "b", "label"}, (1, 28, 28), True),
    ("thin2thick", {"a", "b", "label_a", "label_b"}, (1, 28, 28), True),
    ("grey2colour", {"a", "b"}, (3, 32, 32), True),
])
def test_built_in_batches_and_held_out_sets(name, keys, shape_b, paired, request):
    data = request.getfixturevalue({"edges2digits": "edges", "thin2thick": "thin2thick",
                                    "grey2colour": "grey"}[name])
    batch = data.sample(32, _generator(7))
    data.spec.check(batch)
    assert set(batch) == keys and data.spec.translation and data.shape_b == shape_b
    assert data.spec.paired == (name != "thin2thick")
    for side in ("a", "b"):
        assert batch[side].dtype == torch.float32
        assert -1 <= batch[side].min() < batch[side].max() <= 1
        torch.testing.assert_close(batch[side], data.sample(32, _generator(7))[side])
        assert not torch.equal(batch[side], data.sample(32, _generator(8))[side])
    held = data.held_out()
    assert isinstance(held, HeldOut) and held.paired == paired and held.a.device.type == "cpu"
    assert held.a.shape[1:] == data.shape and held.b.shape[1:] == shape_b
    assert held.a.min() >= -1 and held.b.max() <= 1


def test_edges2digits_is_the_morphological_gradient_of_mnist5k(edges, mnist5k):
    assert edges.n_classes == 10 and edges.kind == "pairs"
    assert torch.equal(edges.b, mnist5k.images) and torch.equal(edges.labels, mnist5k.labels)
    assert torch.equal(edges.held_b, mnist5k.held_out)
    assert torch.equal(edges.held_labels, mnist5k.held_out_labels)
    digits = mnist5k.images[:200, 0].numpy()  # [200, 28, 28]
    gradient = np.stack([grey_dilation(d, size=3).astype(int) - grey_erosion(d, size=3)
                         for d in digits])
    np.testing.assert_array_equal(edges.a[:200, 0].numpy(), gradient)
    assert edges.a.float().mean() > 10  # outlines, not blank


CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)  # thin2thick's structuring element


def test_thin2thick_halves_come_from_disjoint_digits_and_held_pairs_align(thin2thick, mnist5k):
    data = thin2thick
    assert data.kind == "unpaired" and len(data.a) == len(data.b) == 2000
    source = {bytes(d.numpy()): i for i, d in enumerate(mnist5k.images)}
    thick = {bytes(grey_dilation(d[0].numpy(), footprint=CROSS)): i
             for i, d in enumerate(mnist5k.images)}
    from_a = [source[bytes(d.numpy())] for d in data.a]
    from_b = [thick[bytes(d.numpy())] for d in data.b]
    assert not set(from_a) & set(from_b) and len(set(from_a) | set(from_b)) == 4000
    assert torch.equal(data.labels_a, mnist5k.labels[from_a])
    assert torch.equal(data.labels_b, mnist5k.labels[from_b])
    assert data.held_paired and torch.equal(data.held_a, mnist5k.held_out)
    expected = np.stack([grey_dilation(d[0].numpy(), footprint=CROSS) for d in mnist5k.held_out])
    np.testing.assert_array_equal(data.held_b[:, 0].numpy(), expected)
    assert data.b.float().mean() > 1.5 * data.a.float().mean()  # clearly thicker strokes
    held = data.held_out()
    assert torch.equal(held.labels_a, held.labels_b) and held.paired


def _luma(rgb: torch.Tensor) -> torch.Tensor:
    """ITU-R 601-2: L = 0.299 R + 0.587 G + 0.114 B, of uint8 [N, 3, H, W]."""
    weights = torch.tensor([0.299, 0.587, 0.114])[:, None, None]
    return (rgb.double() * weights.double()).sum(1, keepdim=True)


def test_grey2colour_pairs_a_patch_with_its_luma(grey):
    assert grey.a.shape[1:] == (1, 40, 40) and grey.b.shape[1:] == (3, 40, 40)
    # 427x640 photos halved to 213x320, squares of 40 at stride 20; the right-most fifth
    # (64 columns) of each photo holds the held-out squares, the 256 columns before it the rest
    assert len(grey) == 2 * 9 * 11 and len(grey.held_a) == 2 * 9 * 2
    # rounded luma (PIL's 16-bit fixed-point weights differ from 0.299 etc. by under 1e-5)
    assert (_luma(grey.b) - grey.a.double()).abs().max() <= 0.51
    batch = grey.sample(64, _generator(3))  # cropped and mirrored alike
    assert (_luma(to_uint8(batch["b"])) - to_uint8(batch["a"]).double()).abs().max() <= 0.51
    assert grey.b.float().std(dim=1).mean() > 5  # colour patches, not grey ones


def test_grey2colour_held_out_patches_share_no_pixel_with_training_ones():
    """Overlapping patches split at random would all share pixels with training patches; at
    32 px (stored unresized) no column of a held-out patch is a column of a training one."""
    plain = DATASETS["grey2colour"](DataConfig(name="grey2colour"))
    assert len(plain) == 2 * 12 * 15 and len(plain.held_b) == 2 * 12 * 3

    def columns(patches):
        return {tuple(column) for patch in patches for column in patch[0].T.tolist()}

    assert not columns(plain.held_b) & columns(plain.b)
    assert columns(plain.b[0:1]) & columns(plain.b[1:2])  # neighbouring patches do share


def test_sizes_and_keys_of_the_built_in_tasks():
    data = DATASETS["edges2digits"](DataConfig(name="edges2digits", image_size=16, load_size=20))
    assert data.a.shape[1:] == (1, 20, 20) and data.shape == (1, 16, 16)
    assert data.held_out().a.shape[1:] == (1, 16, 16)
    with pytest.raises(ConfigError, match="data.load_size 20 is smaller than the data set's "
                       "image size 28"):
        DATASETS["thin2thick"](DataConfig(name="thin2thick", load_size=20))
    with pytest.raises(ConfigError, match="must be at most 64"):
        DATASETS["grey2colour"](DataConfig(name="grey2colour", image_size=256))
    with pytest.raises(ConfigError, match="does not use data.path"):
        load_config("edges2digits", ["data.path=somewhere"])
    load_config("thin2thick", ["data.load_size=32", "data.flip=true"])
    load_config("edges2digits", ["data.name=paired-folder", "data.path=x", "data.image_size=8",
                                 "data.load_size=9", "data.channels=1", "data.cache=c"])


# --- the user's folders --------------------------------------------------------------------------

def _save(path: Path, pixels: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def _pixels(seed: int, size: int = 12, width: int | None = None) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, width or size, 3), dtype=np.uint8)


def _write_pairs(folder: Path, n: int, size: int = 12) -> None:
    """``A/`` and ``B/`` files of the same names, B the colour-inverted A (at the read size,
    so that no resampling stands between them); one pair in a subfolder, and half of the B
    files under another (lossless) extension."""
    for i in range(n):
        name = f"sub/p{i}" if i == 0 else f"p{i}"
        pixels = _pixels(i, size)
        _save(folder / "A" / f"{name}.png", pixels)
        _save(folder / "B" / f"{name}.{'bmp' if i % 2 else 'png'}", 255 - pixels)


def _config(name: str, folder: Path, **kw) -> DataConfig:
    return DataConfig(name=name, path=str(folder), **({"image_size": 12} | kw))


def _assert_inverted(data: PairedImages) -> None:
    """Every batch and held-out pair of a folder whose B is the inverted A is inverted."""
    batch = data.sample(64, _generator())
    data.spec.check(batch)
    assert torch.equal(to_uint8(batch["b"]), 255 - to_uint8(batch["a"]))
    assert torch.equal(data.b, 255 - data.a)


@pytest.mark.parametrize("jitter", [{}, {"image_size": 8, "flip": True}])
def test_paired_folder_of_a_and_b_pairs_by_name(tmp_path, jitter):
    _write_pairs(tmp_path, 10)
    data = DATASETS["paired-folder"](_config("paired-folder", tmp_path, load_size=12, **jitter))
    assert len(data) == 8 and len(data.held_a) == 2 and data.labels is None
    size = jitter.get("image_size", 12)
    assert data.shape == data.shape_b == (3, size, size) and data.a.shape[1:] == (3, 12, 12)
    _assert_inverted(data)
    held = data.held_out()
    # held-out pairs are resized to image_size apart, so inverted up to rounding
    assert held.paired and held.a.shape[1:] == (3, size, size)
    assert (to_uint8(held.b).int() + to_uint8(held.a).int() - 255).abs().max() <= 1


def test_paired_folder_of_side_by_side_images(tmp_path):
    for i in range(5):
        left = _pixels(i)
        _save(tmp_path / f"{i}.png", np.concatenate([left, 255 - left], axis=1))  # 24 x 12
    data = DATASETS["paired-folder"](_config("paired-folder", tmp_path, image_size=8,
                                             load_size=12, flip=True))
    assert len(data) == 4 and len(data.held_a) == 1
    _assert_inverted(data)
    grey = DATASETS["paired-folder"](_config("paired-folder", tmp_path, channels=1))
    assert grey.shape == grey.shape_b == (1, 12, 12)


def test_a_side_by_side_file_of_the_wrong_width_is_reported_by_name(tmp_path):
    for i in range(3):
        _save(tmp_path / f"{i}.png", _pixels(i, 12, 24))
    _save(tmp_path / "square.png", _pixels(9, 12, 12))
    with pytest.warns(UserWarning, match=r"skipped 1 .* of 4 .*square.png \(12x12 px, not A\|B "
                                         r"side by side"):
        data = DATASETS["paired-folder"](_config("paired-folder", tmp_path))
    assert len(data) + len(data.held_a) == 3
    (tmp_path / "only").mkdir()
    _save(tmp_path / "only" / "photo.png", _pixels(0, 12, 16))
    with pytest.raises(GankitError, match=r"none of the 1 image files .*photo.png \(16x12 px"):
        DATASETS["paired-folder"](_config("paired-folder", tmp_path / "only"))


def test_unmatched_names_are_listed_five_and_a_count(tmp_path):
    _write_pairs(tmp_path, 3)
    for i in range(6):
        _save(tmp_path / "A" / f"lonely{i}.png", _pixels(i))
    _save(tmp_path / "B" / "stray.png", _pixels(0))
    with pytest.raises(GankitError, match=r"7 file\(s\) .* A/lonely0.png, A/lonely1.png, A/"
                                          r"lonely2.png, A/lonely3.png, A/lonely4.png and 2 more"):
        DATASETS["paired-folder"](_config("paired-folder", tmp_path))
    _save(tmp_path / "A" / "p1.jpg", _pixels(1))
    with pytest.raises(GankitError, match="two files named p1"):
        DATASETS["paired-folder"](_config("paired-folder", tmp_path))


def test_damaged_files_are_skipped_with_their_pairs_and_named(tmp_path):
    _write_pairs(tmp_path, 6)
    (tmp_path / "B" / "p3.bmp").write_bytes(b"not an image")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image file\(s\) of 12 .*B/p3.bmp"
                                         r".*pairs they belong to are dropped"):
        data = DATASETS["paired-folder"](_config("paired-folder", tmp_path))
    assert len(data) + len(data.held_a) == 5
    _assert_inverted(data)
    for i in range(6):
        (tmp_path / "A" / ("sub/p0.png" if i == 0 else f"p{i}.png")).write_bytes(b"")
    with pytest.raises(GankitError, match="no pair .* has both of its files readable"), \
            pytest.warns(UserWarning, match="skipped 7"):
        DATASETS["paired-folder"](_config("paired-folder", tmp_path))


def test_folders_without_pairs_are_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match="neither subfolders A/ and B/ nor image files"):
        DATASETS["paired-folder"](_config("paired-folder", tmp_path / "empty"))
    _save(tmp_path / "half" / "A" / "x.png", _pixels(0))
    with pytest.raises(ConfigError, match="has A/ but no B/"):
        DATASETS["paired-folder"](_config("paired-folder", tmp_path / "half"))
    with pytest.raises(ConfigError, match="has no subfolder B/"):
        DATASETS["unpaired-folder"](_config("unpaired-folder", tmp_path / "half"))
    with pytest.raises(ConfigError, match="paired-folder needs data.image_size"):
        DATASETS["paired-folder"](DataConfig(name="paired-folder", path=str(tmp_path)))


@pytest.mark.parametrize("name", ["paired-folder", "unpaired-folder"])
def test_the_cache_is_reused_and_rebuilt_when_a_file_changes(tmp_path, monkeypatch, name):
    import gankit.data.image_files as image_files

    folder, cache = tmp_path / "pairs", tmp_path / "cache.safetensors"
    _write_pairs(folder, 5)
    config = _config(name, folder, cache=str(cache), load_size=14, image_size=10)
    first = DATASETS[name](config)
    assert cache.is_file()
    reads = []
    original = image_files.open_image
    monkeypatch.setattr(image_files, "open_image", lambda *a: reads.append(a) or original(*a))
    again = DATASETS[name](config)
    assert reads == [] and torch.equal(again.a, first.a) and torch.equal(again.held_b,
                                                                         first.held_b)
    _save(folder / "A" / "p2.png", _pixels(99))
    changed = DATASETS[name](config)
    assert len(reads) == 10
    assert not (torch.equal(changed.a, first.a) and torch.equal(changed.held_a, first.held_a))
    reads.clear()
    DATASETS[name](_config(name, folder, cache=str(cache), load_size=16, image_size=10))
    assert len(reads) == 10  # another size is another cache


def test_unpaired_folder_splits_each_side(tmp_path):
    for i in range(10):
        _save(tmp_path / "A" / f"x{i}.png", _pixels(i))
    for i in range(5):
        _save(tmp_path / "B" / "deep" / f"other{i}.jpg", _pixels(100 + i))
    data = DATASETS["unpaired-folder"](_config("unpaired-folder", tmp_path, load_size=14,
                                               flip=True))
    assert (len(data.a), len(data.held_a), len(data.b), len(data.held_b)) == (8, 2, 4, 1)
    assert data.kind == "unpaired" and data.n_classes == 0 and len(data) == 8
    batch = data.sample(16, _generator())
    data.spec.check(batch)
    assert set(batch) == {"a", "b"} and batch["a"].shape == (16, 3, 12, 12)
    held = data.held_out()
    assert not held.paired and held.labels_a is None and held.b.shape == (1, 3, 12, 12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_batches_are_drawn_on_the_device():
    images = _positions(5, 12)
    data = PairedImages("crafted", images, images.clone(), torch.arange(5), n_classes=5,
                        image_size=8, flip=True)
    generator = torch.Generator("cuda").manual_seed(0)
    batch = data.sample(256, generator, "cuda")
    data.spec.check(batch)
    assert batch["a"].device.type == "cuda" and torch.equal(batch["a"], batch["b"])
    assert torch.equal(batch["label"], _windows(batch["a"].cpu())[2].cuda())
