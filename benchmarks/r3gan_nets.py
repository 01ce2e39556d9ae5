"""Step time of the r3gan networks at StackedMNIST's size (28 x 28 x 3, batch 64) on one CPU
thread, for the widths one would train on a laptop core (issue 30).

For each setting (width = g_hidden = d_hidden, blocks per stage, channels per group) it times:

- ``fwd_bwd``: G forward and backward through D, and D forward and backward on a real and a
  fake batch: the networks' share of any two-player step;
- ``rpgan_step``: what the RpGAN + R1 + R2 recipe computes per step: D's relativistic loss with
  both zero-centred penalties (double backward through D on real and fake), then G's loss.

in fp32 and bf16 autocast, channels-last, with the optimizers left out (a few hundred thousand
parameters). The median of ``--repeats`` timed steps after one warm-up step.

    PYTHONPATH=src nice -n 5 python benchmarks/r3gan_nets.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from gankit.configuration.schema import ModelConfig
from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.training.hardware import describe
from gankit.training.runlog import write_json

RESULTS = Path(__file__).parent / "results" / "r3gan_nets.json"
SHAPE, BATCH, LATENT = (3, 28, 28), 64, 64
# (width, blocks per stage, channels per group)
SETTINGS = [(8, 1, 8), (8, 2, 8), (12, 1, 8), (16, 1, 16), (16, 2, 16)]
GAMMA = 0.05  # R3GAN's CIFAR-10 gamma; its value does not change the cost


def penalty(logits: Tensor, x: Tensor) -> Tensor:
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad.square().sum((1, 2, 3)).mean()


def step(G: nn.Module, D: nn.Module, real: Tensor, z: Tensor, bf16: bool, rpgan: bool) -> None:
    """One D phase then one G phase, gradients accumulated and dropped (no optimizer)."""
    autocast = torch.autocast("cpu", torch.bfloat16, enabled=bf16)
    with autocast:
        fake = G(z).detach()
    real, fake = real.requires_grad_(rpgan), fake.requires_grad_(rpgan)
    with autocast:
        d_real, d_fake = D(real).logits, D(fake).logits
    loss = F.softplus(-(d_real - d_fake)).mean()
    if rpgan:
        loss = loss + GAMMA / 2 * (penalty(d_real, real) + penalty(d_fake, fake))
    loss.backward()
    with autocast:
        d_real, d_fake = D(real.detach()).logits, D(G(z)).logits
    F.softplus(-(d_fake - d_real)).mean().backward()


def time_setting(width: int, blocks: int, group: int, bf16: bool, rpgan: bool,
                 repeats: int) -> dict:
    config = ModelConfig(name="r3gan", latent_dim=LATENT, g_hidden=width, d_hidden=width,
                         blocks_per_stage=blocks, channels_per_group=group)
    torch.manual_seed(0)
    G = GENERATORS["r3gan"](config, SHAPE).to(memory_format=torch.channels_last)
    D = DISCRIMINATORS["r3gan"](config, SHAPE).to(memory_format=torch.channels_last)
    real = (torch.rand(BATCH, *SHAPE) * 2 - 1).contiguous(memory_format=torch.channels_last)
    z = torch.randn(BATCH, LATENT)
    seconds = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        step(G, D, real.clone(), z, bf16, rpgan)
        if i:  # the first step warms oneDNN's kernel caches
            seconds.append(time.perf_counter() - start)
    return {"g_hidden": width, "d_hidden": width, "blocks_per_stage": blocks,
            "channels_per_group": group, "precision": "bf16" if bf16 else "fp32",
            "step": "rpgan_step" if rpgan else "fwd_bwd",
            "seconds": statistics.median(seconds),
            "parameters": sum(p.numel() for net in (G, D) for p in net.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = [(s, bf16, rpgan) for s in SETTINGS for rpgan in (False, True)
             for bf16 in (False, True)]
    rows = []
    for (width, blocks, group), bf16, rpgan in tqdm(cases, desc="settings"):
        rows.append(time_setting(width, blocks, group, bf16, rpgan, args.repeats))
        row = rows[-1]
        tqdm.write(f"width {width:3d} blocks {blocks} group {group:2d} {row['precision']} "
                   f"{row['step']:10s} {row['seconds']:.3f} s  ({row['parameters']:,} params)")
    base = next(r["seconds"] for r in rows if r["step"] == "rpgan_step"
                and r["precision"] == "fp32")
    for row in rows:
        row["ratio_to_first_rpgan_fp32"] = row["seconds"] / base
    write_json(RESULTS, {"hardware": describe(torch.device("cpu")), "shape": list(SHAPE),
                         "batch": BATCH, "latent_dim": LATENT, "repeats": args.repeats,
                         "channels_last": True, "rows": rows})
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
