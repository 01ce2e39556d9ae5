"""Throughput of a DCGAN-28 training step: gankit's trainer against a plain PyTorch loop.

The baseline is what common scripts do: the DCGAN architecture written out here with
``nn.Sequential``, float32, batches from a ``DataLoader`` over the images held in memory, and
G(z) computed twice per step (once for D's step, once for G's). The same loop fed by gankit's
in-memory sampler is shown too, to separate the data pipeline from the training step.
gankit runs the shipped ``mnist5k`` config (``precision: auto``: bf16 autocast where the hardware
runs it natively, else fp32; one G(z) per step; fused Adam), and each speed option switched on
and off, to show what each one buys. Every variant trains on the same
mnist5k batches (batch 64, non-saturating loss, Adam 2e-4), is warmed up, then timed over the
same number of steps, interleaved in rounds so that machine noise hits all of them alike; the
median of the rounds is reported with its ratio to the baseline measured in the same run.

It also sets the step against this machine's limit (``step_limit.py``): the FLOP of one step of
each variant, counted with ``torch.utils.flop_counter`` on a real step (matmuls and
convolutions, forward and backward), times its steps/s, against the peak GFLOP/s of a large
matmul and a large convolution's forward + backward at the step's dtype (fp32, and bf16 where it
is native), measured in every round beside the steps so that the fraction holds on a shared
machine; and a ``torch.profiler`` trace of a few steps of the plain loop and of gankit in fp32
and bf16, its time grouped into convolutions/matmuls, batch norm, elementwise work, the
optimizer, casts/copies and data/other.

    .venv/bin/python benchmarks/dcgan_throughput.py [--steps 60] [--rounds 3] [--threads 2]
        [--device cpu|cuda] [--out FILE]

Writes benchmarks/results/dcgan_throughput.json with the hardware (CPU model, torch's CPU
capability, bf16 support, threads) and what ``auto`` chose there. Targets: where bf16 is native
the shipped config >= 1.9x the plain loop (issue 9); in fp32 the shipped networks and loop reach
>= 55% of this machine's peak (the faster of its large matmul and large convolution), which
replaces issue 9's fixed 1.4x over the plain loop (issue 30): a ratio to a plain loop moves with
the machine while the step's work stays the same. Why 55%: on one core of an AVX-512 CPU the
step's convolutions and matmuls take about 77% of its time and run at 70-80% of the
large-convolution peak at these shapes (1 to 128 channels, 7 to 28 px, batch 64), which puts
the step at 59-68% of the peak over four runs; 55% is that less the spread between runs, and
70-80% is the ceiling with these networks (everything but the convolutions free). The rest
of a step is batch norm (~7%), activations and losses (~5%), Python and the framework between
operators (~8%) and the optimizer (~2%): memory-bound work that only fusing operators would
remove. docs/speed.md has the table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from step_limit import (
    PEAK_CONV,
    PEAK_MATMUL_SIDE,
    counted_flop,
    median_rates,
    peak_rates,
    time_shares,
)
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

import gankit
from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS
from gankit.data.images import to_unit_range
from gankit.training.hardware import choose_precision, describe
from gankit.training.runlog import write_json

RESULTS = Path(__file__).parent / "results" / "dcgan_throughput.json"
BATCH, LATENT, WIDTH = 64, 100, 64


def plain_models() -> tuple[nn.Module, nn.Module]:
    """DCGAN-28 as a tutorial writes it: 7x7 projection, two stride-2 transposed convolutions."""
    G = nn.Sequential(
        nn.Unflatten(1, (LATENT, 1, 1)),
        nn.ConvTranspose2d(LATENT, 2 * WIDTH, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * WIDTH),
        nn.ReLU(),
        nn.ConvTranspose2d(2 * WIDTH, WIDTH, 4, 2, 1, bias=False), nn.BatchNorm2d(WIDTH),
        nn.ReLU(),
        nn.ConvTranspose2d(WIDTH, 1, 4, 2, 1), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(1, WIDTH, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(WIDTH, 2 * WIDTH, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * WIDTH),
        nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * WIDTH * 7 * 7, 1))
    return G, D


def plain_step(loader: bool, device: torch.device) -> Callable[[], None]:
    """One step of the plain float32 loop; batches from a DataLoader over a TensorDataset
    (``loader``), as tutorials write it, or drawn in memory with gankit's sampler (one gather
    per batch)."""
    torch.manual_seed(0)
    G, D = (net.to(device) for net in plain_models())
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data = DATASETS["mnist5k"](DataConfig(name="mnist5k"))
    generator = torch.Generator().manual_seed(0)
    ones, zeros = torch.ones(BATCH, 1, device=device), torch.zeros(BATCH, 1, device=device)
    images = TensorDataset(to_unit_range(data.images))
    batches = DataLoader(images, batch_size=BATCH, shuffle=True, drop_last=True,
                         generator=generator)
    stream = iter(())

    def next_batch() -> torch.Tensor:
        nonlocal stream
        if not loader:
            return data.sample(BATCH, generator)["x"].to(device)
        try:
            return next(stream)[0].to(device)
        except StopIteration:  # a new epoch
            stream = iter(batches)
            return next(stream)[0].to(device)

    def step() -> None:
        real = next_batch()
        z = torch.randn(BATCH, LATENT, generator=generator).to(device)
        d_loss = (F.binary_cross_entropy_with_logits(D(real), ones)
                  + F.binary_cross_entropy_with_logits(D(G(z).detach()), zeros))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(D(G(z)), ones)  # G(z) a second time
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()

    return step


def plain_loop(steps: int, loader: bool, device: torch.device) -> tuple[float, float]:
    """Wall and CPU seconds of ``steps`` steps of the plain loop (:func:`plain_step`) after a
    warm-up."""
    step = plain_step(loader, device)
    for _ in range(5):
        step()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, time.process_time() - cpu


def gankit_loop(steps: int, overrides: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``steps`` steps of gankit's ``fit`` after a warm-up."""
    run = gankit.build("mnist5k", overrides=overrides, progress=False, snapshots=False)
    run.fit(5)
    start, cpu = time.perf_counter(), time.process_time()
    run.fit(5 + steps)
    if run.trainer.device.type == "cuda":
        torch.cuda.synchronize(run.trainer.device)
    return time.perf_counter() - start, time.process_time() - cpu


