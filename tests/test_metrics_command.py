"""``gankit metrics A B`` and feature statistics files (issue 28): the metrics from a file
equal those from the arrays (and FID matches scipy's sqrtm), folders / .npy / .npz read alike,
and every bad input is one line with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image

import gankit.metrics.statistics as statistics
from conftest import one_error_line
from gankit.commandline.cli import main
from gankit.data.images import mnist5k_arrays, to_unit_range
from gankit.errors import GankitError
from gankit.metrics.digit_classifier import load_digit_classifier
from gankit.metrics.digits import ChannelwiseClassifier
from gankit.metrics.features import density_coverage, fid, kid, precision_recall
from gankit.metrics.statistics import (
    compare,
    kid_subset_size,
    load_statistics,
    save_statistics,
    statistics_of,
)

# --- the statistics against the metrics on the arrays ----------------------------------------


def _features(n: int, d: int = 6, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(n, d)) + shift).astype(np.float32)


def _direct(a: np.ndarray, b: np.ndarray, seed: int = 0) -> dict[str, float]:
    """The metrics computed straight from the arrays by gankit.metrics.features."""
    value, std = kid(a, b, subset_size=kid_subset_size(min(len(a), len(b))), seed=seed)
    return {"fid": fid(a, b), "kid": value, "kid_std": std, **precision_recall(a, b),
            **density_coverage(a, b)}


def test_metrics_from_statistics_equal_those_from_the_arrays(tmp_path):
    a, b = _features(80), _features(60, shift=0.5, seed=1)
    direct = _direct(a, b, seed=3)
    stats_a = statistics_of(a, "test", (1, 8, 8), seed=3)
    assert compare(stats_a, statistics_of(b, "test", (1, 8, 8)), seed=3) == \
        pytest.approx(direct, rel=1e-12, abs=1e-12)
    reloaded = load_statistics(save_statistics(stats_a, tmp_path / "a.safetensors"))
    assert compare(reloaded, statistics_of(b, "test", (1, 8, 8)), seed=3) == direct  # exact
    assert reloaded.n == 80 and reloaded.space == "test" and reloaded.image_shape == (1, 8, 8)


def test_fid_from_the_stored_moments_matches_scipy_sqrtm():
    a, b = _features(40, 4).astype(np.float64), _features(50, 4, shift=0.3, seed=2)
    mu1, mu2 = a.mean(0), b.astype(np.float64).mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b.astype(np.float64), rowvar=False)
    expected = (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    measured = compare(statistics_of(a, "t", (1,)), statistics_of(b, "t", (1,)))["fid"]
    assert measured == pytest.approx(expected, rel=1e-8)


def test_large_sets_keep_every_image_in_the_moments_and_a_seeded_subsample(monkeypatch):
    monkeypatch.setattr(statistics, "STORED_FEATURES", 30)
    a = _features(100)
    stats = statistics_of(a, "t", (1,), seed=5)
    assert stats.n == 100 and len(stats.features) == 30
    np.testing.assert_array_equal(stats.mean, a.astype(np.float64).mean(0))
    assert {tuple(row) for row in stats.features} <= {tuple(row) for row in a}
    np.testing.assert_array_equal(statistics_of(a, "t", (1,), seed=5).features, stats.features)
    assert not np.array_equal(statistics_of(a, "t", (1,), seed=6).features, stats.features)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "shapes", "nan"])
def test_a_damaged_statistics_file_is_one_line(tmp_path, damage):
    path = save_statistics(statistics_of(_features(20), "t", (1, 8, 8)), tmp_path / "s.safetensors")
    if damage == "garbage":
        path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:-40])
    else:
        from safetensors.numpy import save_file

        parts = {"mean": np.zeros(6), "covariance": np.eye(6), "features": _features(20)}
        metadata = {"format": statistics.FORMAT, "format_version": "1", "features": "t",
                    "image_shape": "[1, 8, 8]", "n": "20", "seed": "0", "gankit_version": "0"}
        if damage == "foreign":
            metadata = {}
        elif damage == "shapes":
            parts["covariance"] = np.eye(5)
        else:
            parts["mean"][2] = np.nan
        save_file(parts, str(path), metadata)
    with pytest.raises(GankitError) as err:
        load_statistics(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


# --- the command, end to end on digits ---------------------------------------------------------


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> dict[str, Path]:
    """mnist5k digits as a folder of PNGs (A), and others as .npy uint8 [N, C, H, W] and as .npz
    float in [-1, 1] [N, H, W, C] (B), with the arrays they hold."""
    root = tmp_path_factory.mktemp("sets")
    images, _ = mnist5k_arrays()  # uint8 [5000, 1, 28, 28]
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    real, fake = images[order[:60]], images[order[60:110]]
    folder = root / "real"
    folder.mkdir()
    for i, image in enumerate(real):
        Image.fromarray(image[0].numpy()).save(folder / f"{i:03d}.png")
    np.save(root / "fake.npy", fake.numpy())
    np.savez(root / "fake.npz", images=to_unit_range(fake).permute(0, 2, 3, 1).numpy(),
             labels=np.zeros(len(fake)))
    return {"folder": folder, "npy": root / "fake.npy", "npz": root / "fake.npz",
            "real": real, "fake": fake}


def _run(capsys, *argv: str) -> dict:
    capsys.readouterr()
    assert main(["metrics", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_command_gives_the_metrics_of_the_features_computed_directly(digits, capsys):
    record = _run(capsys, str(digits["folder"]), str(digits["npy"]), "--features", "digits")
    extractor = ChannelwiseClassifier(load_digit_classifier("mnist5k", "cpu"), 28)
    direct = _direct(extractor.features(to_unit_range(digits["real"])).numpy(),
                     extractor.features(to_unit_range(digits["fake"])).numpy())
    assert {k: record[k] for k in direct} == pytest.approx(direct, rel=1e-6, abs=1e-9)
    assert (record["n_a"], record["n_b"], record["features"]) == (60, 50, "digits")
    # the same images as floats in [-1, 1], channels last, in an npz of two arrays
    again = _run(capsys, str(digits["folder"]), f"{digits['npz']}:images", "--features", "digits")
    assert {k: again[k] for k in direct} == {k: record[k] for k in direct}


def test_statistics_saved_once_give_the_same_record(digits, capsys, tmp_path):
    stats, out = tmp_path / "real.safetensors", tmp_path / "m.json"
    first = _run(capsys, str(digits["folder"]), str(digits["npy"]), "--features", "digits",
                 "--save-stats", str(stats), "--out", str(out))
    assert json.loads(out.read_text()) == first
    held = load_statistics(stats)
    assert (held.n, held.space, held.image_shape) == (60, "digits", (1, 28, 28))
    from_flag = _run(capsys, str(digits["npy"]), "--stats", str(stats), "--features", "digits")
    as_a = _run(capsys, str(stats), str(digits["npy"]), "--features", "digits")
    for record in (from_flag, as_a):
        assert {k: v for k, v in record.items() if k != "a"} == \
            {k: v for k, v in first.items() if k != "a"}


def test_n_draws_that_many_images_of_each_set(digits, capsys):
    record = _run(capsys, str(digits["folder"]), str(digits["npy"]), "--features", "digits",
                  "--n", "20")
    assert (record["n_a"], record["n_b"]) == (20, 20)


def test_a_folder_of_mixed_sizes_is_fitted_as_image_folder_fits_it(tmp_path, digits, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i in range(12):
        Image.fromarray(np.full((20 + i % 2 * 8,) * 2, 7 * i, np.uint8)).save(folder / f"{i}.png")
    capsys.readouterr()
    assert main(["metrics", str(folder), str(digits["npy"]), "--features", "digits"]) == 2
    err = capsys.readouterr().err  # said: the size it fitted them to, then why they differ
    assert "2 sizes (20x20 to 28x28); fitting them to 16x16" in err and "--image-size" in err
    assert "A holds images [1, 16, 16] and B [1, 28, 28]" in err
    record = _run(capsys, str(folder), str(digits["npy"]), "--features", "digits",
                  "--image-size", "28")
    assert record["n_a"] == 12


def test_a_zip_archive_is_a_set_as_its_folder_is(tmp_path, digits, capsys):
    import zipfile

    archive = tmp_path / "digits.zip"
    with zipfile.ZipFile(archive, "w") as written:
        for file in sorted(Path(digits["folder"]).rglob("*.png")):
            written.write(file, file.relative_to(digits["folder"]).as_posix())
    from_zip = _run(capsys, str(archive), str(digits["npy"]), "--features", "digits")
    from_folder = _run(capsys, str(digits["folder"]), str(digits["npy"]), "--features", "digits")
    assert from_zip == {**from_folder, "a": str(archive)}


# --- bad input: one line, nothing written -------------------------------------------------------


def assert_refused(capsys, tmp_path, argv: list[str], expected: str) -> None:
    """Refused in one line, and neither --out nor --save-stats (where A is images) written."""
    out, stats = tmp_path / "out.json", tmp_path / "new.safetensors"
    save = [] if {"--stats", "--save-stats"} & set(argv) else ["--save-stats", str(stats)]
    line = one_error_line(capsys, ["metrics", *argv, "--out", str(out), *save])
    assert expected in line, line
    assert not out.exists() and not stats.exists()


def test_bad_sets_are_one_line_and_write_nothing(tmp_path, digits, capsys):
    npy = str(digits["npy"])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_refused(capsys, tmp_path, [str(empty), npy, "--features", "digits"], "no image files")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"not a png")
    assert_refused(capsys, tmp_path, [str(broken), npy, "--features", "digits"], "could be read")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert_refused(capsys, tmp_path, [str(text), npy, "--features", "digits"], "not an image set")
    assert_refused(capsys, tmp_path, [str(tmp_path / "missing"), npy, "--features", "digits"],
             "no such file")
    assert_refused(capsys, tmp_path, [str(digits["folder"]), npy], "--features FILE")
    assert_refused(capsys, tmp_path, [str(digits["folder"]), str(digits["npz"]), "--features",
                                "digits"], "name one")
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert_refused(capsys, tmp_path, [str(digits["folder"]), str(pickled), "--features", "digits"],
             "not a readable numpy file")
    floats = tmp_path / "wide.npy"
    np.save(floats, np.full((12, 1, 28, 28), 3.0, np.float32))
    assert_refused(capsys, tmp_path, [str(digits["folder"]), str(floats), "--features", "digits"],
             "outside [-1, 1]")


def test_bad_statistics_files_are_one_line_and_write_nothing(tmp_path, digits, capsys):
    npy = str(digits["npy"])
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\xff" * 64)
    assert_refused(capsys, tmp_path, [npy, "--stats", str(corrupt), "--features", "digits"],
             "not a readable statistics file")
    other_space = save_statistics(statistics_of(_features(20, 160), "inception", (1, 28, 28)),
                                  tmp_path / "inception.safetensors")
    assert_refused(capsys, tmp_path, [npy, "--stats", str(other_space), "--features", "digits"],
             "feature space 'inception', not 'digits'")
    other_shape = save_statistics(statistics_of(_features(20, 160), "digits", (3, 32, 32)),
                                  tmp_path / "rgb.safetensors")
    assert_refused(capsys, tmp_path, [npy, "--stats", str(other_shape), "--features", "digits"],
             "images [3, 32, 32], not [1, 28, 28]")
    assert_refused(capsys, tmp_path, [str(other_shape), npy, "--features", "digits",
                                "--save-stats", str(tmp_path / "again.safetensors")],
             "is a statistics file already")
    assert not (tmp_path / "again.safetensors").exists()
    assert_refused(capsys, tmp_path, [npy, npy, "--features", "digits", "--save-stats",
                                      str(tmp_path / "stats.npz")], "ends in .safetensors")
    same = str(tmp_path / "both.safetensors")
    line = one_error_line(capsys, ["metrics", npy, npy, "--features", "digits",
                                   "--save-stats", same, "--out", same])
    assert "both name" in line and not Path(same).exists()


def test_sets_are_read_a_batch_at_a_time(digits, tmp_path):
    from gankit.data.image_sets import open_image_set

    mapped = open_image_set(digits["npy"])
    assert isinstance(mapped.array, np.memmap)  # a .npy is mapped, not loaded
    rows = torch.tensor([3, 7, 40])
    assert torch.equal(mapped.images(rows), digits["fake"][rows])
    folder = open_image_set(digits["folder"])
    assert (len(folder), folder.shape) == (60, (1, 28, 28))  # grey PNGs: one channel
    assert torch.equal(folder.images(rows), digits["real"][rows])
    channels_last = open_image_set(Path(f"{digits['npz']}:images"))
    assert channels_last.shape == (1, 28, 28)
    assert torch.equal(channels_last.images(rows), digits["fake"][rows])  # floats round back


def test_two_statistics_files_compare_in_their_own_feature_space(digits, capsys, tmp_path):
    real, fake = tmp_path / "real.safetensors", tmp_path / "fake.safetensors"
    first = _run(capsys, str(digits["folder"]), str(digits["npy"]), "--features", "digits",
                 "--save-stats", str(real))
    _run(capsys, str(digits["npy"]), str(digits["folder"]), "--features", "digits",
         "--save-stats", str(fake))
    both = _run(capsys, str(real), str(fake))  # no --features: the files name theirs
    assert {k: v for k, v in both.items() if k not in "ab"} == \
        {k: v for k, v in first.items() if k not in "ab"}


def test_a_fitted_feature_file_is_known_by_its_weights(tmp_path, monkeypatch):
    """By the name eval records give it: a copy under another name matches, a new fit not."""
    from gankit.metrics import learned
    from gankit.metrics.statistics import feature_space_identity

    images = torch.randint(0, 256, (8, 1, 8, 8), dtype=torch.uint8)
    fitted = learned.fit(images, steps=1, batch_size=4, progress=False)
    learned.save(fitted, tmp_path / "faces.safetensors")
    learned.save(fitted, tmp_path / "copy.safetensors")
    first = feature_space_identity(str(tmp_path / "faces.safetensors"))
    assert first == fitted.name == feature_space_identity(str(tmp_path / "copy.safetensors"))
    again = learned.fit(images, steps=1, batch_size=4, seed=1, progress=False)
    learned.save(again, tmp_path / "faces.safetensors")
    assert feature_space_identity(str(tmp_path / "faces.safetensors")) != first
    monkeypatch.chdir(tmp_path)
    Path("digits").write_bytes(b"a file named like a feature space")
    assert feature_space_identity("digits") == "digits"


def test_the_device_is_chosen_as_for_eval(digits, capsys):
    on_cpu = _run(capsys, str(digits["folder"]), str(digits["npy"]), "--features", "digits",
                  "--device", "cpu")
    assert on_cpu == _run(capsys, str(digits["folder"]), str(digits["npy"]), "--features",
                          "digits")  # the default
    line = one_error_line(capsys, ["metrics", str(digits["folder"]), str(digits["npy"]),
                                   "--features", "digits", "--device", "tpu"])
    assert "--device" in line and "tpu" in line
