"""Image-to-image translation: the Pix2Pix paper's ablation on edges2digits, and CycleGAN on
thin2thick with and without its identity loss.

Each entry trains a shipped config for the same number of steps on one CPU thread, then
measures it as ``gankit eval`` does, on the 1,000 held-out digits in the digit classifier's
space:

- edges2digits (Isola et al. 2017, Tables 1 and 3): L1 alone, cGAN alone, L1 + cGAN with the
  shipped 16x16 PatchGAN, and L1 + cGAN with a 1x1 PixelGAN and with a D that sees the whole
  32x32 image (model.d_depth 0 and 2). Scored by label preservation (the classifier's label of
  G(edges) equals the digit's: the FCN score's analogue), FID-digits against the held-out
  digits, SSIM, L1 and PSNR against the true digit. Target: L1 + cGAN best or equal on FID with
  label preservation >= 95%. The paper's Cityscapes FCN per-pixel accuracies, to compare
  indicatively: L1 0.42, cGAN 0.57, L1 + cGAN 0.66, ground truth 0.80.
- thin2thick (Zhu et al. 2017): label preservation both ways (target >= 90%), the cycle errors
  |F(G(a)) - a| and |G(F(b)) - b|, and, since the held-out digits pair with their thickened
  selves, SSIM and L1 to the true translation.

    .venv/bin/python benchmarks/translation.py [--only NAME]

Two entries can run at once on two cores (``--only``); each writes its record into
benchmarks/results/translation.json (redone when its steps change, or when deleted) with the
hardware, steps and wall time; runs go to ``--runs`` and their final pictures are copied into
benchmarks/results/translation/.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from records import read_results, save_record, train_fresh

from gankit.training.hardware import describe

RESULTS = Path(__file__).parent / "results" / "translation.json"
PICTURES = Path(__file__).parent / "results" / "translation"
PIX2PIX_STEPS = 2000  # the shipped edges2digits config's
CYCLEGAN_STEPS = 3000  # the shipped thin2thick config's
# name -> (shipped config, overrides, steps)
ENTRIES: dict[str, tuple[str, list[str], int]] = {
    "L1": ("edges2digits", ["pix2pix.gan_weight=0"], PIX2PIX_STEPS),
    "cGAN": ("edges2digits", ["pix2pix.pixel_weight=0"], PIX2PIX_STEPS),
    "L1+cGAN": ("edges2digits", [], PIX2PIX_STEPS),
    "L1+cGAN, PixelGAN 1x1": ("edges2digits", ["model.d_depth=0"], PIX2PIX_STEPS),
    "L1+cGAN, D sees 34x34 (whole image)": ("edges2digits", ["model.d_depth=2"], PIX2PIX_STEPS),
    "cyclegan": ("thin2thick", [], CYCLEGAN_STEPS),
    "cyclegan, no identity loss": ("thin2thick", ["cyclegan.identity_weight=0"],
                                   CYCLEGAN_STEPS),
}
REPORTED = ("label_preservation", "fid", "ssim", "l1", "psnr", "label_preservation_ba",
            "fid_ba", "ssim_ba", "cycle_l1_a", "cycle_l1_b", "fid_input", "fid_input_ba",
            "label_accuracy_real", "label_accuracy_real_ba")


def run_entry(name: str, runs: Path) -> dict:
    config, overrides, steps = ENTRIES[name]
    slug = name.replace(", ", "-").replace(" ", "-").replace("+", "-")
    run_dir = runs / slug
    run, wall = train_fresh(config, overrides, steps, run_dir)  # its snapshot measures the run
    metrics = run.result
    PICTURES.mkdir(parents=True, exist_ok=True)
    shutil.copy(run_dir / "samples" / f"step-{run.step:07d}.png", PICTURES / f"{slug}.png")
    return {"config": config, "overrides": overrides, "steps": run.step,
            "n": metrics["n"], "train_seconds": run.trainer.elapsed,
            "wall_seconds": wall, "hardware": describe("cpu"),
            **{k: metrics[k] for k in REPORTED if k in metrics}}


def report(results: dict) -> None:
    shown = REPORTED[:10]
    print(f"\n{'entry':36s} {'steps':>6s} {'wall s':>7s} "
          + " ".join(f"{k[:11]:>11s}" for k in shown))
    for name, row in results.items():
        values = " ".join(f"{row[k]:11.4g}" if k in row else f"{'':11s}" for k in shown)
        print(f"{name:36s} {row['steps']:6d} {row['wall_seconds']:7.0f} {values}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=tuple(ENTRIES),
                        help="run just these entries (repeatable)")
    parser.add_argument("--runs", type=Path, default=Path("runs/benchmarks/translation"),
                        help="where the runs (checkpoints, logs) go; pictures are copied out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.only or ENTRIES:
        if read_results(RESULTS).get(name, {}).get("steps") == ENTRIES[name][2]:
            continue
        record = run_entry(name, args.runs)
        save_record(RESULTS, name, record)
        print(name, json.dumps({k: v for k, v in record.items() if k != "hardware"}), flush=True)
    report(read_results(RESULTS))


if __name__ == "__main__":
    main()
