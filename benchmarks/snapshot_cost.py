"""What do snapshots cost against training, before and after issue 29?

The shipped ``grid25`` (PacGAN's 25 Gaussians, 128-wide MLPs, one torch thread) trained at
``--lengths`` steps (600 and 12,000 by default) three ways, in this one process, so that every
ratio compares runs on the same machine at the same time:

- ``before``: the intervals grid25 shipped before issue 29 (log 100, snapshot and checkpoint
  every 2,000 steps) and the exact W1 over all ``data.n_eval`` = 2,500 points at every
  snapshot (``gankit.evaluation.points.SNAPSHOT_W1_N`` set to None);
- ``before-ten``: what a user did before to see curves in a short run: ten snapshots
  (``plot_every`` = steps / 10, log every steps / 100), still with the full W1 at each;
- ``after``: the shipped config as it is now (log every 1%, snapshot and checkpoint every 10%
  of the run, W1 over 1,000 points during training and over 2,500 at the final snapshot).

Training seconds are the trainer's own count (steps alone: no snapshot, checkpoint or log
window); snapshot seconds are the time inside the snapshot hooks (metrics, pictures, the
training curves, TensorBoard images). Prints the ratio snapshot / training time of each and
writes benchmarks/results/snapshot_cost.json with the hardware record.

Run: nice -n 5 python benchmarks/snapshot_cost.py [--lengths 600 12000]
"""

from __future__ import annotations

import argparse
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
CONFIG = "grid25"
FULL_W1 = None  # SNAPSHOT_W1_N that measures W1 over all n_eval points at every snapshot


def overrides(case: str, steps: int) -> list[str]:
    """The config overrides that reproduce ``case`` at ``steps`` steps."""
    old = {"before": ["train.log_every=100", "train.plot_every=2000",
                      "train.checkpoint_every=2000"],
           "before-ten": [f"train.log_every={max(steps // 100, 1)}",
                          f"train.plot_every={max(steps // 10, 1)}",
                          f"train.checkpoint_every={max(steps // 10, 1)}"],
           "after": []}[case]
    return [f"train.steps={steps}", "train.threads=1", *old]


def measure(case: str, steps: int, run_dir: Path) -> dict[str, float]:
    """Train one case into ``run_dir``; its training and snapshot seconds and their ratio."""
    run = gankit.build(CONFIG, overrides=overrides(case, steps), run_dir=run_dir,
                       progress=False)
    hooks, spent = run.trainer.hooks, []

    def timed(trainer: Trainer) -> None:
        start = time.perf_counter()
        for hook in hooks:
            hook(trainer)
        spent.append(time.perf_counter() - start)

    run.trainer.hooks = [timed]
    kept = points.SNAPSHOT_W1_N
    points.SNAPSHOT_W1_N = kept if case == "after" else FULL_W1
    try:
        start = time.perf_counter()
        run.fit()
        wall = time.perf_counter() - start
    finally:
        points.SNAPSHOT_W1_N = kept
    training = run.trainer.elapsed
    return {"steps": steps, "snapshots": len(spent), "training_s": round(training, 2),
            "snapshot_s": round(sum(spent), 2), "wall_s": round(wall, 2),
            "ratio": round(sum(spent) / training, 3),
            "final_snapshot_s": round(spent[-1], 2), "w1": run.result["w1"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[600, 12000])
    parser.add_argument("--cases", nargs="+", default=["before", "before-ten", "after"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    records: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        measure("after", 50, Path(tmp) / "warm-up")  # oneDNN's first kernels, POT's import
        for steps in args.lengths:
            for case in args.cases:
                name = f"{case}-{steps}"
                records[name] = measure(case, steps, Path(tmp) / name)
                r = records[name]
                print(f"{name:>18}: {r['snapshots']:>2} snapshots {r['snapshot_s']:7.2f} s, "
                      f"training {r['training_s']:7.2f} s, snapshot / training "
                      f"{r['ratio']:.3f} (final snapshot {r['final_snapshot_s']:.2f} s)",
                      flush=True)
    write_json(RESULTS, {"config": CONFIG, "hardware": describe("cpu"),
                         "snapshot_w1_n": points.SNAPSHOT_W1_N, "runs": records})
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
