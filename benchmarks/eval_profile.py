"""Where the time of one image evaluation goes: ``image_metrics`` on mnist5k, part by part.

An mnist5k run (the shipped config, briefly trained) is evaluated as ``gankit eval`` does it, on
``--n`` samples (2,500 by default, ``data.n_eval``). Each part is timed by wrapping the names that
:func:`gankit.evaluation.images.image_metrics` calls (generation, the metric functions, the feature
extractor's methods), so the profile follows whatever image_metrics does and nothing is run
twice; "other" is the rest of the total (drawing real images, bookkeeping). Each round runs one
full evaluation; the table shows the median over the rounds of wall and CPU seconds (CPU summed
over threads: on cores that other processes share, wall time exceeds CPU time / threads, and the
load average is recorded with the figures). The wall total is printed against the target of
issue 8: at most 10 s for 2,500 digit samples on 2 cores.

    .venv/bin/python benchmarks/eval_profile.py [--n 2500] [--rounds 3] [--threads 2]
        [--steps 20] [--label after]

Writes (merges ``--label``'s entry into) benchmarks/results/eval_profile.json, with
:func:`gankit.training.hardware.describe`.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import torch

import gankit
from gankit.evaluation import image_metrics as metric_eval
from gankit.evaluation import images as image_eval
from gankit.evaluation.features import feature_extractor
from gankit.training.hardware import describe

RESULTS = Path(__file__).parent / "results" / "eval_profile.json"
TARGET_SECONDS = 10.0  # issue 8: 2,500 digit samples on 2 cores
# part of the table -> names in gankit.evaluation.images and .image_metrics that image_metrics
# calls for it
PARTS = {
    "generation": ("generate",),
    "FID (+ held-out)": ("fid",),
    "KID": ("kid",),
    "precision/recall": ("precision_recall",),
    "density/coverage": ("density_coverage",),
    "memorization": ("memorization_metrics",),
    "classifier score": ("classifier_score", "label_histogram_kl"),
}
FEATURES = "classifier features"  # every method of the feature extractor
EXTRACTOR_METHODS = ("features", "probabilities", "labels", "outputs")


def timed(function: Callable, part: str, spent: dict[str, list[float]], running: set[str]
          ) -> Callable:
    """``function`` that adds its wall and CPU seconds (all threads) to ``spent[part]``; a call
    made while the same part is being timed (one timed function calling another) counts once."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if part in running:
            return function(*args, **kwargs)
        running.add(part)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[part][0] += time.perf_counter() - wall
            spent[part][1] += time.process_time() - cpu
            running.discard(part)

    return wrapper


def profile_once(run: gankit.Run, features: object, n: int) -> dict[str, dict[str, float]]:
    """Wall and CPU seconds per part of one ``image_metrics`` call, and its total."""
    spent: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    running: set[str] = set()
    patches = [mock.patch.object(module, name, timed(getattr(module, name), part, spent, running))
               for part, names in PARTS.items() for name in names
               for module in (image_eval, metric_eval) if hasattr(module, name)]
    for method in EXTRACTOR_METHODS:
        if hasattr(features, method):  # an instance attribute shadows the class's method
            wrapped = timed(getattr(features, method), FEATURES, spent, running)
            patches.append(mock.patch.object(features, method, wrapped))
    for patch in patches:
        patch.start()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        image_eval.image_metrics(run.recipe, run.plan.latents, run.data, n, run.trainer.device,
                                 features)
        total = [time.perf_counter() - wall, time.process_time() - cpu]
    finally:
        for patch in reversed(patches):
            patch.stop()
    parts = {part: spent[part] for part in (*PARTS, FEATURES)}
    other = [total[i] - sum(p[i] for p in parts.values()) for i in range(2)]
    return {kind: {part: seconds[i] for part, seconds in {**parts, "other": other,
                                                          "total": total}.items()}
            for i, kind in enumerate(("wall", "cpu"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2500, help="samples (data.n_eval)")
    parser.add_argument("--rounds", type=int, default=3, help="evaluations; the median is shown")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--steps", type=int, default=20, help="training steps before evaluating")
    parser.add_argument("--label", default="current", help="name of this entry in the JSON")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = gankit.build("mnist5k", [f"train.threads={args.threads}"], progress=False,
                       snapshots=False)
    if args.steps:
        run.fit(args.steps)
    features = feature_extractor(run.data, device=run.trainer.device)
    rounds = [profile_once(run, features, args.n) for _ in range(args.rounds)]
    median = {kind: {part: statistics.median(r[kind][part] for r in rounds)
                     for part in rounds[0][kind]} for kind in ("wall", "cpu")}
    print(f"image_metrics on mnist5k, n = {args.n}, {args.threads} threads, median of "
          f"{args.rounds} rounds (CPU: all threads; wall > CPU / threads on shared cores)")
    print(f"  {'part':22s} {'wall s':>7s} {'CPU s':>7s}")
    for part in median["wall"]:
        print(f"  {part:22s} {median['wall'][part]:7.2f} {median['cpu'][part]:7.2f}")
    verdict = "meets" if median["wall"]["total"] <= TARGET_SECONDS else "misses"
    print(f"total {median['wall']['total']:.2f} s wall {verdict} the target of "
          f"{TARGET_SECONDS:.0f} s")
    hardware = describe(run.trainer.device)
    print("hardware:", json.dumps(hardware))
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    results[args.label] = {"n": args.n, "threads": args.threads, "train_steps": args.steps,
                           "rounds": args.rounds, "load_average": os.getloadavg(),
                           "median_seconds": median,
                           "round_seconds": rounds, "target_seconds": TARGET_SECONDS,
                           "hardware": hardware}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
