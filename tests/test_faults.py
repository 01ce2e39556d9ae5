"""Faults driven from outside, through the CLI: the complete saved state of identical and
resumed runs, damaged and incomplete checkpoints, leftovers of killed saves, full disks,
read-only run directories and rollbacks after a NaN. Signals on real processes are in
test_signals.py."""

import ctypes
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from conftest import one_error_line, tiny_dict
from gankit.commandline.cli import main
from gankit.training.checkpoint import (
    STATE,
    TENSORS,
    checkpoint_dir,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from gankit.training.runlog import read_metrics

TESTS = Path(__file__).parent
N = 4  # steps of each half of a resumed run


def write_config(path: Path, **sections) -> Path:
    path.write_text(yaml.safe_dump(tiny_dict(**sections)))
    return path


def train(capsys, *argv: str) -> str:
    """``gankit train ARGV --no-progress``, which must succeed; returns its stderr."""
    status = main(["train", *argv, "--no-progress"])
    err = capsys.readouterr().err
    assert status == 0, err
    return err




def complete_state(checkpoint: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Every tensor and every field of a checkpoint but the wall-clock time it took and the
    config file it was built from (``config_name``: another file of the same keys)."""
    tensors, state = load_checkpoint(checkpoint)
    return tensors, {k: v for k, v in state.items()
                     if k not in ("elapsed", "sha256", "config_name")}


def assert_same_state(a: Path, b: Path) -> None:
    (tensors_a, plain_a), (tensors_b, plain_b) = complete_state(a), complete_state(b)
    assert plain_a == plain_b
    assert tensors_a.keys() == tensors_b.keys()
    different = [k for k in tensors_a if not torch.equal(tensors_a[k], tensors_b[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


DROPOUT = {"generator": "own_parts:make_dropout_generator",
           "discriminator": "own_parts:make_dropout_discriminator"}
FAMILIES = {
    "non-saturating": {},
    "minimax": {"loss": {"name": "minimax"}},
    "wgan-clip-rmsprop": {"loss": {"name": "wgan"}, "train": {"optimizer": "rmsprop"}},
    "wgan-gp-n_critic-3": {"loss": {"name": "wgan-gp"}, "train": {"n_critic": 3}},
    "lsgan": {"loss": {"name": "lsgan"}},
    "hinge-g_ema": {"loss": {"name": "hinge"}, "train": {"g_ema": 0.9}},
    "f-gan": {"loss": {"name": "f-gan"}},
    "began": {"recipe": "began"},
    "relativistic": {"recipe": "relativistic"},
    "meg": {"recipe": "meg", "train": {"n_critic": 2}},
    "dropout": {"model": DROPOUT},
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_n_plus_n_steps_with_a_resume_save_the_state_of_2n_straight(tmp_path, capsys, family):
    sections = FAMILIES[family]
    straight = write_config(tmp_path / "straight.yaml", **{
        **sections, "train": {**sections.get("train", {}), "steps": 2 * N}})
    half = write_config(tmp_path / "half.yaml", **{
        **sections, "train": {**sections.get("train", {}), "steps": N}})
    train(capsys, str(straight), "--out", str(tmp_path / "a"))
    train(capsys, str(half), "--out", str(tmp_path / "b"))
    train(capsys, "--resume", str(tmp_path / "b"), "--set", f"train.steps={2 * N}")
    assert_same_state(latest_checkpoint(tmp_path / "a"), latest_checkpoint(tmp_path / "b"))


@pytest.mark.parametrize("family", ["dropout", "wgan-gp-n_critic-3"])
def test_two_identical_runs_save_identical_states(tmp_path, capsys, family):
    config = write_config(tmp_path / "c.yaml", **FAMILIES[family])
    train(capsys, str(config), "--out", str(tmp_path / "one"))
    torch.rand(100)  # whatever the caller's global RNG does in between changes nothing
    train(capsys, str(config), "--out", str(tmp_path / "two"))
    assert_same_state(latest_checkpoint(tmp_path / "one"), latest_checkpoint(tmp_path / "two"))


def test_the_seed_reaches_the_dropout_masks(tmp_path, capsys):
    """The dropout run above is not identical by accident: another seed, other weights."""
    for seed in (0, 1):
        config = write_config(tmp_path / f"{seed}.yaml", model=DROPOUT,
                              train={"seed": seed})
        train(capsys, str(config), "--out", str(tmp_path / str(seed)))
    a, b = (load_checkpoint(latest_checkpoint(tmp_path / s))[0]["rng.torch"] for s in "01")
    assert not torch.equal(a, b)


def test_fit_leaves_the_callers_global_rng_where_it_was(make_run):
    run = make_run(model=DROPOUT)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run.fit()
    assert torch.equal(torch.rand(3), expected)


# --- checkpoints: leftovers, damage, fallback ---------------------------------------------------


@pytest.fixture
def run_with_three_checkpoints(tmp_path, capsys):
    """A finished run with checkpoints at steps 2, 4 and 6."""
    config = write_config(tmp_path / "c.yaml", train={"steps": 6, "checkpoint_every": 2})
    train(capsys, str(config), "--out", str(tmp_path / "run"))
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == [
        "step-0000002", "step-0000004", "step-0000006"]
    return tmp_path / "run"


def test_leftovers_of_killed_saves_and_prunes_are_cleaned_at_start_or_pruned(
        run_with_three_checkpoints, capsys):
    run_dir = run_with_three_checkpoints
    root = run_dir / "checkpoints"
    (root / ".step-0000008.x1y2z3").mkdir()  # a save killed before its rename
    (root / ".step-0000008.x1y2z3" / TENSORS).write_bytes(b"half")
    (root / "step-0000001").mkdir()  # a prune killed after emptying the folder
    (root / "step-0000003").mkdir()  # a kill -9 of an older gankit halfway through a prune
    (root / "step-0000003" / TENSORS).write_bytes(b"half")
    shutil.copytree(root / "step-0000006", root / ".step-0000006.old")  # a re-save's backup
    train(capsys, "--resume", str(run_dir), "--set", "train.steps=8")
    assert sorted(p.name for p in root.iterdir()) == [
        "step-0000004", "step-0000006", "step-0000008"]


def test_a_re_saved_checkpoint_caught_between_its_renames_is_put_back(
        run_with_three_checkpoints, capsys):
    root = run_with_three_checkpoints / "checkpoints"
    os.replace(root / "step-0000006", root / ".step-0000006.old")
    err = train(capsys, "--resume", str(run_with_three_checkpoints), "--set", "train.steps=8")
    assert "at step 6" in err  # resumed from the checkpoint put back
    assert load_checkpoint(root / "step-0000006")[1]["step"] == 6


def test_a_resume_skips_a_newest_checkpoint_without_its_state_file_and_says_so(
        run_with_three_checkpoints, capsys):
    run_dir = run_with_three_checkpoints
    (checkpoint_dir(run_dir, 6) / STATE).unlink()
    err = train(capsys, "--resume", str(run_dir), "--set", "train.steps=7")
    assert "skipped 1 damaged checkpoint(s) newer than step-0000004" in err
    assert "has no state.json" in err and "resuming" in err and "at step 4" in err


def raw_checkpoint(path: Path) -> tuple[dict, dict]:
    """A checkpoint's contents without any validation, to damage them on purpose."""
    state = json.loads((path / STATE).read_text())
    return load_file(path / TENSORS), state


def rewrite(path: Path, tensors: dict, state: dict) -> None:
    """Write damaged contents back with valid checksums: damage that checksums cannot see."""
    shutil.rmtree(path)
    save_checkpoint(path, tensors, state)


DAMAGE = {
    "missing rng field": (lambda t, s: t.pop("rng.torch"), "tensor rng.torch is missing"),
    "rng of the wrong length": (
        lambda t, s: t.__setitem__("rng.torch", t["rng.torch"][:100]),
        "tensor rng.torch is torch.uint8 [100], a random state is torch.uint8 [5056]"),
    "generator state of another dtype": (
        lambda t, s: t.__setitem__("rng.generator", t["rng.generator"].float()),
        "tensor rng.generator is torch.float32"),
    "step as a string": (lambda t, s: s.__setitem__("step", "6"),
                         'field step must be an integer in [0, 2^63), got "6"'),
    "negative step": (lambda t, s: s.__setitem__("step", -5),
                      "field step must be an integer in [0, 2^63), got -5"),
    "missing step": (lambda t, s: s.pop("step"), "field step is missing"),
    "elapsed nan": (lambda t, s: s.__setitem__("elapsed", float("nan")),
                    "field elapsed must be a finite number >= 0"),
    "optimizers a list": (lambda t, s: s.__setitem__("optimizers", []),
                          "field optimizers must be a mapping"),
    "lr_scale 0": (lambda t, s: s.__setitem__("lr_scale", 0), "field lr_scale must be"),
    "nan weight": (lambda t, s: t["nets.G.out.bias"].fill_(float("nan")),
                   "tensor nets.G.out.bias holds non-finite values"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damage_to_the_newest_checkpoint_falls_back_with_a_warning(
        run_with_three_checkpoints, capsys, damage):
    run_dir = run_with_three_checkpoints
    harm, message = DAMAGE[damage]
    newest = checkpoint_dir(run_dir, 6)
    tensors, state = raw_checkpoint(newest)
    harm(tensors, state)
    rewrite(newest, tensors, state)
    status = main(["sample", str(run_dir), "--n", "5", "--out", str(run_dir / "x.npy")])
    err = capsys.readouterr().err
    assert status == 0, err
    warning = [line for line in err.splitlines() if line.startswith("gankit: warning:")]
    assert len(warning) == 1 and message in warning[0], err
    assert f"using {checkpoint_dir(run_dir, 4)}" in warning[0]


def test_no_intact_checkpoint_is_one_line(run_with_three_checkpoints, capsys):
    for step in (2, 4, 6):
        (checkpoint_dir(run_with_three_checkpoints, step) / TENSORS).write_bytes(b"gone")
    line = one_error_line(capsys, ["train", "--resume", str(run_with_three_checkpoints),
                                   "--no-progress"])
    assert "no intact checkpoint" in line and "all 3 are damaged" in line


def test_checkpoint_files_get_the_umask_modes(tmp_path, capsys):
    previous = os.umask(0o022)
    try:
        train(capsys, str(write_config(tmp_path / "c.yaml")), "--out", str(tmp_path / "run"))
    finally:
        os.umask(previous)
    checkpoint = latest_checkpoint(tmp_path / "run")
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o755
    for name in (STATE, TENSORS):
        assert stat.S_IMODE((checkpoint / name).stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "run" / "eval.json").stat().st_mode) == 0o644


# --- disks ---------------------------------------------------------------------------------------


def gankit_process(*argv: str, limit_bytes: int | None = None,
                   obey_permissions: bool = False) -> subprocess.CompletedProcess:
    """``python -m gankit ARGV`` in a new process, optionally with a file-size limit (Python
    ignores SIGXFSZ, so a write past it fails with EFBIG as on a full disk), or, for root,
    without the capabilities that let root ignore file permissions."""
    def limits() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
        if obey_permissions and os.geteuid() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
                if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path]),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gankit", *argv], capture_output=True,
                          text=True, preexec_fn=limits, env=env, timeout=300)


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2  # <linux/capability.h>


