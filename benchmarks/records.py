"""What the quality benchmarks share: a fresh training run of an entry, and the results file,
one JSON object of entry -> record, which two entries running at once on two cores may both
update."""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from pathlib import Path

import gankit


def read_results(path: Path) -> dict:
    text = path.read_text() if path.is_file() else ""
    return json.loads(text) if text.strip() else {}


def save_record(path: Path, name: str, record: dict) -> None:
    """Merge one record into the results file, under a lock held while reading and rewriting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = read_results(path)
        results[name] = record
        path.write_text(json.dumps(results, indent=2) + "\n")


def train_fresh(config: str, overrides: list[str], steps: int, run_dir: Path
                ) -> tuple[gankit.Run, float]:
    """A shipped config trained from scratch into ``run_dir`` (emptied first) on one torch
    thread for ``steps`` steps, with one snapshot and one checkpoint at the end; the run and
    its wall seconds, the final snapshot's measurement included."""
    shutil.rmtree(run_dir, ignore_errors=True)
    start = time.perf_counter()
    run = gankit.build(config, overrides=[*overrides, "train.threads=1", f"train.steps={steps}",
                                          f"train.plot_every={steps}",
                                          f"train.checkpoint_every={steps}"],
                       run_dir=run_dir, progress=False)
    run.fit()
    return run, time.perf_counter() - start
