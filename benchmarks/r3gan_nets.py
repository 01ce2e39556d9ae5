"""Step time of the r3gan networks at StackedMNIST's size (28 x 28 x 3, batch 64) on one CPU
thread, for the widths one would train on a laptop core (issue 30).

For each setting (width = g_hidden = d_hidden, blocks per stage, channels per group) it times:

- ``fwd_bwd``: G forward and backward through D, and D forward and backward on a real and a
  fake batch: the networks' share of any two-player step;
- ``rpgan_step``: what the RpGAN + R1 + R2 recipe computes per step: D's relativistic loss with
  both zero-centred penalties (double backward through D on real and fake), then G's loss.

in fp32 and bf16 autocast, channels-last, with the optimizers left out (a few hundred thousand
parameters). Each row keeps, over ``--repeats`` steps after one warm-up step, the fastest
step's CPU time of this process (``seconds``: on one thread, what the step costs on an idle
core; on a machine shared with other jobs the wall clock also counts their turns) and the
median wall time; the step's floating-point operations (``torch.utils.flop_counter``, the
same on any machine); and the ratio of ``seconds`` to the baseline measured in the same run:
the ``fwd_bwd`` step of the shipped StackedMNIST DCGAN (stacked-mnist.yaml's widths 64, batch
norm, minibatch discrimination).

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
from torch.utils.flop_counter import FlopCounterMode
from tqdm import tqdm

from gankit.configuration.schema import ModelConfig
from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.training.hardware import describe
from gankit.training.runlog import write_json

RESULTS = Path(__file__).parent / "results" / "r3gan_nets.json"
SHAPE, BATCH, LATENT = (3, 28, 28), 64, 64
# (width, blocks per stage, channels per group)
SETTINGS = [(8, 1, 8), (8, 2, 8), (8, 2, 4), (12, 1, 8), (16, 1, 8), (16, 1, 16), (16, 2, 16)]
GAMMA = 0.05  # R3GAN's CIFAR-10 gamma; its value does not change the cost


def penalty(logits: Tensor, x: Tensor) -> Tensor:
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad.square().sum((1, 2, 3)).mean()


def step(G: nn.Module, D: nn.Module, real: Tensor, z: Tensor, bf16: bool, rpgan: bool) -> None:
    """One D phase then one G phase, gradients accumulated and dropped (no optimizer)."""
    autocast = torch.autocast("cpu", torch.bfloat16, enabled=bf16)
    with autocast:
        fake = G(z).detach()
    # views of the leaves: FlopCounterMode's module hooks refuse autograd.grad on a leaf
    real, fake = real.requires_grad_(rpgan).view_as(real), fake.requires_grad_(rpgan).view_as(fake)
    with autocast:
        d_real, d_fake = D(real).logits, D(fake).logits
    loss = F.softplus(-(d_real - d_fake)).mean()
    if rpgan:
        loss = loss + GAMMA / 2 * (penalty(d_real, real) + penalty(d_fake, fake))
    loss.backward()
    with autocast:
        d_real, d_fake = D(real.detach()).logits, D(G(z)).logits
    F.softplus(-(d_fake - d_real)).mean().backward()


def time_step(config: ModelConfig, bf16: bool, rpgan: bool, repeats: int) -> dict:
    """One step of ``config``'s networks: fastest CPU seconds, median wall seconds, GFLOP."""
    torch.manual_seed(0)
    G = GENERATORS[config.name](config, SHAPE).to(memory_format=torch.channels_last)
    D = DISCRIMINATORS[config.name](config, SHAPE).to(memory_format=torch.channels_last)
    real = (torch.rand(BATCH, *SHAPE) * 2 - 1).contiguous(memory_format=torch.channels_last)
    z = torch.randn(BATCH, LATENT)
    cpu, wall = [], []
    for i in range(repeats + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        step(G, D, real.clone(), z, bf16, rpgan)
        if i:  # the first step warms oneDNN's kernel caches
            cpu.append(time.process_time() - start_cpu)
            wall.append(time.perf_counter() - start)
    with FlopCounterMode(display=False) as counter:
        step(G, D, real.clone(), z, bf16, rpgan)
    return {"model": config.name, "g_hidden": config.g_hidden, "d_hidden": config.d_hidden,
            "blocks_per_stage": config.blocks_per_stage,
            "channels_per_group": config.channels_per_group,
            "precision": "bf16" if bf16 else "fp32", "step": "rpgan_step" if rpgan else "fwd_bwd",
            "seconds": min(cpu), "median_wall_seconds": statistics.median(wall),
            "gflop": counter.get_total_flops() / 1e9,
            "parameters": sum(p.numel() for net in (G, D) for p in net.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    baseline = ModelConfig(name="dcgan", latent_dim=LATENT, g_hidden=64, d_hidden=64,
                           g_batchnorm=True, d_norm="batch", minibatch_discrimination=100)
    cases = [(baseline, bf16, False) for bf16 in (False, True)]
    cases += [(ModelConfig(name="r3gan", latent_dim=LATENT, g_hidden=width, d_hidden=width,
                           blocks_per_stage=blocks, channels_per_group=group), bf16, rpgan)
              for width, blocks, group in SETTINGS for rpgan in (False, True)
              for bf16 in (False, True)]
    rows = []
    for config, bf16, rpgan in tqdm(cases, desc="settings"):
        row = time_step(config, bf16, rpgan, args.repeats)
        row["ratio_to_dcgan"] = row["seconds"] / rows[0]["seconds"] if rows else 1.0
        rows.append(row)
        tqdm.write(f"{config.name:6s} width {config.g_hidden:3d} blocks "
                   f"{config.blocks_per_stage} group {config.channels_per_group:2d} "
                   f"{row['precision']} {row['step']:10s} {row['seconds']:.3f} s CPU (wall "
                   f"{row['median_wall_seconds']:.3f}), {row['gflop']:.1f} GFLOP, "
                   f"x{row['ratio_to_dcgan']:.2f} DCGAN, "
                   f"{row['parameters']:,} params")
    write_json(RESULTS, {"hardware": describe(torch.device("cpu")), "shape": list(SHAPE),
                         "batch": BATCH, "latent_dim": LATENT, "repeats": args.repeats,
                         "channels_last": True, "rows": rows})
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
