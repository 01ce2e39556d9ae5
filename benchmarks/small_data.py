"""DiffAugment on small data sets (issue 28, item 5): FID at equal steps on 100, 500 and 4,000
mnist5k training digits, with and without augmentation of what D sees.

Zhao et al. 2020 (Table 3, Fig. 1) and Karras et al. 2020 (Fig. 1, 7) find that D overfits a
small training set, that augmenting every image D sees helps, and that it helps most on the
smallest sets. Each run trains the shipped ``mnist5k`` DCGAN config on a fixed seeded subset
of the 4,000 training digits, given as data (``gankit.build(config, data=(images, labels))``),
for the same number of steps. Its FID is measured in the digit classifier's feature space
between 4,000 samples and the FULL 4,000-digit training set, not the run's own subset (which
is what a run's own evaluation compares against): a G that reproduces its 100 digits is then
penalized for the digits it never saw.

    nice -n 5 .venv/bin/python benchmarks/small_data.py [--steps 800] [--ada]
    nice -n 5 .venv/bin/python benchmarks/small_data.py --curve 100 --steps 3000 --every 500

The second form follows one run of each variant on 100 digits, its FID every 500 steps (the
table's equal-steps comparison at one point in training, the curve at several), kept in the
same file under ``curves``, by the number of digits.

Writes benchmarks/results/small_data.json and prints the table. One torch thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from tqdm import tqdm

import gankit
from gankit.configuration.schema import DataConfig
from gankit.data.images import load_mnist5k, to_unit_range
from gankit.metrics.digits import digits
from gankit.metrics.features import fid
from gankit.training.hardware import describe
from gankit.training.runlog import read_json_or_none, write_json

RESULTS = Path(__file__).parent / "results" / "small_data.json"
SIZES = (100, 500, 4000)
SUBSET_SEED = 28  # which digits each subset holds; the same for every variant
N_SAMPLES = 4000
POLICY = "color,translation,cutout"  # DiffAugment's full policy (Zhao et al. 2020, Sec. 3)
# ADA's speed is for 25M-image runs (500k images from p = 0 to 1); these runs see 64k images.
VARIANTS = {"none": ["augment.policy=''"],
            "diffaugment": [f"augment.policy={POLICY}", "augment.p=1.0"]}
ADA = ["augment.p=0.0", "augment.ada=true", "augment.ada_speed=20000"]


def subset(images: torch.Tensor, labels: torch.Tensor, n: int
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """n of the training digits, drawn without replacement by a fixed seed."""
    index = torch.randperm(len(images), generator=torch.Generator().manual_seed(SUBSET_SEED))[:n]
    return images[index], labels[index]


def measure(run: gankit.Run, extractor, real_features: torch.Tensor) -> float:
    fake = run.sample(N_SAMPLES, seed=1)  # [N, 1, 28, 28] in [-1, 1]
    with torch.no_grad():
        return fid(real_features, extractor.features(fake))


def train_and_measure(n: int, overrides: list[str], steps: int, data, extractor,
                      real_features: torch.Tensor) -> dict:
    """One run on n digits for ``steps`` steps: its FID against all training digits, wall
    time, and D's last verdicts on real and generated batches."""
    images, labels = subset(data.images, data.labels, n)
    start = time.perf_counter()
    run = gankit.build("mnist5k", overrides=[*overrides, "train.threads=1",
                                             f"train.steps={steps}"],
                       data=(images, labels), progress=False, snapshots=False)
    last = run.fit(steps)[-1]
    row = {"fid": measure(run, extractor, real_features),
           "wall_seconds": round(time.perf_counter() - start, 1),
           "d_real_last": float(last["d_real"]), "d_fake_last": float(last["d_fake"])}
    if "augment_p" in last:
        row["p_last"] = float(last["augment_p"])
    return row


