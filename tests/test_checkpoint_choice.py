"""Choosing a checkpoint (issue 29): ``--checkpoint STEP|latest|best`` or a checkpoint folder
for sample, eval, export, translate, ``train --resume`` and ``gankit.load``; the checkpoint
used is the one asked for (its weights), said on stderr and recorded in what is written."""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

import gankit
from conftest import all_tensors, assert_identical, one_error_line
from gankit.commandline.cli import main
from gankit.errors import GankitError
from gankit.training.checkpoint import checkpoint_dir, load_checkpoint
from gankit.training.runlog import write_json

STEPS = {"steps": 6, "checkpoint_every": 2, "keep_checkpoints": 3}  # checkpoints 2, 4, 6


@pytest.fixture
def run_dir(make_run, tmp_path):
    """A finished tiny run with checkpoints at steps 2, 4, 6 and a best list naming step 4."""
    run = make_run(run_dir=tmp_path / "run", train=STEPS)
    run.fit()
    entry = {"step": 4, "value": 0.5, "path": "checkpoints/step-0000004"}
    write_json(tmp_path / "run" / "best.json", {"metric": "w1", "mode": "min", "k": 1,
                                                "checkpoints": [entry]})
    return tmp_path / "run"


def g_weights(run_dir, step: int) -> dict[str, torch.Tensor]:
    """G's weights as checkpoint ``step`` holds them."""
    tensors, _ = load_checkpoint(checkpoint_dir(run_dir, step))
    return {k.removeprefix("nets.G."): v for k, v in tensors.items() if k.startswith("nets.G.")}


def assert_g_is(run: gankit.Run, run_dir, step: int) -> None:
    assert run.step == step
    assert_identical({k: v for k, v in run.recipe.nets["G"].state_dict().items()},
                     g_weights(run_dir, step))


# The ways to ask for a checkpoint, with the step each gives on the fixture's run.
CHOICES = [(["--checkpoint", "4"], 4), (["--checkpoint", "latest"], 6),
           (["--checkpoint", "best"], 4), ([], 6)]


@pytest.mark.parametrize("checkpoint, step", [(4, 4), ("2", 2), ("latest", 6), ("best", 4),
                                              (None, 6)])
def test_load_takes_the_checkpoint_asked_for(run_dir, checkpoint, step):
    run = gankit.load(run_dir, progress=False, checkpoint=checkpoint)
    assert_g_is(run, run_dir, step)
    assert run.checkpoint.step == step
    assert run.checkpoint.relative() == f"checkpoints/step-{step:07d}"


def test_load_takes_a_checkpoint_folder(run_dir):
    run = gankit.load(checkpoint_dir(run_dir, 2), progress=False)
    assert_g_is(run, run_dir, 2)
    assert run.run_dir == run_dir and run.checkpoint.how == "folder"
    # the folder with the choice it is: accepted; with another: refused
    assert gankit.load(checkpoint_dir(run_dir, 4), progress=False, checkpoint="best").step == 4
    with pytest.raises(GankitError, match=r"step 2, not the one 6 names"):
        gankit.load(checkpoint_dir(run_dir, 2), progress=False, checkpoint=6)


def test_run_restore_takes_a_choice(run_dir, make_run):
    run = make_run(run_dir=run_dir, train=STEPS).restore(2)
    assert_g_is(run, run_dir, 2)
    assert_g_is(run.restore("best"), run_dir, 4)
    assert_g_is(run.restore(checkpoint_dir(run_dir, 6)), run_dir, 6)


@pytest.mark.parametrize("flags, step", [*CHOICES, (["FOLDER"], 2)])
def test_sample_uses_and_records_the_checkpoint(run_dir, tmp_path, capsys, flags, step):
    args = [str(checkpoint_dir(run_dir, 2))] if flags == ["FOLDER"] else [str(run_dir), *flags]
    out = tmp_path / "s.npy"
    assert main(["sample", *args, "--n", "7", "--seed", "3", "--out", str(out)]) == 0
    assert f"gankit: using checkpoint step {step}" in capsys.readouterr().err
    expected = gankit.load(run_dir, progress=False, checkpoint=step).sample(7, 3)
    np.testing.assert_array_equal(np.load(out), expected.numpy())
    meta = json.loads((tmp_path / "s.npy.json").read_text())
    assert meta["step"] == step and meta["checkpoint"] == f"checkpoints/step-{step:07d}"
    assert meta["run"] == str(run_dir) and meta["n"] == 7 and meta["seed"] == 3


