"""The command line: one-line errors with status 2, a full train/sample/eval/resume cycle, and
SIGTERM/SIGINT on a real ``gankit train`` process (exit 128 + signum, checkpoint, resume)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml

from conftest import one_error_line, tiny_dict
from gankit.commandline.cli import main
from gankit.training.checkpoint import (
    STATE,
    TENSORS,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)


@pytest.fixture
def tiny_yaml(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_dict(train={"steps": 3})))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 3-step run made through the CLI (shared: sample/eval/resume only read it)."""
    root = tmp_path_factory.mktemp("cli")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(train={"steps": 3})))
    run_dir = root / "run"
    assert main(["train", str(config), "--out", str(run_dir), "--no-progress"]) == 0
    return run_dir


def copy_run(src, dst):
    shutil.copytree(src, dst)
    return dst


# --- a working cycle --------------------------------------------------------------------------


def test_train_writes_a_run_and_prints_metrics(trained):
    assert (trained / "config.yaml").is_file() and (trained / "metrics.jsonl").is_file()
    _, state = load_checkpoint(latest_checkpoint(trained))
    assert state["step"] == 3


def test_sample_and_eval(trained, tmp_path, capsys):
    out = tmp_path / "x.npy"
    assert main(["sample", str(trained), "--n", "17", "--out", str(out), "--seed", "2"]) == 0
    samples = np.load(out)
    assert samples.shape == (17, 2) and np.isfinite(samples).all()
    assert main(["sample", str(trained), "--n", "17", "--out", str(out), "--seed", "2",
                 "--overwrite"]) == 0
    assert np.array_equal(np.load(out), samples)  # seeded
    run_dir = copy_run(trained, tmp_path / "run")  # eval writes eval.json into the run
    capsys.readouterr()
    assert main(["eval", str(run_dir), "--n", "100"]) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((run_dir / "eval.json").read_text())
    assert written["step"] == 3 and {"modes", "high_quality", "w1"} <= printed.keys()


def test_resume_continues_to_the_new_step_count(trained, tmp_path, capsys):
    run_dir = copy_run(trained, tmp_path / "run")
    status = main(["train", "--resume", str(run_dir), "--set", "train.steps=5", "--no-progress"])
    assert status == 0
    assert "resuming" in capsys.readouterr().err
    _, state = load_checkpoint(latest_checkpoint(run_dir))
    assert state["step"] == 5


def test_configs_lists_the_shipped_ones(capsys):
    assert main(["configs"]) == 0
    out = capsys.readouterr().out
    assert "ring8" in out and "grid25" in out and "wgan-gp" in out


# --- every mistake: one line, status 2 --------------------------------------------------------


def test_unknown_key_in_a_config_file(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(tiny_dict(train={"lr": 1e-3})))
    line = one_error_line(capsys, ["train", str(path), "--out", str(tmp_path / "r")])
    assert "train.lr" in line and "lr_d" in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("pair", "word"),
    [("train.lr_d=-1", "train.lr_d"), ("train.n_critic=0", "train.n_critic"),
     ("train.beta2=1", "train.beta2"), ("train.steps=true", "train.steps"),
     ("loss.name=wgan_gp", "wgan-gp"), ("model.name=cnn", "mlp"), ("data.name=ring9", "ring8"),
     ("recipe=pix2pix", "gan"), ("nonsense", "key=value")],
)
def test_bad_overrides(tiny_yaml, tmp_path, capsys, pair, word):
    line = one_error_line(capsys, ["train", str(tiny_yaml), "--set", pair,
                                   "--out", str(tmp_path / "r"), "--no-progress"])
    assert word in line


def test_missing_config_file(tmp_path, capsys):
    line = one_error_line(capsys, ["train", str(tmp_path / "nope.yaml")])
    assert "nope.yaml" in line


