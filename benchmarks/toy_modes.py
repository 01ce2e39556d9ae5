"""Mode coverage on PacGAN's toy mixtures, next to PacGAN's Table 1 (Lin et al. 2018).

For each data set (ring8, grid25) and loss (non-saturating, WGAN-GP, hinge, or the MEG recipe)
and several seeds: train the shipped config, then measure on 2,500 samples the modes captured,
the percentage of high-quality samples (within 3 std of a mode), the reverse KL of the mode
histogram to uniform and the exact W1; plus the training wall and CPU time (one torch thread).
The non-saturating GAN measured alongside is the baseline of the ratio column. With --samplers,
each trained model is also measured under the truncation trick and under MALA on its latent
energy (gankit.sampling): the same model, three ways of drawing z. Finished runs are
kept in --out, so an interrupted benchmark resumes where it stopped.

    python benchmarks/toy_modes.py                    # the README table (3 seeds)
    python benchmarks/toy_modes.py --seeds 1 --datasets grid25 --losses hinge
    python benchmarks/toy_modes.py --seeds 1 --losses meg non-saturating hinge \
        --samplers prior truncation mala --out benchmarks/results/toy_samplers.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch

import gankit
from gankit.sampling.settings import SamplerSettings
from gankit.training.runlog import to_json

PACGAN_TABLE_1 = {  # (modes, high-quality %, reverse KL), Lin et al. 2018, Table 1
    ("ring8", "GAN"): (6.3, 98.2, 0.45),
    ("grid25", "GAN"): (17.3, 94.8, 0.70),
    ("ring8", "PacGAN4"): (7.8, 95.9, 0.07),
    ("grid25", "PacGAN4"): (24.8, 93.6, 0.04),
}
# WGAN-GP and MEG take n_critic = 5 critic steps per generator step: 3,000 generator steps
# (15,000 critic steps) cost about the CPU time of the others' 12,000 one-to-one steps.
STEPS = {"wgan-gp": 3000, "meg": 3000}
SAMPLE_KEYS = ("modes", "high_quality", "reverse_kl", "w1")  # of a set of samples
KEYS = (*SAMPLE_KEYS, "seconds", "cpu_seconds")  # of a trained run
# The draws of z --samplers compares on one model: the truncation trick at threshold 1 (Brock
# et al. 2019) and MALA at T = 1 with chains long enough to cross between modes (on grid25 300
# steps moved a 12,000-step model's high-quality rate by +0.2 points, 1,000 by +0.5).
SAMPLERS = {"prior": SamplerSettings(),
            "truncation": SamplerSettings("truncation", threshold=1.0),
            "mala": SamplerSettings("mala", steps=1000, step_size=0.01)}
EVAL_SEED = 2019


def run_one(config: str, seed: int, steps: int | None, samplers: list[str]
            ) -> dict[str, float]:
    """Train ``config`` with ``seed``; its figures under the prior, and under each of
    ``samplers`` as "samplers": {the draw's name (SamplerSettings.describe): figures}, so that
    a run measured with other settings is measured again."""
    overrides = [f"train.seed={seed}"] + ([f"train.steps={steps}"] if steps else [])
    run = gankit.build(config, overrides, progress=False, snapshots=False)  # time training alone
    start, cpu_start = time.perf_counter(), time.process_time()
    run.fit()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    record = {**run.evaluate(), "seconds": seconds, "cpu_seconds": cpu}
    if samplers:
        record["samplers"] = {draw_name(name): run.eval_record(seed=EVAL_SEED,
                                                              sampler=SAMPLERS[name])
                              for name in samplers}
    return record


def draw_name(sampler: str) -> str:
    """The key of a --samplers draw in the records: its settings in short."""
    return SAMPLERS[sampler].describe() or "prior"


def summarize(results: list[dict[str, float]], keys: tuple[str, ...] = KEYS
              ) -> dict[str, tuple[float, float]]:
    """Mean and population std of each of ``keys``; a run with no high-quality sample has
    reverse KL inf (stored as null in the JSON), which makes that row's mean inf."""
    out = {}
    for k in keys:
        values = [math.inf if r[k] is None else float(r[k]) for r in results]
        finite = all(math.isfinite(v) for v in values)
        out[k] = ((statistics.mean(values), statistics.pstdev(values)) if finite
                  else (math.inf, math.nan))
    return out


def table(rows: dict[tuple[str, str], dict[str, tuple[float, float]]]) -> str:
    lines = ["| data | method | modes | high-quality % | reverse KL | W1 | wall s | CPU s | "
             "modes vs NS-GAN |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (dataset, loss), s in rows.items():
        base = rows.get((dataset, "non-saturating"))
        ratio = s["modes"][0] / base["modes"][0] if base and base["modes"][0] else float("nan")
        lines.append(
            f"| {dataset} | gankit {loss} | {s['modes'][0]:.1f} ± {s['modes'][1]:.1f} | "
            f"{s['high_quality'][0]:.1f} ± {s['high_quality'][1]:.1f} | "
            f"{s['reverse_kl'][0]:.3f} ± {s['reverse_kl'][1]:.3f} | {s['w1'][0]:.3f} | "
            f"{s['seconds'][0]:.0f} | {s['cpu_seconds'][0]:.0f} | {ratio:.2f}x |")
    for (dataset, method), (modes, hq, kl) in PACGAN_TABLE_1.items():
        lines.append(f"| {dataset} | PacGAN paper: {method} | {modes} | {hq} | {kl} | | | | |")
    return "\n".join(lines)


def sampler_table(raw: dict[str, dict[str, dict]], samplers: list[str]) -> str:
    """One row per model and draw of z (seed-averaged, as :func:`summarize`)."""
    lines = ["| data | model | draw of z | modes | high-quality % | reverse KL | W1 | "
             "MALA acceptance |", "|---|---|---|---|---|---|---|---|"]
    for config, seeds in raw.items():
        dataset, loss = config.split("-", 1)
        for name in samplers:
            key = draw_name(name)
            runs = [r["samplers"][key] for r in seeds.values() if key in r.get("samplers", {})]
            if not runs:
                continue
            s = summarize(runs, SAMPLE_KEYS)
            acceptance = [r["mcmc_acceptance"] for r in runs if "mcmc_acceptance" in r]
            shown = f"{statistics.mean(acceptance):.2f}" if acceptance else ""
            lines.append(
                f"| {dataset} | {loss} | {key} | "
                f"{s['modes'][0]:.1f} | {s['high_quality'][0]:.1f} | {s['reverse_kl'][0]:.3f} | "
                f"{s['w1'][0]:.3f} | {shown} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["ring8", "grid25"])
    parser.add_argument("--losses", nargs="+", default=["non-saturating", "wgan-gp", "hinge"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int,
                        help="override train.steps (default: the config's; 3000 for wgan-gp, meg)")
    parser.add_argument("--samplers", nargs="+", default=[], choices=list(SAMPLERS),
                        help="also measure each model under these draws of z")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is fastest for these small MLPs)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/toy_modes.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    # Runs already in --out are kept (the benchmark resumes where it stopped); each new run is
    # saved as soon as it ends.
    raw = json.loads(args.out.read_text())["runs"] if args.out.is_file() else {}
    rows = {}
    for dataset in args.datasets:
        for loss in args.losses:
            config = f"{dataset}-{loss}"
            done = raw.setdefault(config, {})
            for seed in map(str, range(args.seeds)):
                measured = done.get(seed, {}).get("samplers", {})
                if seed not in done or not {draw_name(s) for s in args.samplers} <= set(measured):
                    done[seed] = run_one(config, int(seed), args.steps or STEPS.get(loss),
                                         args.samplers)
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    args.out.write_text(to_json({"threads": args.threads, "runs": raw}))
                print(config, f"seed {seed}:", done[seed], flush=True)
            rows[(dataset, loss)] = summarize([done[str(s)] for s in range(args.seeds)])
    print()
    print(table(rows))
    if args.samplers:
        print()
        configs = [f"{dataset}-{loss}" for dataset in args.datasets for loss in args.losses]
        print(sampler_table({config: raw[config] for config in configs}, args.samplers))


if __name__ == "__main__":
    main()
