"""SIGINT and SIGTERM on real ``gankit`` processes, at every moment of their lives: start-up,
training, checkpoint writes, the final evaluation, sampling. Each ends in one line and status
128 + signal, and every checkpoint left on disk is finished and intact."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import tiny_dict
from gankit.training.checkpoint import checkpoint_dirs, load_checkpoint

TIMEOUT = 180  # seconds; far above what these take, for a loaded machine
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def start(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gankit", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV, text=True)


def finish(process: subprocess.Popen) -> tuple[str, str]:
    try:
        return process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(condition, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the awaited moment never came"
        time.sleep(0.01)


def assert_interrupted(process: subprocess.Popen, err: str, signum: int) -> str:
    """Status 128 + signum and one line saying so (after the run's notes, if any)."""
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err and "Error" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"gankit: interrupted by {signal.Signals(signum).name}"), err
    assert sum("interrupted" in line for line in err.splitlines()) == 1, err
    return last


def assert_checkpoints_intact(run_dir: Path) -> list[int]:
    """Every step folder loads and verifies; no temporary folder is left."""
    root = run_dir / "checkpoints"
    leftovers = [p.name for p in root.glob(".*")] if root.is_dir() else []
    assert not leftovers, leftovers
    return [load_checkpoint(path)[1]["step"] for path in checkpoint_dirs(run_dir)]


def long_run(tmp_path: Path, **train) -> Path:
    config = tmp_path / "long.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(train={
        "steps": 1_000_000, "log_every": 1, "plot_every": 1_000_000,
        "checkpoint_every": 1_000_000, **train})))
    return config


def started_training(run_dir: Path) -> bool:
    metrics = run_dir / "metrics.jsonl"
    return metrics.is_file() and metrics.stat().st_size > 0


SALVOS = {  # the signals sent, and the seconds between them
    "SIGINT": ([signal.SIGINT], 0),
    "SIGINT twice 20 ms apart": ([signal.SIGINT] * 2, 0.02),
    "SIGINT twice at once": ([signal.SIGINT] * 2, 0),
    "SIGTERM 10 times 5 ms apart": ([signal.SIGTERM] * 10, 0.005),
    "SIGTERM then SIGINT": ([signal.SIGTERM, signal.SIGINT], 0.01),
}


@pytest.mark.parametrize("salvo", list(SALVOS))
def test_signals_during_training_and_checkpoint_writes(tmp_path, salvo):
    """checkpoint_every 1: the signals land in steps and in checkpoint writes alike."""
    signals, gap = SALVOS[salvo]
    run_dir = tmp_path / "run"
    process = start("train", str(long_run(tmp_path, checkpoint_every=1)), "--out",
                    str(run_dir), "--no-progress")
    wait_for(lambda: bool(checkpoint_dirs(run_dir)), process)  # something to keep
    for signum in signals:
        process.send_signal(signum)
        time.sleep(gap)
    _, err = finish(process)
    line = assert_interrupted(process, err, signals[0])  # the first one decides the status
    steps = assert_checkpoints_intact(run_dir)
    newest = max(steps)
    # the step named is the newest checkpoint's, or the one after it when a second signal
    # cut that step's save short
    assert f"at step {newest};" in line or f"at step {newest + 1};" in line, line
    assert f"step-{newest:07d}" in line


@pytest.mark.parametrize("delay", [0.1, 0.3, 0.6, 1.2])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_start_up_is_one_line(tmp_path, delay, signum):
    """Before any step: during the interpreter's imports of gankit, torch and the data."""
    process = start("train", str(long_run(tmp_path)), "--out", str(tmp_path / "run"),
                    "--no-progress")
    time.sleep(delay)
    if process.poll() is None and not started_training(tmp_path / "run"):
        process.send_signal(signum)
        _, err = finish(process)
        assert_interrupted(process, err, signum)
    else:
        finish(process)
        pytest.skip("start-up was over before the signal")
    assert_checkpoints_intact(tmp_path / "run")  # a first step may have ended meanwhile


