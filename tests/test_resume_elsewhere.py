"""``gankit train --resume RUN --out OTHER`` (and ``gankit.load(RUN, out=OTHER)``): the run
continues in OTHER from RUN's newest checkpoint, exactly as it would in RUN, and RUN is left
as it was, byte for byte."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

import gankit
from conftest import assert_identical, tiny_dict
from gankit.commandline.cli import main
from gankit.training.checkpoint import checkpoint_dir, list_checkpoints, load_checkpoint


def listing(root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every file and folder under ``root``: its bytes (files) and its modification time."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            out[str(path.relative_to(root))] = (
                path.read_bytes() if path.is_file() else None, path.stat().st_mtime_ns)
    out["."] = (None, root.stat().st_mtime_ns)
    return out


@pytest.fixture
def run_a(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(train={"steps": 3})))
    run_dir = tmp_path / "a"
    assert main(["train", str(config), "--out", str(run_dir), "--no-progress"]) == 0
    return run_dir


def assert_same_checkpoint(one: Path, other: Path) -> None:
    tensors_1, state_1 = load_checkpoint(one)
    tensors_2, state_2 = load_checkpoint(other)
    assert_identical(tensors_1, tensors_2)
    assert state_1["step"] == state_2["step"] and state_1["optimizers"] == state_2["optimizers"]
    assert state_1["config"] == state_2["config"]


def test_resume_with_out_continues_in_out_and_leaves_the_run_untouched(run_a, tmp_path):
    in_place = shutil.copytree(run_a, tmp_path / "in-place")
    before = listing(run_a)
    b = tmp_path / "b"
    argv = ["train", "--resume", str(run_a), "--out", str(b), "--set", "train.steps=5",
            "--no-progress"]
    assert main(argv) == 0
    assert listing(run_a) == before
    assert yaml.safe_load((b / "config.yaml").read_text())["train"]["steps"] == 5
    assert [p.name for p in list_checkpoints(b)] == ["step-0000005"]
    assert (b / "eval.json").is_file() and (b / "metrics.jsonl").is_file()
    assert main(["train", "--resume", str(in_place), "--set", "train.steps=5",
                 "--no-progress"]) == 0
    assert_same_checkpoint(checkpoint_dir(b, 5), checkpoint_dir(in_place, 5))


def test_resume_with_out_in_the_api_is_the_same(run_a, tmp_path):
    b = tmp_path / "b"
    assert main(["train", "--resume", str(run_a), "--out", str(b), "--set", "train.steps=5",
                 "--no-progress"]) == 0
    before = listing(run_a)
    run = gankit.load(run_a, ["train.steps=5"], progress=False, out=tmp_path / "c")
    assert run.step == 3 and run.run_dir == tmp_path / "c"
    run.fit()
    assert listing(run_a) == before
    assert_same_checkpoint(checkpoint_dir(b, 5), checkpoint_dir(tmp_path / "c", 5))


def test_out_naming_the_run_itself_is_a_plain_resume(run_a):
    spelled = run_a / ".." / run_a.name
    assert main(["train", "--resume", str(run_a), "--out", str(spelled), "--set",
                 "train.steps=4", "--no-progress"]) == 0
    assert [p.name for p in list_checkpoints(run_a)] == ["step-0000003", "step-0000004"]


@pytest.mark.parametrize("kind", ["another run", "a file", "inside the run"])
def test_out_that_cannot_take_the_run_is_one_line(run_a, tmp_path, capsys, kind):
    other = {"another run": tmp_path / "other", "a file": tmp_path / "file",
             "inside the run": run_a / "more"}[kind]
    if kind == "another run":
        shutil.copytree(run_a, other)
    if kind == "a file":
        other.write_text("x")
    before = listing(run_a)
    capsys.readouterr()
    assert main(["train", "--resume", str(run_a), "--out", str(other), "--set",
                 "train.steps=5", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(other) in err[0], err
    assert {"another run": "already holds a run", "a file": "is a file",
            "inside the run": "inside"}[kind] in err[0]
    assert listing(run_a) == before
