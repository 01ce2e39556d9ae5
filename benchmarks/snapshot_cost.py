"""What do snapshots cost against training, before and after issue 29?

The shipped ``grid25`` (PacGAN's 25 Gaussians, 128-wide MLPs, one torch thread) trained at
``--lengths`` steps (600 and 12,000 by default) in three cases, each in a fresh process, all in
this one sitting so that every ratio compares runs on the same machine at the same time:

- ``before``: the code of ``--baseline`` (a git revision: the sources as they were before the
  snapshots drew cheaper) with the intervals grid25 shipped before issue 29 (log 100,
  snapshot and checkpoint every 2,000 steps) and the exact W1 over all ``data.n_eval`` =
  2,500 points at every snapshot (``gankit.evaluation.points.SNAPSHOT_W1_N`` set to None);
- ``ten-before``: the code of ``--baseline`` with the shipped config as it is now (log every
  1%, snapshot and checkpoint every 10% of the run, W1 over 1,000 points during training):
  ten snapshots drawn as they were drawn before;
- ``after``: the code of this checkout, the shipped config as it is.

Training seconds are the trainer's own count (steps alone: no snapshot, checkpoint or log
window); snapshot seconds are the time inside the snapshot hooks (metrics, pictures, the
training curves, TensorBoard images). Prints the ratio snapshot / training time of each and
writes benchmarks/results/snapshot_cost.json with the hardware record. On a shared machine
the wall-clock ratio moves with the others' load, so the ratio of CPU seconds (``cpu_ratio``:
the process's CPU time inside the hooks over the rest of fit's) is recorded beside it.

Run: nice -n 5 python benchmarks/snapshot_cost.py [--lengths 600 12000] [--baseline REV]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import gankit
from gankit.evaluation import points
from gankit.training.hardware import describe
from gankit.training.runlog import write_json
from gankit.training.trainer import Trainer

RESULTS = Path(__file__).parent / "results" / "snapshot_cost.json"
REPOSITORY = Path(__file__).resolve().parent.parent
CONFIG = "grid25"
FULL_W1 = None  # SNAPSHOT_W1_N that measures W1 over all n_eval points at every snapshot
# issue 29 with fractional intervals and the W1 subsample, before the snapshots drew cheaper
BASELINE = "ce18bb9176906b4c76e6822c1bbbda1f172c6aab"


def overrides(case: str, steps: int) -> list[str]:
    """The config overrides that reproduce ``case`` at ``steps`` steps."""
    old = {"before": ["train.log_every=100", "train.plot_every=2000",
                      "train.checkpoint_every=2000"],
           "ten-before": [], "after": []}[case]
    return [f"train.steps={steps}", "train.threads=1", *old]


def measure(case: str, steps: int, run_dir: Path) -> dict[str, float]:
    """Train one case into ``run_dir`` with the gankit this process imports; its training and
    snapshot seconds and their ratio."""
    run = gankit.build(CONFIG, overrides=overrides(case, steps), run_dir=run_dir,
                       progress=False)
    hooks, spent, spent_cpu = run.trainer.hooks, [], []

    def timed(trainer: Trainer) -> None:
        start, cpu_start = time.perf_counter(), time.process_time()
        for hook in hooks:
            hook(trainer)
        spent.append(time.perf_counter() - start)
        spent_cpu.append(time.process_time() - cpu_start)

    run.trainer.hooks = [timed]
    kept = points.SNAPSHOT_W1_N
    points.SNAPSHOT_W1_N = FULL_W1 if case == "before" else kept
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        run.fit()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        points.SNAPSHOT_W1_N = kept
    training = run.trainer.elapsed
    return {"steps": steps, "snapshots": len(spent), "training_s": round(training, 2),
            "snapshot_s": round(sum(spent), 2), "wall_s": round(wall, 2),
            "ratio": round(sum(spent) / training, 3),
            "cpu_ratio": round(sum(spent_cpu) / (cpu - sum(spent_cpu)), 3),
            "final_snapshot_s": round(spent[-1], 2), "w1": run.result["w1"]}


def measure_one(case: str, steps: int) -> None:
    """The ``--one`` mode: warm up, measure one case, print its record as one JSON line."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        measure("after", 50, Path(tmp) / "warm-up")  # oneDNN's first kernels, POT's import
        record = measure(case, steps, Path(tmp) / "run")
    print(json.dumps(record))


def measure_in(source: Path, case: str, steps: int) -> dict[str, float]:
    """:func:`measure` in a fresh process that imports gankit from ``source`` (a ``src``
    folder): a case of the baseline runs the code as it was."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run([sys.executable, __file__, "--one", case, str(steps)], env=env,
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def sources_of(revision: str, into: Path) -> Path:
    """The ``src`` folder of ``revision`` of this repository, written under ``into``."""
    archive = subprocess.run(["git", "-C", str(REPOSITORY), "archive", revision, "src"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[600, 12000])
    parser.add_argument("--cases", nargs="+", default=["before", "ten-before", "after"])
    parser.add_argument("--baseline", default=BASELINE, help="the git revision of 'before'")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return measure_one(args.one[0], int(args.one[1]))
    torch.set_num_threads(1)  # as each measuring process, for the hardware record
    records: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        baseline = sources_of(args.baseline, Path(tmp))
        for steps in args.lengths:
            for case in args.cases:
                name = f"{case}-{steps}"
                source = REPOSITORY / "src" if case == "after" else baseline
                records[name] = r = measure_in(source, case, steps)
                print(f"{name:>18}: {r['snapshots']:>2} snapshots {r['snapshot_s']:7.2f} s, "
                      f"training {r['training_s']:7.2f} s, snapshot / training "
                      f"{r['ratio']:.3f}, in CPU seconds {r['cpu_ratio']:.3f} "
                      f"(final snapshot {r['final_snapshot_s']:.2f} s)",
                      flush=True)
    write_json(RESULTS, {"config": CONFIG, "hardware": describe("cpu"), "baseline": args.baseline,
                         "snapshot_w1_n": points.SNAPSHOT_W1_N, "runs": records})
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
