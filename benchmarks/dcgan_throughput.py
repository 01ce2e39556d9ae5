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

    .venv/bin/python benchmarks/dcgan_throughput.py [--steps 60] [--rounds 3] [--threads 2]
        [--device cpu|cuda] [--out FILE]

Writes benchmarks/results/dcgan_throughput.json with the hardware (CPU model, torch's CPU
capability, bf16 support, threads) and what ``auto`` chose there. Targets: the shipped config
>= 1.4x the plain loop on any machine, >= 1.9x where bf16 is native.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import gankit
from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS
from gankit.data.images import to_unit_range
from gankit.training.hardware import choose_precision, describe

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


def plain_loop(steps: int, loader: bool, device: torch.device) -> float:
    """Seconds for ``steps`` steps of the plain float32 loop (after a warm-up); batches from a
    DataLoader over a TensorDataset (``loader``), as tutorials write it, or drawn in memory
    with gankit's sampler (one gather per batch)."""
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

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def gankit_loop(steps: int, overrides: list[str]) -> float:
    run = gankit.build("mnist5k", overrides=overrides, progress=False, snapshots=False)
    run.fit(5)
    start = time.perf_counter()
    run.fit(5 + steps)
    if run.trainer.device.type == "cuda":
        torch.cuda.synchronize(run.trainer.device)
    return time.perf_counter() - start


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
    variants = {name: overrides for name, overrides in VARIANTS.items()
                if auto.precision == "bf16" or "train.precision=bf16" not in overrides}
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, overrides in variants.items():
            elapsed = (plain_loop(args.steps, overrides == "loader", device)
                       if isinstance(overrides, str) else
                       gankit_loop(args.steps, [*overrides, f"train.threads={args.threads}",
                                                f"train.device={args.device}"]))
            seconds[name].append(elapsed)
    baseline = args.steps * BATCH / statistics.median(seconds[next(iter(variants))])
    hardware = describe(device)
    rows = []
    print(f"DCGAN-28, batch {BATCH}, {args.steps} steps x {args.rounds} rounds, "
          f"{args.threads} threads, {args.device}")
    print("hardware: " + ", ".join(f"{k} {v}" for k, v in hardware.items()))
    print(f"precision auto -> {auto.precision} ({auto.reason})")
    print(f"{'variant':62s} {'images/s':>9s} {'steps/s':>8s} {'ratio':>6s}")
    for name, times in seconds.items():
        images = args.steps * BATCH / statistics.median(times)
        rows.append({"variant": name, "images_per_s": images, "steps_per_s": images / BATCH,
                     "ratio": images / baseline})
        print(f"{name:62s} {images:9.0f} {images / BATCH:8.2f} {images / baseline:6.2f}x")
    skipped = [name for name in VARIANTS if name not in variants]
    if skipped:
        print(f"skipped (bf16 is emulated here): {'; '.join(skipped)}")
    shipped = next(row["ratio"] for row in rows if row["variant"] == SHIPPED)
    target = 1.9 if auto.precision == "bf16" else 1.4
    print(f"shipped config under auto: {shipped:.2f}x the plain loop (target >= {target}x: "
          f"{'met' if shipped >= target else 'MISSED'})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "steps": args.steps, "rounds": args.rounds, "threads": args.threads, "batch": BATCH,
        "device": args.device, "hardware": hardware, "auto_precision": auto.precision,
        "auto_reason": auto.reason, "skipped": skipped, "target": target,
        "shipped_ratio": shipped, "results": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
