"""A feature space fitted to one's own images (gankit.metrics.learned, ``gankit features fit``):
save and load, determinism, the file's record, its refusals, and ``--features FILE`` /
``data.features`` in ``gankit eval``, the API and training snapshots."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from conftest import one_error_line, tiny_dict
from gankit.commandline.cli import main
from gankit.data.images import ImageDataset
from gankit.errors import GankitError
from gankit.evaluation.features import feature_extractor
from gankit.metrics import learned

FEATURE_METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")


def _colour_images(n: int, side: int = 16, seed: int = 0) -> torch.Tensor:
    """uint8 [n, 3, side, side]: a coloured square on a coloured ground, varied by seed."""
    rng = np.random.default_rng(seed)
    images = np.empty((n, 3, side, side), np.uint8)
    for i in range(n):
        images[i] = rng.integers(0, 256, 3, dtype=np.uint8)[:, None, None]
        x, y, w = *rng.integers(0, side // 2, 2), side // 2
        images[i, :, y:y + w, x:x + w] = rng.integers(0, 256, 3, dtype=np.uint8)[:, None, None]
    return torch.from_numpy(images)


@pytest.fixture(scope="module")
def fitted() -> learned.LearnedFeatures:
    return learned.fit(_colour_images(40), steps=3, seed=1, batch_size=16, data="squares",
                       progress=False)


@pytest.fixture(scope="module")
def feature_file(fitted, tmp_path_factory) -> Path:
    return learned.save(fitted, tmp_path_factory.mktemp("features") / "squares.safetensors")


def test_save_load_round_trip_gives_equal_features_and_the_record(fitted, feature_file):
    loaded = learned.load(feature_file)
    x = _colour_images(12, seed=5).float() / 127.5 - 1
    torch.testing.assert_close(loaded.features(x), fitted.features(x), rtol=0, atol=0)
    assert loaded.features(x).shape == (12, learned.WIDTHS[-1])
    assert loaded.features(x).dtype == torch.float32
    assert loaded.image_shape == (3, 16, 16) and loaded.name == fitted.name
    assert loaded.name == f"learned-{loaded.digest[:12]}"
    import gankit

    assert loaded.fitted == {"data": "squares", "n": 40, "image_shape": [3, 16, 16], "steps": 3,
                             "seed": 1, "batch_size": 16, "method": "simclr",
                             "gankit": gankit.__version__}
    assert gankit.fit_features is learned.fit


def test_fitting_is_deterministic_by_seed(fitted):
    images = _colour_images(40)
    again = learned.fit(images, steps=3, seed=1, batch_size=16, progress=False)
    other = learned.fit(images, steps=3, seed=2, batch_size=16, progress=False)
    assert again.digest == fitted.digest
    assert other.digest != fitted.digest


def test_nt_xent_matches_the_papers_formula():
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    u = torch.nn.functional.normalize(z, dim=1)
    sim = (u @ u.T / learned.TEMPERATURE).double()
    n, losses = 3, []
    for i in range(6):  # Chen et al. 2020, eq. 1, anchor i with positive j
        j = (i + n) % 6
        others = [k for k in range(6) if k != i]
        losses.append(-(sim[i, j] - torch.logsumexp(sim[i, others], 0)))
    assert learned.nt_xent(z).item() == pytest.approx(torch.stack(losses).mean().item(),
                                                        rel=1e-5)


def test_augmented_views_keep_shape_and_range_and_follow_the_seed():
    x = _colour_images(8).float() / 127.5 - 1
    a = learned.augment(x, torch.Generator().manual_seed(3))
    b = learned.augment(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and a.min() >= -1 and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, x)


@pytest.mark.parametrize("content, why", [
    (b"not a safetensors file at all", "not a gankit feature file"),
    (None, "format is not gankit-features/1"),
])
def test_a_corrupt_or_foreign_file_is_one_line(tmp_path, capsys, content, why):
    path = tmp_path / "bad.safetensors"
    if content is None:  # a valid safetensors file of something else
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(GankitError, match=why) as raised:
        learned.load(path)
    assert "\n" not in str(raised.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(GankitError, match=r"^no feature file .*missing.safetensors \(write one"):
        learned.load(tmp_path / "missing.safetensors")


def test_tampered_weights_are_refused(feature_file, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(feature_file), framework="pt") as file:
        tensors = {k: file.get_tensor(k) for k in file.keys()}
        metadata = file.metadata()
    key = sorted(tensors)[0]
    tensors[key] = tensors[key] + 1
    save_file(tensors, tmp_path / "t.safetensors", metadata=metadata)
    with pytest.raises(GankitError, match="do not match their digest"):
        learned.load(tmp_path / "t.safetensors")


def test_a_file_fitted_on_other_images_is_refused_naming_both_shapes(feature_file):
    grey = ImageDataset("digits", torch.zeros(4, 1, 16, 16, dtype=torch.uint8), n_classes=0)
    with pytest.raises(GankitError, match=r"fitted on 3x16x16 images, but data digits holds "
                                          r"1x16x16") as raised:
        feature_extractor(grey, str(feature_file))
    assert "\n" not in str(raised.value)


def test_the_digit_classifier_on_colour_images_warns():
    colour = ImageDataset("image-folder", torch.zeros(4, 3, 16, 16, dtype=torch.uint8))
    with pytest.warns(UserWarning, match="digit classifier"):
        feature_extractor(colour, "digits")
    digits = ImageDataset("mnist5k", torch.zeros(4, 1, 28, 28, dtype=torch.uint8),
                          torch.zeros(4, dtype=torch.long), n_classes=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feature_extractor(digits, "digits")


def test_a_registered_name_wins_over_a_file_of_that_name(tmp_path, monkeypatch):
    from gankit.metrics.digits import ChannelwiseClassifier

    monkeypatch.chdir(tmp_path)
    (tmp_path / "digits").write_text("not features")
    digits = ImageDataset("mnist5k", torch.zeros(4, 1, 28, 28, dtype=torch.uint8),
                          torch.zeros(4, dtype=torch.long), n_classes=10)
    assert isinstance(feature_extractor(digits, "digits"), ChannelwiseClassifier)


def test_features_must_name_a_space_or_a_file(capsys, tmp_path):
    line = one_error_line(capsys, ["eval", str(tmp_path), "--features", "vgg"])
    assert "'vgg'" in line and "safetensors" in line
    from gankit.configuration.resolve import build_config
    from gankit.errors import ConfigError

    with pytest.raises(ConfigError, match="data.features must be"):
        build_config(tiny_dict(data={"name": "mnist5k", "features": "vgg"}))


# --- end to end: a folder of one's own images ------------------------------------------------

IMAGES = {"name": "image-folder", "image_size": 16, "batch_size": 8, "n_eval": 20}
MODEL = {"name": "dcgan", "latent_dim": 8, "g_hidden": 4, "d_hidden": 4, "g_batchnorm": True,
         "d_norm": "batch"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    for i, image in enumerate(_colour_images(30, seed=7)):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(root / f"{i}.png")
    return root


def _write_config(path: Path, folder: Path, **data) -> Path:
    config = tiny_dict(data={**IMAGES, "path": str(folder), **data}, model=MODEL,
                       train={"steps": 2, "plot_every": 2})
    path.write_text(yaml.safe_dump(config))
    return path


def test_cli_fits_features_then_eval_measures_a_run_in_them(folder, tmp_path, capsys):
    out = tmp_path / "shapes.safetensors"
    assert main(["features", "fit", str(folder), "--out", str(out), "--steps", "2",
                 "--batch-size", "8", "--image-size", "16", "--no-progress"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["image_shape"] == [3, 16, 16] and record["n"] == 30
    assert record["data"] == str(folder.resolve()) and out.is_file()
    run_dir = tmp_path / "run"
    config = _write_config(tmp_path / "c.yaml", folder)
    assert main(["train", str(config), "--out", str(run_dir), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "has no feature space: snapshots measure no image metrics" in err
    assert "data.features" in err
    assert main(["eval", str(run_dir), "--features", str(out)]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["features"] == learned.load(out).name and metrics["n"] == 20
    for key in FEATURE_METRICS:
        assert np.isfinite(metrics[key]), key
    # the same in the API
    import gankit

    run = gankit.load(run_dir, progress=False)
    assert run.evaluate(features=str(out))["fid"] == pytest.approx(metrics["fid"], rel=1e-5)


def test_snapshots_measure_in_the_configured_feature_file(folder, feature_file, tmp_path,
                                                          capsys):
    run_dir = tmp_path / "run"
    config = _write_config(tmp_path / "c.yaml", folder, features=str(feature_file))
    assert main(["train", str(config), "--out", str(run_dir), "--no-progress"]) == 0
    assert "no feature space" not in capsys.readouterr().err
    written = json.loads((run_dir / "eval.json").read_text())  # the run's own record
    assert written["features"] == learned.load(feature_file).name
    for key in FEATURE_METRICS:
        assert key in written, key


def test_a_run_whose_feature_file_is_gone_still_loads_and_samples(folder, feature_file,
                                                                 tmp_path, capsys):
    moved = tmp_path / "features.safetensors"
    moved.write_bytes(feature_file.read_bytes())
    run_dir = tmp_path / "run"
    config = _write_config(tmp_path / "c.yaml", folder, features=str(moved))
    assert main(["train", str(config), "--out", str(run_dir), "--no-progress"]) == 0
    moved.unlink()
    capsys.readouterr()
    assert main(["sample", str(run_dir), "--n", "4", "--out", str(tmp_path / "s.npy")]) == 0
    assert "no such file" in capsys.readouterr().err  # said once, in a warning
    assert np.load(tmp_path / "s.npy").shape[0] == 4
    assert main(["eval", str(run_dir)]) == 2  # nothing to measure in: it says what to give
    assert "gankit: error: " in (err := capsys.readouterr().err) and "--features FILE" in err


def test_a_wrong_shape_file_in_the_config_is_refused_before_anything_is_written(
        folder, feature_file, tmp_path, capsys):
    run_dir = tmp_path / "run"
    config = _write_config(tmp_path / "c.yaml", folder, features=str(feature_file),
                           image_size=8)
    line = one_error_line(capsys, ["train", str(config), "--out", str(run_dir), "--no-progress"])
    assert "3x16x16" in line and "3x8x8" in line
    assert not run_dir.exists()


def test_a_corrupt_file_given_to_eval_is_one_line(folder, tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 20)
    run_dir = tmp_path / "run"
    assert main(["train", str(_write_config(tmp_path / "c.yaml", folder)), "--out",
                 str(run_dir), "--no-progress"]) == 0
    capsys.readouterr()
    line = one_error_line(capsys, ["eval", str(run_dir), "--features", str(bad)])
    assert "not a gankit feature file" in line
    assert not list(run_dir.glob("eval-*.json"))


@pytest.mark.slow
def test_distance_grows_with_noise_in_a_fitted_space():
    """Heusel et al. 2017, Fig. 1 on a small scale: FID to clean images grows with noise."""
    from gankit.data.images import mnist5k_arrays
    from gankit.metrics.features import fid

    images = mnist5k_arrays()[0]
    space = learned.fit(images[:2000], steps=150, seed=0, progress=False)
    clean = images[2000:3000].float() / 127.5 - 1
    reference = space.features(images[3000:4000].float() / 127.5 - 1)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    distances = [fid(reference, space.features((clean + level * noise).clamp(-1, 1)))
                 for level in (0.0, 0.25, 0.5, 1.0)]
    assert distances == sorted(distances), distances


def test_features_fit_help_imports_no_torch():
    import subprocess
    import sys

    code = ("import sys; from gankit.commandline.cli import main; "
            "status = main(['features', 'fit', '--help']); "
            "print(status, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[-2:] == ["0", "False"]


def test_features_fit_refuses_points_data_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "ring.safetensors"
    line = one_error_line(capsys, ["features", "fit", "ring8", "--out", str(out)])
    assert "image data" in line and "ring8" in line
    assert not out.exists()


def test_sets_not_held_in_memory_are_fitted_at_the_shape_a_run_sees(folder):
    """A folder streamed from disk is fitted on a draw of its distinct images, and
    StackedMNIST on its three-digit examples, not on the single digits it stores."""
    from gankit.configuration.resolve import load_config
    from gankit.data import build_data

    config = load_config("image-folder", [f"data.path={folder}", "data.stream=always",
                                          "data.workers=0"])
    streamed = build_data(config.data, None)
    assert not hasattr(streamed, "images")  # nothing decoded held
    space = learned.fit(streamed, steps=1, batch_size=4, progress=False)
    assert space.image_shape == streamed.shape and space.fitted["n"] == len(streamed)
    stacked = build_data(load_config("stacked-mnist").data, None)
    space = learned.fit(stacked, steps=1, batch_size=4, progress=False)
    assert space.image_shape == (3, 28, 28)