def follow(n: int, steps: int, every: int, data, extractor, real_features: torch.Tensor
           ) -> dict:
    """FID every ``every`` steps of one run of each variant (without ADA) on n digits."""
    images, labels = subset(data.images, data.labels, n)
    out = {"digits": n, "steps": steps, "every": every, "fid": {}}
    for name, overrides in VARIANTS.items():
        run = gankit.build("mnist5k", overrides=[*overrides, "train.threads=1",
                                                 f"train.steps={steps}"],
                           data=(images, labels), progress=False, snapshots=False)
        points = []
        for step in tqdm(range(every, steps + 1, every), desc=f"{n} digits, {name}",
                         unit="point"):
            run.fit(step)
            points.append([step, round(measure(run, extractor, real_features), 2)])
        out["fid"][name] = points
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=800, help="training steps of every run")
    parser.add_argument("--ada", action="store_true",
                        help="then DiffAugment with ADA's adaptive p (from 0) on each size")
    parser.add_argument("--curve", type=int, metavar="N",
                        help="instead: FID along one run per variant on N digits")
    parser.add_argument("--every", type=int, default=500, help="steps between curve points")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = load_mnist5k(DataConfig(name="mnist5k"))
    extractor = digits(data, None, "cpu")
    with torch.no_grad():
        real_features = extractor.features(to_unit_range(data.images))
    old = read_json_or_none(RESULTS) or {}
    if args.curve:
        start = time.perf_counter()
        curve = follow(args.curve, args.steps, args.every, data, extractor, real_features)
        curve["wall_seconds"] = round(time.perf_counter() - start, 1)
        write_json(RESULTS, {**old, "curves": {**old.get("curves", {}), str(args.curve): curve}})
        print(f"FID on {args.curve} digits by step: " + "; ".join(
            f"{name}: " + ", ".join(f"{step}: {fid}" for step, fid in points)
            for name, points in curve["fid"].items()))
        return
    variants = dict(VARIANTS)
    if args.ada:
        variants["diffaugment+ada"] = [f"augment.policy={POLICY}", *ADA]
    # The paired runs first, size by size; the ADA runs last. A run already in the results
    # file with these steps is kept, so an interrupted benchmark goes on where it stopped.
    runs = [(n, name) for n in SIZES for name in VARIANTS]
    runs += [(n, name) for name in variants if name not in VARIANTS for n in SIZES]
    kept = {(r["digits"], r["augment"]): r for r in old.get("rows", [])
            if old.get("steps") == args.steps}
    record = {
        "what": "FID (digit classifier features) of 4,000 samples against all 4,000 mnist5k "
                "training digits, after equal steps on a seeded subset of them",
        "config": "mnist5k (shipped DCGAN)", "steps": args.steps, "batch_size": 64,
        "policy": POLICY, "ada": ADA if args.ada else None, "subset_seed": SUBSET_SEED,
        "threads": 1, "hardware": describe("cpu"), "rows": list(kept.values()),
    }
    if "curves" in old:
        record["curves"] = old["curves"]
    for n, name in tqdm(runs, desc="small-data runs", unit="run"):
        if (n, name) in kept:
            continue
        row = {"digits": n, "augment": name,
               **train_and_measure(n, variants[name], args.steps, data, extractor,
                                   real_features)}
        record["rows"].append(row)
        write_json(RESULTS, record)  # after every run: a long benchmark keeps what it measured
    by = {(r["digits"], r["augment"]): r["fid"] for r in record["rows"]}
    for row in record["rows"]:  # the paper's comparison: FID with augmentation over without
        row["fid_ratio_to_none"] = round(row["fid"] / by[(row["digits"], "none")], 3)
    write_json(RESULTS, record)
    print(f"{'digits':>7}  " + "  ".join(f"{name:>18}" for name in variants))
    for n in SIZES:
        cells = [f"{by[(n, name)]:8.2f} ({by[(n, name)] / by[(n, 'none')]:.2f}x)"
                 for name in variants]
        print(f"{n:>7}  " + "  ".join(f"{c:>18}" for c in cells))
    print(f"FID at {args.steps} steps (ratio to no augmentation); {RESULTS}")


if __name__ == "__main__":
    main()
