"""Never a silent empty evaluation (issue 28): a run on one's own images with no feature space
is refused in one line that says what to give, and a record says how many real images its
metrics compared with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import gankit
from conftest import one_error_line
from gankit.commandline.cli import main
from gankit.errors import GankitError

IMAGES = 24  # fewer than the n_eval the run asks for


def write_folder(folder: Path, count: int = IMAGES, side: int = 8) -> Path:
    """``count`` random grey PNGs of ``side`` px."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8)).save(
            folder / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory) -> Path:
    """An image-folder run of 8 px grey images, trained 2 steps through the CLI."""
    root = tmp_path_factory.mktemp("own")
    folder = write_folder(root / "images")
    run_dir = root / "run"
    argv = ["train", "image-folder", "--out", str(run_dir), "--no-progress"]
    for item in [f"data.path={folder}", "data.image_size=8", "data.channels=1",
                 "data.batch_size=8", "data.n_eval=40", "model.latent_dim=8",
                 "model.g_hidden=8", "model.d_hidden=8", "train.steps=2", "train.threads=1",
                 "train.precision=fp32"]:
        argv += ["--set", item]
    assert main(argv) == 0
    return run_dir


def test_eval_without_a_feature_space_says_what_to_give_and_writes_nothing(folder_run, capsys,
                                                                            tmp_path):
    before = sorted(p.name for p in folder_run.iterdir())
    line = one_error_line(capsys, ["eval", str(folder_run)])
    assert "--features FILE" in line and "gankit features fit" in line and "inception" in line
    out = tmp_path / "eval.json"
    one_error_line(capsys, ["eval", str(folder_run), "--out", str(out)])
    assert not out.exists()
    assert sorted(p.name for p in folder_run.iterdir()) == before  # no eval*.json


def test_the_api_raises_instead_of_returning_an_empty_record(folder_run):
    run = gankit.load(folder_run, progress=False)
    with pytest.raises(GankitError, match="no feature space"):
        run.evaluate(20)
    with pytest.raises(GankitError, match="no feature space"):
        run.eval_record(20)


def test_the_record_says_how_many_real_images_were_used_and_warns(folder_run):
    run = gankit.load(folder_run, progress=False)
    with pytest.warns(UserWarning, match=f"holds {IMAGES} real images, fewer than n = 40"):
        record = run.eval_record(40, features="digits")
    assert record["n"] == 40 and record["n_real"] == IMAGES
    assert list(record)[:6] == ["step", "checkpoint", "n", "n_real", "features", "seed"]
    assert "fid" in record and "kid" in record


def test_digit_data_records_n_real_equal_to_n():
    run = gankit.build("digits8", ["train.threads=1", "model.g_hidden=8", "model.d_hidden=8"],
                       progress=False, snapshots=False)
    record = run.eval_record(30)
    assert record["n"] == record["n_real"] == 30


def test_toy_data_and_recipes_without_a_generator_keep_their_records(make_run):
    record = make_run().eval_record(50)
    assert "n_real" not in record and {"modes", "w1"} <= record.keys()  # n fresh draws


def test_training_without_a_feature_space_writes_no_empty_record(folder_run):
    assert not (folder_run / "eval.json").exists()  # not a record of settings alone
    curves = [json.loads(line) for line in (folder_run / "metrics.jsonl").read_text().splitlines()]
    assert not any(key.startswith("eval/") for record in curves for key in record)


def test_the_final_training_record_holds_n_real(tmp_path):
    folder = write_folder(tmp_path / "images")
    overrides = [f"data.path={folder}", "data.channels=1", "data.features=digits",
                 "data.image_size=28", "data.batch_size=8", "data.n_eval=40",
                 "model.latent_dim=8", "model.g_hidden=8", "model.d_hidden=8", "train.steps=2",
                 "train.threads=1", "train.precision=fp32"]
    with pytest.warns(UserWarning, match="digit classifier"):  # images that are not digits
        run = gankit.build("image-folder", overrides, run_dir=tmp_path / "run", progress=False)
    run.fit()
    written = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert written["n"] == 40 and written["n_real"] == IMAGES and "fid" in written
    curves = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "eval/n_real" not in curves  # a setting, not a curve


def test_resuming_a_finished_run_warns_instead_of_failing(folder_run, tmp_path, capsys):
    run_dir = shutil.copytree(folder_run, tmp_path / "run")
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"step": 2}
    assert "gankit: warning: these images have no feature space" in captured.err
