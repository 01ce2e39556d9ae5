"""docs/your-own-images.md's steps, as a new user takes them (issue 28): a folder of 200
coloured 32x32 PNGs is trained on at its own size, measured in a feature space fitted to it
(no download), and compared with the run's samples by ``gankit metrics``, with statistics
kept once. Tiny widths and step counts; the commands are the guide's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from gankit.commandline.cli import main

TINY = ["model.latent_dim=8", "model.g_hidden=8", "model.d_hidden=8", "train.steps=3",
        "train.threads=1", "train.precision=fp32", "data.batch_size=16", "data.n_eval=250"]


def write_shapes(folder: Path, count: int = 200, side: int = 32) -> Path:
    """``count`` PNGs of a coloured disc or square on a coloured ground, seeded."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        image = Image.new("RGB", (side, side), tuple(int(c) for c in rng.integers(0, 256, 3)))
        draw = ImageDraw.Draw(image)
        x, y = rng.integers(4, side // 2, 2)
        box = (int(x), int(y), int(x + side // 3), int(y + side // 3))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if i % 2 else draw.rectangle)(box, fill=fill)
        image.save(folder / f"{i:03d}.png")
    return folder


def run_cli(capsys, argv: list[str]) -> dict:
    """``gankit ARGV`` exits 0; its printed JSON result."""
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


@pytest.mark.filterwarnings("ignore:data image-folder has no feature space")
def test_a_folder_of_shapes_from_training_to_metrics(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_shapes(tmp_path / "shapes")
    sets = [arg for item in TINY for arg in ("--set", item)]
    # 1. train at the images' own 32 px (nothing upscaled to the config's size)
    run_cli(capsys, ["train", "image-folder", "--set", "data.path=shapes", *sets,
                     "--out", "runs/shapes", "--no-progress"])
    assert not Path("runs/shapes/eval.json").exists()  # no feature space: no empty record
    capsys.readouterr()
    assert main(["eval", "runs/shapes"]) == 2  # ... and eval says what to give
    assert "--features FILE" in capsys.readouterr().err
    # 2. a feature space fitted to the real images, then the run measured in it
    assert main(["features", "fit", "shapes", "--out", "shapes-features.safetensors",
                 "--steps", "2", "--batch-size", "32", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", "runs/shapes", "--features", "shapes-features.safetensors"]) == 0
    printed = capsys.readouterr()
    assert "holds 200 real images, fewer than n = 250" in printed.err  # said, in one line
    record = json.loads(printed.out)
    assert record["n"] == 250 and record["n_real"] == 200
    assert {"fid", "kid", "precision", "recall", "density", "coverage"} <= record.keys()
    # 3. any two image sets, the real set's statistics kept once
    assert main(["sample", "runs/shapes", "--n", "200", "--out", "fake.npy"]) == 0
    assert np.load("fake.npy").shape == (200, 3, 32, 32)
    features = ["--features", "shapes-features.safetensors"]
    first = run_cli(capsys, ["metrics", "shapes", "fake.npy", *features,
                             "--save-stats", "shapes-stats.safetensors"])
    again = run_cli(capsys, ["metrics", "fake.npy", "--stats", "shapes-stats.safetensors",
                             *features])
    assert first["n_a"] == first["n_b"] == 200
    for key in ("fid", "kid", "precision", "recall", "density", "coverage"):
        assert again[key] == pytest.approx(first[key], rel=1e-9, abs=1e-12), key