def warm_step(overrides: str | list[str], device: torch.device) -> tuple[Callable[[], None], str]:
    """One step of a variant as it is timed (the plain loop's, or one step of gankit's
    ``fit``), warmed up, and the precision it computes in: what the FLOP count and the profile
    see."""
    if isinstance(overrides, str):
        step, precision = plain_step(overrides == "loader", device), "fp32"
    else:
        run = gankit.build("mnist5k", overrides=overrides, progress=False, snapshots=False)
        step, precision = lambda: run.fit(run.trainer.step + 1), run.trainer.precision.precision
    for _ in range(5):
        step()
    return step, precision


# name -> "loader" / "memory" (the plain loop) or gankit overrides; bf16 marks forced bf16,
# skipped where the hardware emulates it (minutes per round, and no config would choose it).
VARIANTS: dict[str, str | list[str]] = {
    "plain PyTorch, fp32, G(z) twice, DataLoader (baseline)": "loader",
    "plain PyTorch, fp32, G(z) twice, in-memory batches": "memory",
    "gankit, fp32, G(z) twice": ["train.precision=fp32", "train.reuse_fake=false"],
    "gankit, fp32, one G(z)": ["train.precision=fp32"],
    "gankit, bf16, one G(z)": ["train.precision=bf16"],
    "gankit, bf16, channels-last, one G(z)": ["train.precision=bf16", "train.channels_last=true"],
    "gankit, shipped mnist5k config (precision auto)": [],
}
SHIPPED = "gankit, shipped mnist5k config (precision auto)"
# The shipped networks and loop in fp32: what the shipped config runs where auto picks fp32.
FP32_SHIPPED = "gankit, fp32, one G(z)"
PROFILED = ("plain PyTorch, fp32, G(z) twice, DataLoader (baseline)", FP32_SHIPPED,
            "gankit, bf16, one G(z)")
