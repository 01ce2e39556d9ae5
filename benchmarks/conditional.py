"""Conditional and structured GANs on mnist5k: do they draw the class they are asked for?

Each entry trains a shipped config for a number of generator steps (the same for the three
class-conditional recipes: equal budget) on one CPU thread, then evaluates it as ``gankit eval``
does, on ``--n`` samples (classes balanced for the class metrics) in the feature space of the
project's digit classifier:

- cgan, acgan, projection: class accuracy (the classifier names the asked class), intra-class
  FID (mean over the 10 classes of the FID between generated and training digits of that
  class), the unconditional FID and recall. Targets: accuracy >= 97% for AC-GAN and projection
  (real held-out digits score 98.5%), intra-FID within 1.5x of the FID.
- infogan, seeds 0-2 (the paper's, and with ``infogan.invariance_weight``): the categorical
  code's accuracy under its best one-to-one match to the digits, from Q on held-out real
  digits (``unsupervised_accuracy``, the paper's "5% error") and from the classifier on
  generated digits (``cat0_accuracy``). Target >= 95%.
- caae: re-conditioned class accuracy (each held-out digit re-drawn as every other class),
  reconstruction L1 and the style ratio. Target >= 90%.

    .venv/bin/python benchmarks/conditional.py [--only NAME] [--n 5000]

Two entries can run at once on two cores (``--only``); each writes its own record into
benchmarks/results/conditional.json (kept between runs: an entry is redone when its steps or
n change, or when deleted) with the hardware, steps and wall time; the runs go to ``--runs``
and their final pictures are copied into benchmarks/results/conditional/.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from records import read_results, save_record, train_fresh

from gankit.training.hardware import describe

RESULTS = Path(__file__).parent / "results" / "conditional.json"
PICTURES = Path(__file__).parent / "results" / "conditional"

# InfoGAN's MNIST networks: DCGAN with 1024-unit fully connected layers, through which the
# class (a one-hot beside 100 noise dimensions) reaches all of G's features
FC = ["model.name=dcgan-fc"]
# the data set's D, for recipes whose overlay changes it (AC-GAN's: hinge, spectral norm)
BATCH_NORM_D = ["loss.name=non-saturating", "model.spectral_norm=false", "model.d_norm=batch"]
# name -> (shipped config, overrides, generator steps)
ENTRIES: dict[str, tuple[str, list[str], int]] = {
    "cgan": ("mnist5k-cgan", FC, 3000),
    "projection, no g_ema": ("mnist5k-projection", [*FC, "train.g_ema=0"], 3000),
    # the data set's own networks: the class enters DCGAN's G through its one linear
    # projection only
    **{f"{name}, dcgan networks": (f"mnist5k-{name}", [], 5000)
       for name in ("cgan", "acgan", "projection")},
    "projection, no g_ema, dcgan networks": ("mnist5k-projection", ["train.g_ema=0"], 5000),
    # AC-GAN with the data set's D (non-saturating loss, batch norm) and weight 1, and each
    # class head: the paper's (ac, whose D also learns the class of the fakes), real examples
    # only, TAC-GAN's twin, ADC-GAN's 2K head; the overlay's is adc, hinge, spectral norm, 2
    **{f"acgan, {head}, batch-norm D{extra}, dcgan networks": (
        "mnist5k-acgan", [*BATCH_NORM_D, "acgan.class_weight=1", f"acgan.classifier={head}",
                          *more], 5000)
       for head, extra, more in (("ac", "", []), ("real", "", []),
                                 ("real", ", g_ema", ["train.g_ema=0.999"]), ("tac", "", []),
                                 ("adc", "", []), ("adc", ", g_ema", ["train.g_ema=0.999"]))},
    **{f"acgan, adc, batch-norm D, class_weight {w}, dcgan networks": (
        "mnist5k-acgan", [*BATCH_NORM_D, f"acgan.class_weight={w}"], 5000) for w in (2, 4)},
    "acgan, class_weight 1, dcgan networks": ("mnist5k-acgan", ["acgan.class_weight=1"], 5000),
    "acgan, class_weight 1, g_ema, dcgan networks": (
        "mnist5k-acgan", ["acgan.class_weight=1", "train.g_ema=0.999"], 5000),
    "acgan, ac, batch-norm D": ("mnist5k-acgan", [*FC, *BATCH_NORM_D, "acgan.class_weight=1",
                                                  "acgan.classifier=ac"], 3000),
    # openai/InfoGAN's MNIST networks and noise (62 dimensions)
    **{f"infogan seed {s}": ("mnist5k-infogan", [f"train.seed={s}", *FC, "model.latent_dim=62"],
                             2500)
       for s in range(3)},
    # and Q asked to read the categorical code from a rotated, zoomed, shifted G(z, c) too
    **{f"infogan, invariance, seed {s}": (
        "mnist5k-infogan", [f"train.seed={s}", *FC, "model.latent_dim=62",
                            "infogan.invariance_weight=1"], 2500)
       for s in range(3)},
    "caae": ("mnist5k-caae", [], 7000),
    # D_z at the paper's weight: E keeps the class in z, and G often ignores l
    "caae, z_weight 0.01": ("mnist5k-caae", ["caae.z_weight=0.01"], 1500),
    # and twice the re-drawing weight: every digit re-drawn, no style kept (README)
    "caae, z_weight 0.01, recondition_weight 0.2": (
        "mnist5k-caae", ["caae.z_weight=0.01", "caae.recondition_weight=0.2"], 4000),
    "caae, z_weight 0.1": ("mnist5k-caae", ["caae.z_weight=0.1"], 7000),
}
REPORTED = ("class_accuracy", "intra_fid", "fid_class_size", "fid", "recall",
            "unsupervised_accuracy",
            "cat0_accuracy", "recondition_accuracy", "reconstruction_l1", "style_ratio",
            "fid_held_out")


def run_entry(name: str, n: int, runs: Path) -> dict:
    config, overrides, steps = ENTRIES[name]
    slug = name.replace(", ", "-").replace(" ", "-")
    run_dir = runs / slug
    run, wall = train_fresh(config, overrides, steps, run_dir)  # its snapshot draws the pictures
    metrics = run.evaluate(n)
    PICTURES.mkdir(parents=True, exist_ok=True)
    final = run_dir / "samples" / f"step-{run.step:07d}.png"
    for picture in [final, *sorted(run_dir.glob("codes-*.png")), run_dir / "recondition.png"]:
        if picture.is_file():
            kind = "samples" if picture == final else picture.stem
            shutil.copy(picture, PICTURES / f"{slug}-{kind}.png")
    return {"config": config, "overrides": overrides, "steps": run.step, "n": n,
            "train_seconds": run.trainer.elapsed, "wall_seconds": wall,
            "hardware": describe("cpu"), **{k: metrics[k] for k in REPORTED if k in metrics}}


def report(results: dict) -> None:
    print(f"\n{'entry':18s} {'steps':>6s} {'wall s':>7s} "
          + " ".join(f"{k[:12]:>12s}" for k in REPORTED[:-1]))
    for name, row in results.items():
        values = " ".join(f"{row[k]:12.4g}" if k in row else f"{'':12s}" for k in REPORTED[:-1])
        print(f"{name:18s} {row['steps']:6d} {row['wall_seconds']:7.0f} {values}")
    by_setting: dict[str, list[float]] = {}  # "infogan", "infogan, invariance": seed results
    for name, row in results.items():
        if name.startswith("infogan") and "unsupervised_accuracy" in row:
            setting = name.rsplit(" seed ", 1)[0].rstrip(",")
            by_setting.setdefault(setting, []).append(row["unsupervised_accuracy"])
    for setting, seeds in by_setting.items():
        print(f"{setting} unsupervised accuracy over {len(seeds)} seeds: mean "
              f"{np.mean(seeds):.4f}, min {min(seeds):.4f}, max {max(seeds):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=tuple(ENTRIES),
                        help="run just these entries (repeatable)")
    parser.add_argument("--n", type=int, default=5000, help="evaluation samples")
    parser.add_argument("--runs", type=Path, default=Path("runs/benchmarks/conditional"),
                        help="where the runs (checkpoints, logs) go; pictures are copied out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.only or ENTRIES:
        done = read_results(RESULTS).get(name, {})
        if done.get("steps") == ENTRIES[name][2] and done.get("n") == args.n:
            continue
        record = run_entry(name, args.n, args.runs)
        save_record(RESULTS, name, record)
        print(name, json.dumps({k: v for k, v in record.items() if k != "hardware"}), flush=True)
    report(read_results(RESULTS))


if __name__ == "__main__":
    main()