def assert_one_error(result: subprocess.CompletedProcess) -> str:
    """Status 2 and one error line, the last; notes before it (resuming, precision) are fine."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert lines and lines[-1].startswith("gankit: error: "), result.stderr
    assert "Traceback" not in result.stderr
    assert sum("error" in line.lower() for line in lines) == 1, result.stderr
    return lines[-1]


def test_a_size_limit_during_a_checkpoint_write_is_one_line_and_keeps_older_ones(
        run_with_three_checkpoints):
    run_dir = run_with_three_checkpoints
    before = {p: (p / TENSORS).read_bytes() for p in list_checkpoints(run_dir)}
    size = (checkpoint_dir(run_dir, 6) / TENSORS).stat().st_size
    result = gankit_process("train", "--resume", str(run_dir), "--set", "train.steps=8",
                            "--no-progress", limit_bytes=size // 2)
    line = assert_one_error(result)
    assert f"cannot write checkpoint {checkpoint_dir(run_dir, 8)}: " in line
    assert "File too large" in line
    assert {p: (p / TENSORS).read_bytes() for p in list_checkpoints(run_dir)} == before
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]


def test_a_full_device_for_samples_and_eval_is_one_line(run_with_three_checkpoints, capsys):
    run_dir = run_with_three_checkpoints
    line = one_error_line(capsys, ["sample", str(run_dir), "--out", "/dev/full"])
    assert "No space left on device" in line
    assert not Path("/dev/full.npy").exists()
    line = one_error_line(capsys, ["eval", str(run_dir), "--out", "/dev/full"])
    assert "No space left on device" in line


def test_a_size_limit_while_writing_samples_leaves_no_partial_file(run_with_three_checkpoints,
                                                                   tmp_path):
    out = tmp_path / "samples.npy"
    result = gankit_process("sample", str(run_with_three_checkpoints), "--n", "100000",
                            "--out", str(out), limit_bytes=100_000)
    assert "File too large" in assert_one_error(result)
    assert not out.exists() and not list(tmp_path.glob(".samples.npy.*"))


def test_samples_to_a_device_are_written_in_place(run_with_three_checkpoints, tmp_path):
    with open(tmp_path / "piped.npy", "wb") as sink:
        result = subprocess.run(
            [sys.executable, "-m", "gankit", "sample", str(run_with_three_checkpoints),
             "--n", "7", "--out", "/dev/stdout"], stdout=sink, stderr=subprocess.PIPE,
            timeout=300)
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "piped.npy").shape == (7, 2)


@pytest.fixture
def read_only_run(run_with_three_checkpoints):
    run_dir = run_with_three_checkpoints
    for path in [*run_dir.rglob("*"), run_dir]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    yield run_dir
    for path in [run_dir, *run_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def test_a_read_only_run_can_be_sampled_and_evaluated(read_only_run, tmp_path):
    run_dir = read_only_run
    before = (run_dir / "eval.json").read_text()
    sampled = gankit_process("sample", str(run_dir), "--n", "5", "--out",
                             str(tmp_path / "x.npy"), obey_permissions=True)
    assert sampled.returncode == 0, sampled.stderr
    assert np.load(tmp_path / "x.npy").shape == (5, 2)
    evaluated = gankit_process("eval", str(run_dir), obey_permissions=True)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["step"] == 6
    assert "cannot write the evaluation into" in evaluated.stderr
    assert "Permission denied" in evaluated.stderr
    assert "--out FILE writes it elsewhere" in evaluated.stderr
    assert (run_dir / "eval.json").read_text() == before
    elsewhere = gankit_process("eval", str(run_dir), "--out", str(tmp_path / "eval.json"),
                               obey_permissions=True)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert json.loads((tmp_path / "eval.json").read_text()) == json.loads(elsewhere.stdout)


# --- non-finite losses -------------------------------------------------------------------------


def nan_config(tmp_path: Path, generator: str, **train) -> Path:
    return write_config(tmp_path / "nan.yaml", model={"generator": generator},
                        train={"steps": 8, "checkpoint_every": 2, "log_every": 1,
                               "on_nonfinite": "rollback", **train})


def test_rollback_restores_the_last_good_checkpoint_with_lower_learning_rates(tmp_path, capsys):
    # the 9th G forward is step 5's D phase: the last good checkpoint is step 4
    config = nan_config(tmp_path, "own_parts:make_generator_nan_once")
    err = train(capsys, str(config), "--out", str(tmp_path / "run"))
    assert ("non-finite loss in phase 'd' at step 5 (d_loss=nan): rolled back to step 4, "
            "learning rates x0.5 (rollback 1 of 3)") in err
    _, state = load_checkpoint(latest_checkpoint(tmp_path / "run"))
    assert state["step"] == 8 and state["rollbacks"] == 1 and state["lr_scale"] == 0.5
    records = {r["step"]: r for r in read_metrics(tmp_path / "run")}
    assert records[4]["train/rollbacks"] == 1 and records[4]["train/lr_scale"] == 0.5
    assert records[3]["lr/d"] == 1e-3 and records[8]["lr/d"] == 5e-4


def test_rollback_without_a_run_directory_goes_back_to_the_start(make_run):
    from gankit.api import build

    run = build(tiny_dict(model={"generator": "own_parts:make_generator_nan_once"},
                          train={"steps": 8, "on_nonfinite": "rollback"}),
                progress=False, snapshots=False)
    with pytest.warns(UserWarning, match="rolled back to step 0"):
        run.fit()
    assert run.step == 8 and run.trainer.lr_scale == 0.5


def test_rollback_gives_up_with_one_line_after_max_rollbacks(tmp_path, capsys):
    config = nan_config(tmp_path, "own_parts:make_generator_nan_from_then_on",
                        max_rollbacks=2)
    status = main(["train", str(config), "--out", str(tmp_path / "run"), "--no-progress"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert lines[-1] == ("gankit: error: non-finite loss in phase 'd' at step 5 (d_loss=nan); "
                         "gave up after 2 rollback(s) (train.max_rollbacks); last good "
                         f"checkpoint: {checkpoint_dir(tmp_path / 'run', 4)}")
    assert sum("rolled back to step 4" in line for line in lines) == 2


def test_stop_stays_the_default(tmp_path, capsys):
    config = write_config(tmp_path / "c.yaml",
                          model={"generator": "own_parts:make_generator_nan_once"},
                          train={"steps": 8, "checkpoint_every": 2})
    line = one_error_line(capsys, ["train", str(config), "--out", str(tmp_path / "run"),
                                   "--no-progress"])
    assert "non-finite loss in phase 'd' at step 5" in line and "step-0000004" in line