def test_a_signal_while_main_reinstalls_the_handlers_is_one_line(monkeypatch, capsys):
    """A signal re-delivered after the imports can land in cli.main's own install(), before
    its try: the entry point says it in one line too (a traceback and status 1 before)."""
    import gankit.__main__ as entry
    import gankit.commandline.cli
    from gankit.training.interrupts import Interrupted

    def interrupted_while_installing() -> int:
        raise Interrupted(signal.SIGINT)

    kept = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(gankit.commandline.cli, "main", interrupted_while_installing)
    try:
        assert entry.run() == 128 + signal.SIGINT
    finally:  # run() installed gankit's handlers in this process
        for signum, handler in kept.items():
            signal.signal(signum, handler)
    assert capsys.readouterr().err == "gankit: interrupted by SIGINT\n"


def test_a_signal_during_the_final_evaluation_keeps_the_final_checkpoint(tmp_path):
    config = tmp_path / "c.yaml"
    # exact W1 on 10,000 points takes seconds: the final snapshot is long enough to hit
    config.write_text(yaml.safe_dump(tiny_dict(data={"n_eval": 10_000},
                                               train={"steps": 3, "plot_every": 3})))
    run_dir = tmp_path / "run"
    process = start("train", str(config), "--out", str(run_dir), "--no-progress")
    wait_for(lambda: bool(checkpoint_dirs(run_dir)), process)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = finish(process)
    line = assert_interrupted(process, err, signal.SIGINT)
    assert "at step 3" in line and "step-0000003" in line
    assert assert_checkpoints_intact(run_dir) == [3]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("signals")
    (root / "c.yaml").write_text(yaml.safe_dump(tiny_dict(train={"steps": 2})))
    subprocess.run([sys.executable, "-m", "gankit", "train", str(root / "c.yaml"), "--out",
                    str(root / "run"), "--no-progress"], check=True, env=ENV,
                   capture_output=True, timeout=TIMEOUT)
    return root / "run"


@pytest.mark.parametrize("delay", [0.5, 1.5, 3.0])
def test_a_signal_while_sampling_leaves_all_or_nothing(trained, tmp_path, delay):
    out = tmp_path / "x.npy"
    process = start("sample", str(trained), "--n", "3000000", "--out", str(out))
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    _, err = finish(process)
    if process.returncode == 0:  # it was done before the signal
        assert np.load(out).shape == (3_000_000, 2)
    else:
        assert_interrupted(process, err, signal.SIGTERM)
        assert not out.exists()
    assert not list(tmp_path.glob(".x.npy.*"))
    assert (tmp_path / "x.npy.json").exists() == (process.returncode == 0)


@pytest.mark.parametrize("decides", [True, False])
def test_a_signal_during_the_outputs_rename_leaves_success_or_nothing(trained, tmp_path,
                                                                    monkeypatch, decides):
    """The race the timed test above hits only by chance, forced: SIGTERM arrives inside the
    rename that puts the samples in place. ``gankit sample`` (its output decides) succeeds with
    the samples and their .json beside them; any other file's rename is stopped before it."""
    from gankit.commandline.cli import main
    from gankit.storage import files
    from gankit.storage.sample_files import write_samples

    rename = os.replace

    def interrupted_rename(source, target):
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs at the next bytecode
        rename(source, target)

    monkeypatch.setattr(files.os, "replace", interrupted_rename)
    out = tmp_path / "x.npy"
    if decides:
        assert main(["sample", str(trained), "--n", "5", "--out", str(out)]) == 0
        assert np.load(out).shape == (5, 2)
        assert json.loads((tmp_path / "x.npy.json").read_text())["n"] == 5
    else:
        from gankit.training import interrupts
        previous = interrupts.install()
        try:
            with pytest.raises(interrupts.Interrupted):
                write_samples(torch.zeros(5, 2), out, "npy")
        finally:
            interrupts.restore(previous)
        assert not out.exists()
    assert not list(tmp_path.glob(".x.npy*"))
