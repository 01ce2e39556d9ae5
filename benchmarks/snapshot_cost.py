"""What do snapshots cost against training, before issue 29, drawn in the training process,
and drawn in the background?

The shipped ``grid25`` (PacGAN's 25 Gaussians, 128-wide MLPs, one torch thread) trained at
``--lengths`` steps (600 and 12,000 by default) in three cases, each in a fresh process, all in
this one sitting so that every ratio compares runs on the same machine at the same time:

- ``before``: the code of ``--baseline`` (a git revision: the sources as they were before
  issue 29 made snapshots cheaper) with the intervals grid25 shipped before (log 100,
  snapshot and checkpoint every 2,000 steps) and the exact W1 over all ``data.n_eval`` =
  2,500 points at every snapshot;
- ``inline``: this checkout with ``train.draw_in_background: false``: ten snapshots (every
  10% of the run), each drawn in the training process;
- ``after``: this checkout as shipped: ten snapshots, their pictures drawn by
  :mod:`gankit.storage.drawing`'s process on the other core;
- ``final-only``: this checkout with ``train.plot_every: 1.0``: the one snapshot at the end
  that every run has (its result), and the training time of a run with no drawing process
  beside its steps to compare ``after``'s with.

Each process first trains 50 steps with pictures drawn inline (oneDNN's first kernels, POT's
import), so the ``after`` run starts its drawing process cold, as ``gankit train`` does.

Training seconds are the trainer's own count (steps alone: no snapshot, checkpoint or log
window). Snapshot seconds are the time the training process spends in the snapshot hooks
(metrics, what the pictures need from the networks, handing them over, waiting for the last
ones), less the run's result: the final snapshot's W1 over all 2,500 points
(``result_s``), which a run reports whatever its snapshots, and which the final pictures are
drawn beside. ``before`` computes that W1 inside its snapshots, so its result is not apart.
``drawing_cpu_s`` is the CPU time of the drawing process during the run: work moved to the
other core, not gone. Prints the ratio snapshot / training time of each and writes
benchmarks/results/snapshot_cost.json with the hardware record.

Each case runs ``--repeats`` times (3), interleaved, and the record holds each figure's
median: the training time of a 3-second run varies by a tenth between processes.

Run: python benchmarks/snapshot_cost.py [--lengths 600 12000] [--repeats 3] [--baseline REV]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import gankit
from gankit.training.hardware import describe
from gankit.training.runlog import write_json
from gankit.training.trainer import Trainer

RESULTS = Path(__file__).parent / "results" / "snapshot_cost.json"
REPOSITORY = Path(__file__).resolve().parent.parent
CONFIG = "grid25"
# before issue 29 made snapshots cheaper (fractional intervals and the W1 subsample were in)
BASELINE = "ce18bb9176906b4c76e6822c1bbbda1f172c6aab"
CASES = ("before", "inline", "after", "final-only")


def overrides(case: str, steps: int) -> list[str]:
    """The config overrides that reproduce ``case`` at ``steps`` steps."""
    old = {"before": ["train.log_every=100", "train.plot_every=2000",
                      "train.checkpoint_every=2000"],
           "inline": ["train.draw_in_background=false"], "after": [],
           "final-only": ["train.plot_every=1.0"]}[case]
    return [f"train.steps={steps}", "train.threads=1", *old]


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 without one)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(case: str, steps: int, run_dir: Path) -> dict[str, float]:
    """Train one case into ``run_dir`` with the gankit this process imports; its training,
    snapshot and result seconds and their ratios."""
    from gankit.evaluation import points
    from gankit.evaluation.plan import Measurement

    run = gankit.build(CONFIG, overrides=overrides(case, steps), run_dir=run_dir,
                       progress=False)
    hooks, spent, result = run.trainer.hooks, [], []

    def timed(trainer: Trainer) -> None:
        start = time.perf_counter()
        for hook in hooks:
            hook(trainer)
        spent.append(time.perf_counter() - start)

    run.trainer.hooks = [timed]
    full_w1 = case == "before"
    kept_w1, kept_complete = points.SNAPSHOT_W1_N, getattr(Measurement, "complete", None)
    if full_w1:
        points.SNAPSHOT_W1_N = None
    else:
        def complete(measured: Measurement) -> Measurement:
            start = time.perf_counter()
            done = kept_complete(measured)
            if measured.rest is not None:
                result.append(time.perf_counter() - start)
            return done

        Measurement.complete = complete
    drawing = None if full_w1 else importlib.import_module("gankit.storage.drawing")
    try:
        start = time.perf_counter()
        run.fit()
        wall = time.perf_counter() - start
    finally:
        points.SNAPSHOT_W1_N = kept_w1
        if kept_complete is not None:
            Measurement.complete = kept_complete
    worker = drawing._worker if drawing is not None else None
    training, result_s = run.trainer.elapsed, sum(result)
    snapshot_s = sum(spent) - result_s
    return {"steps": steps, "snapshots": len(spent), "training_s": round(training, 2),
            "snapshot_s": round(snapshot_s, 2), "result_s": None if full_w1 else round(result_s, 2),
            "wall_s": round(wall, 2), "ratio": round(snapshot_s / training, 3),
            "ratio_with_result": round(sum(spent) / training, 3),
            "drawing_cpu_s": round(cpu_seconds(worker.process.pid if worker else None), 2),
            "final_snapshot_s": round(spent[-1] - result_s, 2), "w1": run.result["w1"]}


def measure_one(case: str, steps: int) -> None:
    """The ``--one`` mode: warm up, measure one case, print its record as one JSON line."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        warm = "before" if case == "before" else "inline"  # the drawing process starts cold
        measure(warm, 50, Path(tmp) / "warm-up")  # oneDNN's first kernels, POT's import
        record = measure(case, steps, Path(tmp) / "run")
    print(json.dumps(record))


def median_record(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over ``runs`` (3-second runs vary by a tenth between processes),
    and every run's wall time."""
    record = {key: (statistics.median(r[key] for r in runs)
                    if isinstance(runs[0][key], (int, float)) else runs[0][key])
              for key in runs[0]}
    return record | {"runs": len(runs), "wall_s_each": [r["wall_s"] for r in runs]}


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
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--baseline", default=BASELINE, help="the git revision of 'before'")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each case; the record holds each figure's median")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return measure_one(args.one[0], int(args.one[1]))
    torch.set_num_threads(1)  # as each measuring process, for the hardware record
    measured: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        baseline = sources_of(args.baseline, Path(tmp))
        for repeat in range(args.repeats):  # interleaved, so a change in load meets every case
            for steps in args.lengths:
                for case in args.cases:
                    name = f"{case}-{steps}"
                    source = baseline if case == "before" else REPOSITORY / "src"
                    r = measure_in(source, case, steps)
                    measured.setdefault(name, []).append(r)
                    print(f"{name:>16} #{repeat + 1}: {r['snapshots']:>2} snapshots "
                          f"{r['snapshot_s']:5.2f} s, training {r['training_s']:6.2f} s, "
                          f"snapshot / training {r['ratio']:.3f} "
                          f"({r['ratio_with_result']:.3f} with the result), wall "
                          f"{r['wall_s']:6.2f} s, drawing process {r['drawing_cpu_s']:.2f} CPU s",
                          flush=True)
    records = {name: median_record(runs) for name, runs in measured.items()}
    from gankit.evaluation import points

    write_json(RESULTS, {"config": CONFIG, "hardware": describe("cpu"), "baseline": args.baseline,
                         "snapshot_w1_n": points.SNAPSHOT_W1_N, "runs": records})
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