def test_sample_refuses_a_metadata_file_there_before_any_work(run_dir, tmp_path, capsys):
    (tmp_path / "s.npy.json").write_text("{}")
    line = one_error_line(capsys, ["sample", str(run_dir), "--out", str(tmp_path / "s.npy")])
    assert "s.npy.json" in line
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize("flags, step", CHOICES)
def test_eval_uses_and_records_the_checkpoint(run_dir, tmp_path, capsys, flags, step):
    out = tmp_path / "e.json"
    assert main(["eval", str(run_dir), *flags, "--n", "50", "--out", str(out)]) == 0
    assert f"gankit: using checkpoint step {step}" in capsys.readouterr().err
    record = json.loads(out.read_text())
    assert record["step"] == step and record["checkpoint"] == f"checkpoints/step-{step:07d}"
    run = gankit.load(run_dir, progress=False, checkpoint=step)
    assert record["w1"] == pytest.approx(run.evaluate(50)["w1"], rel=1e-12)


def test_evaluations_of_older_checkpoints_are_kept_side_by_side(run_dir, capsys):
    """Picking the best moment: eval of steps 2 and 4 (the run's newest is 6) writes one file
    each beside eval.json and leaves eval.json, the newest checkpoint's, alone."""
    before = (run_dir / "eval.json").read_text() if (run_dir / "eval.json").exists() else None
    for step in (2, 4):
        assert main(["eval", str(run_dir), "--checkpoint", str(step)]) == 0
        assert main(["eval", str(run_dir), "--checkpoint", str(step), "--n", "50"]) == 0
    for step in (2, 4):
        own = json.loads((run_dir / f"eval-step-{step:07d}.json").read_text())
        other = json.loads((run_dir / f"eval-step-{step:07d}-none-n50-seed{own['seed']}.json")
                           .read_text())
        assert own["step"] == other["step"] == step and other["n"] == 50
    after = (run_dir / "eval.json").read_text() if (run_dir / "eval.json").exists() else None
    assert after == before and "warning" not in capsys.readouterr().err
    assert main(["eval", str(run_dir)]) == 0  # the newest: the run's own record
    assert json.loads((run_dir / "eval.json").read_text())["step"] == 6

@pytest.mark.parametrize("flags, step", [*CHOICES, (["FOLDER"], 2)])
def test_export_uses_and_records_the_checkpoint(run_dir, tmp_path, capsys, flags, step):
    args = [str(checkpoint_dir(run_dir, 2))] if flags == ["FOLDER"] else [str(run_dir), *flags]
    out = tmp_path / "g.safetensors"
    assert main(["export", *args, "--format", "state_dict", "--out", str(out)]) == 0
    assert f"gankit: using checkpoint step {step}" in capsys.readouterr().err
    assert_identical(load_file(out), g_weights(run_dir, step))
    with safe_open(out, "pt") as f:
        meta = f.metadata()
    assert meta["step"] == str(step) and meta["checkpoint"] == f"checkpoints/step-{step:07d}"
    assert meta["run"] == str(run_dir)  # as the samples' metadata (review of issue 29)


def test_translate_uses_and_records_the_checkpoint(tmp_path, capsys):
    from gankit.data.images import to_uint8
    from test_translation import TINY_TRAIN, tiny_run

    run = tiny_run("thin2thick", run_dir=tmp_path / "run",
                   train={**TINY_TRAIN, "checkpoint_every": 1, "keep_checkpoints": 3})
    run.fit(2)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (12, 12), np.uint8)).save(
        tmp_path / "in.png")
    for name, flags, step in [("one", ["--checkpoint", "1"], 1), ("two", [], 2),
                              ("folder", "FOLDER", 1)]:
        args = ([str(checkpoint_dir(tmp_path / "run", 1))] if flags == "FOLDER"
                else [str(tmp_path / "run"), *flags])
        assert main(["translate", *args, "--input", str(tmp_path / "in.png"), "--out",
                     str(tmp_path / name)]) == 0
        assert f"gankit: using checkpoint step {step}" in capsys.readouterr().err
        meta = json.loads((tmp_path / f"{name}.json").read_text())
        assert meta["step"] == step and meta["checkpoint"] == f"checkpoints/step-{step:07d}"
        chosen = gankit.load(tmp_path / "run", progress=False, checkpoint=step)
        image = np.array(Image.open(tmp_path / "in.png"))
        expected = chosen.translate(torch.from_numpy(image)[None, None])
        written = np.asarray(Image.open(tmp_path / name / "in.png"))
        np.testing.assert_array_equal(written, to_uint8(expected)[0, 0].numpy())