def test_invalid_yaml(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("train: {steps: [1,\n  lr: }\n")
    assert "YAML" in one_error_line(capsys, ["train", str(path)])


def test_train_needs_a_config_or_resume(capsys, trained):
    assert "train needs CONFIG" in one_error_line(capsys, ["train"])
    line = one_error_line(capsys, ["train", "ring8", "--resume", str(trained)])
    assert "not both" in line


def test_training_into_an_existing_run_is_refused(trained, tiny_yaml, capsys):
    line = one_error_line(capsys, ["train", str(tiny_yaml), "--out", str(trained)])
    assert "--resume" in line


@pytest.mark.parametrize("command", ["resume", "sample", "eval"])
def test_not_a_run_directory(tmp_path, capsys, command):
    argv = {"resume": ["train", "--resume", str(tmp_path)],
            "sample": ["sample", str(tmp_path), "--out", str(tmp_path / "x.npy")],
            "eval": ["eval", str(tmp_path)]}[command]
    assert "config.yaml" in one_error_line(capsys, argv)


def test_run_without_checkpoints(trained, tmp_path, capsys):
    run_dir = copy_run(trained, tmp_path / "run")
    shutil.rmtree(run_dir / "checkpoints")
    assert "no checkpoint" in one_error_line(capsys, ["eval", str(run_dir)])


def flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    ["flip tensors", "truncate tensors", "flip state", "truncate state", "delete tensors"],
)
@pytest.mark.parametrize("command", ["resume", "sample", "eval"])
def test_damaged_checkpoint(trained, tmp_path, capsys, damage, command):
    run_dir = copy_run(trained, tmp_path / "run")
    checkpoint = latest_checkpoint(run_dir)
    tensors, state = checkpoint / TENSORS, checkpoint / STATE
    if damage == "flip tensors":
        flip_byte(tensors, len(tensors.read_bytes()) // 2)
    elif damage == "truncate tensors":
        tensors.write_bytes(tensors.read_bytes()[:100])
    elif damage == "flip state":
        flip_byte(state, len(state.read_bytes()) // 2)
    elif damage == "truncate state":
        state.write_bytes(state.read_bytes()[:50])
    else:
        tensors.unlink()
    argv = {"resume": ["train", "--resume", str(run_dir), "--set", "train.steps=5"],
            "sample": ["sample", str(run_dir), "--out", str(tmp_path / "x.npy")],
            "eval": ["eval", str(run_dir)]}[command]
    line = one_error_line(capsys, argv)
    assert str(checkpoint) in line


def test_resume_with_a_different_model_is_refused(trained, tmp_path, capsys):
    run_dir = copy_run(trained, tmp_path / "run")
    line = one_error_line(capsys, ["train", "--resume", str(run_dir),
                                   "--set", "model.d_hidden=32", "--set", "train.steps=5"])
    assert "does not match" in line


def test_damaged_run_config(trained, tmp_path, capsys):
    run_dir = copy_run(trained, tmp_path / "run")
    (run_dir / "config.yaml").write_text("train: {steps: -1}\n")
    assert "train.steps" in one_error_line(capsys, ["eval", str(run_dir)])


def test_sample_count_must_be_positive(trained, tmp_path, capsys):
    line = one_error_line(capsys, ["sample", str(trained), "--n", "0",
                                   "--out", str(tmp_path / "x.npy")])
    assert "must be >= 1, got 0" in line


def test_out_that_is_a_file(tiny_yaml, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    line = one_error_line(capsys, ["train", str(tiny_yaml), "--out", str(blocker),
                                   "--no-progress"])
    assert "is a file" in line


def test_eval_of_a_checkpoint_with_nan_weights(trained, tmp_path, capsys):
    run_dir = copy_run(trained, tmp_path / "run")
    checkpoint = latest_checkpoint(run_dir)
    tensors, state = load_checkpoint(checkpoint)
    tensors["nets.G.out.bias"] = torch.full_like(tensors["nets.G.out.bias"], float("nan"))
    save_checkpoint(checkpoint, tensors, state)  # a well-formed checkpoint of a diverged run
    line = one_error_line(capsys, ["eval", str(run_dir)])
    assert "no intact checkpoint" in line
    assert "tensor nets.G.out.bias holds non-finite values" in line


def test_sample_out_that_is_a_directory(trained, tmp_path, capsys):
    line = one_error_line(capsys, ["sample", str(trained), "--out", str(tmp_path)])
    assert "is a directory" in line


def test_eval_sample_count_is_bounded_by_exact_transport_memory(trained, capsys):
    line = one_error_line(capsys, ["eval", str(trained), "--n", "100000"])
    assert "100000" in line and "10000" in line


def test_resume_with_another_optimizer_is_refused(trained, tmp_path, capsys):
    run_dir = copy_run(trained, tmp_path / "run")
    line = one_error_line(capsys, ["train", "--resume", str(run_dir), "--set",
                                   "train.optimizer=rmsprop", "--set", "train.steps=5"])
    assert "Adam" in line and "RMSprop" in line


def test_resume_applies_new_betas(trained, tmp_path):
    from gankit.api import load

    run = load(copy_run(trained, tmp_path / "run"), ["train.beta1=0.25"], progress=False)
    assert all(g["betas"][0] == 0.25 for o in run.trainer.optimizers.values()
               for g in o.param_groups)


def test_eval_on_an_explicit_device_matches(trained, capsys):
    assert main(["eval", str(trained)]) == 0
    default = json.loads(capsys.readouterr().out)
    assert main(["eval", str(trained), "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out) == default


# --- signals on a real process ------------------------------------------------------------------

TIMEOUT = 120  # seconds; generous for a loaded machine, far above the few seconds it takes


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_checkpoints_and_exits_128_plus_signum_then_resumes(tmp_path, capsys, signum):
    config = tmp_path / "long.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(train={
        "steps": 1_000_000, "log_every": 1, "checkpoint_every": 1_000_000,
        "plot_every": 1_000_000})))
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gankit.commandline.cli", "train", str(config), "--out",
         str(run_dir),
         "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )
    try:
        # A logged step means fit() is running with its handlers installed (they go in before
        # the first step; metrics.jsonl itself is created a moment before that).
        metrics = run_dir / "metrics.jsonl"
        deadline = time.monotonic() + TIMEOUT
        while not (metrics.is_file() and metrics.stat().st_size > 0):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "training never started"
            time.sleep(0.05)
        process.send_signal(signum)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert f"interrupted by {signal.Signals(signum).name}" in err
    checkpoint = latest_checkpoint(run_dir)
    assert checkpoint is not None and str(checkpoint) in err
    _, state = load_checkpoint(checkpoint)
    step = state["step"]
    assert step >= 1
    status = main(["train", "--resume", str(run_dir), "--set", f"train.steps={step + 2}",
                   "--no-progress"])
    assert status == 0, capsys.readouterr().err
    assert f"at step {step}" in capsys.readouterr().err
    assert load_checkpoint(latest_checkpoint(run_dir))[1]["step"] == step + 2