PROFILE_STEPS = 10
# Where bf16 is native, the shipped config against the plain loop (issue 9's target).
BF16_TARGET = 1.9
# The fp32 target, a fraction of the machine's peak (see the module docstring for why).
FP32_TARGET = 0.55


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the GPU check)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    auto = choose_precision("auto", device)
    variants = {name: overrides if isinstance(overrides, str) else
                [*overrides, f"train.threads={args.threads}", f"train.device={args.device}"]
                for name, overrides in VARIANTS.items()
                if auto.precision == "bf16" or "train.precision=bf16" not in overrides}
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    if auto.precision != "bf16":  # emulated bf16: minutes per peak, and no variant runs it
        del dtypes["bf16"]
    flop, precision, steps = {}, {}, {}
    for name, overrides in tqdm(variants.items(), desc="FLOP of a step", leave=False):
        steps[name], precision[name] = warm_step(overrides, device)
        flop[name] = counted_flop(steps[name])
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}  # the FLOP/s clock
    peaks: dict[str, list[dict[str, float]]] = {key: [] for key in dtypes}
    for _ in tqdm(range(args.rounds), desc="rounds", leave=False):
        for key, dtype in dtypes.items():  # on the CPU: the GPU's peak is not measured here
            peaks[key].append(peak_rates(dtype) if device.type == "cpu" else {})
        for name, overrides in variants.items():
            elapsed, on_cpu = (plain_loop(args.steps, overrides == "loader", device)
                               if isinstance(overrides, str) else
                               gankit_loop(args.steps, overrides))
            seconds[name].append(elapsed)
            cpu[name].append(on_cpu)
    peak = {key: median_rates(rounds) if rounds[0] else {} for key, rounds in peaks.items()}
    limit = {key: max(rates.values(), default=float("nan")) for key, rates in peak.items()}
    profiles = {}
    if device.type == "cpu":
        for name in (name for name in PROFILED if name in variants):
            profiles[name] = {"precision": precision[name],
                              **time_shares(steps[name], PROFILE_STEPS)}
            conv_s = (profiles[name]["shares"]["conv/matmul"] * profiles[name]["step_cpu_ms"]
                      / 1e3)
            profiles[name]["conv_matmul_gflop_s"] = flop[name] / conv_s / 1e9
            profiles[name]["conv_matmul_of_peak"] = (profiles[name]["conv_matmul_gflop_s"]
                                                     / limit[precision[name]])
    baseline = args.steps * BATCH / statistics.median(seconds[next(iter(variants))])
    baseline_cpu = args.steps / statistics.median(cpu[next(iter(variants))])
    hardware = describe(device)
    rows = []
    print(f"DCGAN-28, batch {BATCH}, {args.steps} steps x {args.rounds} rounds, "
          f"{args.threads} threads, {args.device}")
    print("hardware: " + ", ".join(f"{k} {v}" for k, v in hardware.items()))
    print(f"precision auto -> {auto.precision} ({auto.reason})")
    for key, rates in peak.items():
        print(f"peak {key}: " + ", ".join(f"{k} {v:.1f} GFLOP per CPU second"
                                          for k, v in rates.items()))
    print(f"{'variant':62s} {'images/s':>9s} {'steps/s':>8s} {'ratio':>6s} {'GFLOP':>6s} "
          f"{'GFLOP/cpu-s':>11s} {'of peak':>7s} {'cpu/wall':>8s} {'cpu ratio':>9s}")
    for name, times in seconds.items():
        images = args.steps * BATCH / statistics.median(times)
        rate = flop[name] * args.steps / statistics.median(cpu[name]) / 1e9
        rows.append({"variant": name, "images_per_s": images, "steps_per_s": images / BATCH,
                     "ratio": images / baseline, "precision": precision[name],
                     "gflop_per_step": flop[name] / 1e9, "gflop_per_cpu_s": rate,
                     "of_peak": rate / limit.get(precision[name], float("nan")),
                     "cpu_per_wall": statistics.median(cpu[name]) / statistics.median(times),
                     # the ratio by CPU seconds: steadier where other jobs share the cores
                     "cpu_ratio": args.steps / statistics.median(cpu[name]) / baseline_cpu})
        print(f"{name:62s} {images:9.0f} {images / BATCH:8.2f} {images / baseline:6.2f}x "
              f"{flop[name] / 1e9:6.2f} {rate:11.1f} {rows[-1]['of_peak']:7.1%} "
              f"{rows[-1]['cpu_per_wall']:8.2f} {rows[-1]['cpu_ratio']:8.2f}x")
    skipped = [name for name in VARIANTS if name not in variants]
    if skipped:
        print(f"skipped (bf16 is emulated here): {'; '.join(skipped)}")
    for name, record in profiles.items():
        print(f"where a step's time goes, {name} ({record['step_cpu_ms']:.1f} CPU ms a step "
              f"under the profiler; its convolutions and matmuls at "
              f"{record['conv_matmul_gflop_s']:.0f} GFLOP per CPU second, "
              f"{record['conv_matmul_of_peak']:.0%} of peak): " + ", ".join(
                  f"{kind} {share:.1%}" for kind, share in record["shares"].items()))
    shipped = next(row["ratio"] for row in rows if row["variant"] == SHIPPED)
    target = BF16_TARGET if auto.precision == "bf16" else None
    if target is not None:
        print(f"shipped config under auto: {shipped:.2f}x the plain loop (target >= {target}x "
              f"where bf16 is native: {'met' if shipped >= target else 'MISSED'})")
    fp32_of_peak = next(row["of_peak"] for row in rows if row["variant"] == FP32_SHIPPED)
    print(f"{FP32_SHIPPED}: {fp32_of_peak:.0%} of this machine's fp32 peak (target >= "
          f"{FP32_TARGET:.0%}: {'met' if fp32_of_peak >= FP32_TARGET else 'MISSED'})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, {
        "steps": args.steps, "rounds": args.rounds, "threads": args.threads, "batch": BATCH,
        "device": args.device, "hardware": hardware, "auto_precision": auto.precision,
        "auto_reason": auto.reason, "skipped": skipped, "target": target,
        "shipped_ratio": shipped, "results": rows,
        "peak_gflop_s": peak, "limit_gflop_s": limit,
        "peak_problems": {"matmul_side": PEAK_MATMUL_SIDE, "conv": PEAK_CONV},
        "fp32_target": {"variant": FP32_SHIPPED, "of_peak": FP32_TARGET,
                        "measured": fp32_of_peak, "met": fp32_of_peak >= FP32_TARGET},
        "profile": profiles, "profile_steps": PROFILE_STEPS,
        "measured_together": "the peaks were measured in each round beside the steps, in one "
                             "process, and both in CPU seconds (time.process_time), so the "
                             "step's fraction of the peak holds where other jobs on a shared "
                             "machine slow the wall-clock figures (cpu_per_wall below 1)"})


if __name__ == "__main__":
    main()