def test_resume_from_a_chosen_checkpoint_elsewhere_is_bit_exact(run_dir, tmp_path, capsys,
                                                               make_run):
    reference = make_run(run_dir=run_dir, train=STEPS).restore(6)
    assert main(["train", "--resume", str(run_dir), "--checkpoint", "2", "--out",
                 str(tmp_path / "again"), "--no-progress"]) == 0
    assert "resuming" in capsys.readouterr().err
    again = make_run(run_dir=tmp_path / "again", train=STEPS).restore()
    assert again.step == 6
    assert_identical(all_tensors(again), all_tensors(reference))
    # from a checkpoint folder, too
    assert main(["train", "--resume", str(checkpoint_dir(run_dir, 4)), "--out",
                 str(tmp_path / "third"), "--no-progress"]) == 0
    assert_identical(all_tensors(make_run(run_dir=tmp_path / "third", train=STEPS).restore()),
                     all_tensors(reference))


def test_resume_in_place_from_an_older_checkpoint_is_refused(run_dir, capsys):
    before = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    metrics = (run_dir / "metrics.jsonl").read_bytes()
    line = one_error_line(capsys, ["train", "--resume", str(run_dir), "--checkpoint", "2"])
    assert "after step 2 (4, 6)" in line and "--out" in line
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == before
    assert (run_dir / "metrics.jsonl").read_bytes() == metrics
    # the API says the same at fit(), before anything is written
    with pytest.raises(GankitError, match="mix two histories"):
        gankit.load(run_dir, progress=False, checkpoint=2).fit(8)
    # the newest, chosen explicitly, continues in place
    assert gankit.load(run_dir, progress=False, checkpoint=6).fit(7) is not None


@pytest.mark.parametrize("command", [
    ["sample", "RUN", "--out", "OUT"], ["eval", "RUN"], ["export", "RUN", "--format",
                                                         "state_dict", "--out", "OUT"],
    ["train", "--resume", "RUN"]])
def test_a_step_the_run_has_not_kept_lists_those_it_has(run_dir, tmp_path, capsys, command):
    argv = [str(run_dir) if a == "RUN" else str(tmp_path / "out") if a == "OUT" else a
            for a in command]
    line = one_error_line(capsys, [*argv, "--checkpoint", "3"])
    assert "no checkpoint of step 3; its checkpoints: 2, 4, 6" in line
    assert not (tmp_path / "out").exists()


def test_best_on_a_run_without_keep_best_says_so(run_dir, tmp_path, capsys):
    (run_dir / "best.json").unlink()
    line = one_error_line(capsys, ["sample", str(run_dir), "--checkpoint", "best", "--out",
                                   str(tmp_path / "s.npy")])
    assert "keeps no best checkpoints (train.keep_best is not set)" in line


def test_bad_checkpoint_values_are_one_line(run_dir, tmp_path, capsys):
    line = one_error_line(capsys, ["eval", str(run_dir), "--checkpoint", "newest"])
    assert "must be a step number, latest or best, got 'newest'" in line
    line = one_error_line(capsys, ["train", "ring8", "--checkpoint", "4"])
    assert "--checkpoint" in line


def test_every_command_that_reads_a_run_takes_checkpoint():
    import argparse

    from gankit.commandline.parser import build_parser

    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction)).choices
    for name in ("sample", "eval", "export", "translate", "train", "view"):
        flags = {a.dest: a for a in commands[name]._actions}
        assert flags["checkpoint"].option_strings == ["--checkpoint"], name


# --- review of issue 29 -----------------------------------------------------------------------


def test_resuming_in_place_from_an_older_checkpoint_is_refused_before_loading(run_dir, capsys):
    """The whole of stderr is the error: no "resuming" line, no schedule note before it."""
    before = (run_dir / "metrics.jsonl").read_text()
    status = main(["train", "--resume", str(run_dir), "--checkpoint", "2", "--set",
                   "train.steps=8", "--set", "train.lr_decay_from=0.5", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"gankit: error: run {run_dir} has "
                                                    f"checkpoints after step 2 (4, 6)"), err
    assert (run_dir / "metrics.jsonl").read_text() == before


@pytest.mark.parametrize("folder, choice, allowed", [
    (6, "latest", True), (4, "latest", False), (2, "best", False), (4, "best", True)])
def test_a_folder_with_a_choice_must_be_the_checkpoint_it_names(run_dir, folder, choice,
                                                                 allowed):
    path = checkpoint_dir(run_dir, folder)
    if allowed:
        assert gankit.load(path, progress=False, checkpoint=choice).step == folder
    else:
        with pytest.raises(GankitError, match=f"step {folder}, not the one {choice} names"):
            gankit.load(path, progress=False, checkpoint=choice)


def test_a_checkpoint_folder_that_does_not_exist_lists_those_that_do(run_dir, tmp_path,
                                                                     capsys):
    line = one_error_line(capsys, ["sample", str(checkpoint_dir(run_dir, 99)), "--out",
                                   str(tmp_path / "s.npy")])
    assert line == f"gankit: error: run {run_dir} has no checkpoint of step 99; its " \
                   f"checkpoints: 2, 4, 6"


def test_load_and_restore_take_a_folder_by_one_rule(run_dir, make_run, tmp_path):
    """A Path or text that is not a choice is a folder, for gankit.load as for Run.restore;
    a choice's error names the API's argument, not the CLI's flag."""
    for folder in (checkpoint_dir(run_dir, 2), str(checkpoint_dir(run_dir, 2))):
        assert_g_is(gankit.load(run_dir, progress=False, checkpoint=folder), run_dir, 2)
        assert_g_is(make_run(run_dir=run_dir, train=STEPS).restore(folder), run_dir, 2)
    restore = make_run(run_dir=run_dir, train=STEPS).restore
    load = partial(gankit.load, run_dir, progress=False)
    for bad in ("newest", "\u0663"):  # an Arabic-Indic three: a digit, but not a step number
        for call in (partial(load, checkpoint=bad), partial(restore, bad)):
            with pytest.raises(GankitError) as err:
                call()
            assert str(err.value).startswith("checkpoint must be a step number, latest, best "
                                             "or a checkpoint folder")
    other = make_run(run_dir=tmp_path / "other", train=STEPS)
    other.fit()
    with pytest.raises(GankitError, match="is a checkpoint of run .*other, not of"):
        gankit.load(run_dir, progress=False, checkpoint=checkpoint_dir(tmp_path / "other", 2))
    with pytest.raises(GankitError) as err:
        gankit.load(run_dir, progress=False, checkpoint=7)
    assert str(err.value).endswith("no checkpoint of step 7; its checkpoints: 2, 4, 6")
    assert "--checkpoint" not in str(err.value)


def test_a_continued_run_records_where_it_came_from(run_dir, make_run, tmp_path):
    other = gankit.load(run_dir, progress=False, checkpoint=4, out=tmp_path / "b")
    other.fit(8)
    origin = {"run": str(run_dir), "checkpoint": "checkpoints/step-0000004", "step": 4}
    assert load_checkpoint(checkpoint_dir(tmp_path / "b", 8))[1]["resumed_from"] == origin
    again = gankit.load(tmp_path / "b", progress=False)  # resumed in place: carried over
    again.fit(10)
    assert load_checkpoint(checkpoint_dir(tmp_path / "b", 10))[1]["resumed_from"] == origin
    assert "resumed_from" not in load_checkpoint(checkpoint_dir(run_dir, 6))[1]


def test_training_and_gankit_eval_write_one_order(make_run, tmp_path, capsys):
    run = make_run(run_dir=tmp_path / "r", hooks=True, data={"n_eval": 100},
                   train={"steps": 2, "plot_every": 2})
    run.fit()
    trained = json.loads((tmp_path / "r" / "eval.json").read_text())
    assert list(trained)[:2] == ["step", "checkpoint"]
    assert main(["eval", str(tmp_path / "r"), "--out", str(tmp_path / "e.json")]) == 0
    assert list(json.loads((tmp_path / "e.json").read_text())) == list(trained)
