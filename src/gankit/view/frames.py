"""What the page draws, computed from one state of the networks: a frame (generated points,
D's values on a grid, the generator's manifold, the arrows that move each generated point) and,
less often, the live metrics (exact W1, PacGAN's mode metrics, MALA chains).

Everything here is a function of the weights and of draws fixed when the run is set up (the
shown latents, the evaluation's real and latent samples, the chains' seed), never of the
training stream, so the frame of step s is the same in every run with the same settings:
seeded replay.

Frames travel as one binary WebSocket message (:func:`encode`): a little-endian uint32 with
the length of a JSON header, the header (padded with spaces to a multiple of 4 bytes), then the
float32 arrays the header lists, in order.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gankit.data import GaussianMixture, ToyDistribution
from gankit.evaluation.points import toy_eval_metrics
from gankit.recipes import Recipe
from gankit.sampling.mcmc import SamplerTrace
from gankit.sampling.paths import chain_paths

HEAT_SIDE = 32  # D's values on a 32 x 32 grid, drawn smoothed
MANIFOLD_SIDE = 21  # a 21 x 21 grid of latents (2-D), or 201 points on a line (1-D)
SHOWN = 512  # generated points drawn
ARROWS = 256  # of them, with the arrow of their push
MEASURED = 500  # generated and real points of the live metrics
CHAINS, CHAIN_STEPS, CHAIN_STEP_SIZE = 8, 40, 0.01
LATENT_REACH = 2.5  # the manifold spans z in [-2.5, 2.5]^d: 98.8% of N(0, 1) per axis
FIXED_SEED = 0  # the shown latents, the evaluation's samples and the chains


@dataclass(frozen=True)
class Box:
    """The square of the plane the page shows: centre (x, y), half its side."""

    x: float
    y: float
    half: float

    @classmethod
    def around(cls, points: Tensor, margin: float = 0.25) -> Box:
        """The smallest square around ``points`` [N, 2], widened by ``margin`` of its side."""
        low, high = points.min(0).values, points.max(0).values
        centre = (low + high) / 2
        half = float((high - low).max()) / 2 * (1 + 2 * margin) + 1e-3
        return cls(float(centre[0]), float(centre[1]), half)

    def to_page(self) -> dict[str, list[float]]:
        return {"x": [self.x - self.half, self.x + self.half],
                "y": [self.y - self.half, self.y + self.half]}

    def grid(self, side: int) -> Tensor:
        """Cell centres [side * side, 2], row by row from the bottom, x fastest."""
        offsets = self.half * ((torch.arange(side, dtype=torch.float32) + 0.5) * 2 / side - 1)
        y, x = torch.meshgrid(self.y + offsets, self.x + offsets, indexing="ij")
        return torch.stack([x.reshape(-1), y.reshape(-1)], dim=1)


def latent_grid(latent_dim: int) -> Tensor:
    """The latents whose images draw the generator's manifold: a 21 x 21 grid in 2-D, a line
    of 201 points in 1-D; none above 2-D (a grid there shows no surface)."""
    if latent_dim == 1:
        return torch.linspace(-LATENT_REACH, LATENT_REACH, 201)[:, None]
    if latent_dim == 2:
        axis = torch.linspace(-LATENT_REACH, LATENT_REACH, MANIFOLD_SIDE)
        a, b = torch.meshgrid(axis, axis, indexing="ij")
        return torch.stack([a.reshape(-1), b.reshape(-1)], dim=1)
    return torch.zeros(0, latent_dim)


@dataclass
class Draws:
    """The fixed draws of one run of the view: shown latents, evaluation samples and latents."""

    z_shown: Tensor
    z_measured: Tensor
    real_shown: Tensor
    real_measured: Tensor
    box: Box

    @classmethod
    def of(cls, recipe: Recipe, data: ToyDistribution) -> Draws:
        generator = torch.Generator().manual_seed(FIXED_SEED)
        real_shown = data.points(SHOWN, generator)
        return cls(recipe.latent(SHOWN, generator), recipe.latent(MEASURED, generator),
                   real_shown, data.points(MEASURED, generator), Box.around(real_shown))


def frame(recipe: Recipe, draws: Draws, chunk: int) -> dict[str, Tensor | str]:
    """The arrays of one frame: ``fake`` [512, 2], ``heat`` [32 * 32] (D's values over the box,
    with ``heat_label``), ``manifold`` [M, 2] (G over the latent grid) and ``arrows`` [256, 2]:
    at the first 256 generated points, minus the gradient of the generator's loss there, times
    their number (each point's own push, not its share of a mean). The recipe is in eval
    mode."""
    with torch.no_grad():
        fake = recipe.decode(draws.z_shown)
        # in batches of the size D trains on: minibatch discrimination compares all pairs of
        # a batch, which for the whole grid would be far larger than a training step
        parts = [recipe.landscape(x) for x in draws.box.grid(HEAT_SIDE).split(max(chunk, 1))]
        heat, label = torch.cat([values for values, _ in parts]), parts[0][1]
        grid = latent_grid(draws.z_shown.shape[1])
        manifold = recipe.decode(grid) if len(grid) else torch.zeros(0, 2)
    points = fake[:ARROWS].clone().requires_grad_(True)
    loss = recipe.generator_loss_at(points)
    if loss is None:
        arrows = torch.zeros_like(points)
    else:
        arrows = -torch.autograd.grad(loss, points)[0] * len(points)
    return {"fake": fake, "heat": heat, "heat_label": label, "manifold": manifold,
            "arrows": arrows}


def metrics(recipe: Recipe, data: ToyDistribution, draws: Draws) -> dict[str, Any]:
    """The live metrics on 500 generated and 500 real points: exact W1 (POT), and on the
    mixtures PacGAN's modes, high-quality share and reverse KL; the MALA chains over D's
    energy (paths [8, 41, 2] and their mean acceptance) where the recipe has one."""
    with torch.no_grad():
        fake = recipe.decode(draws.z_measured)
    record: dict[str, Any] = dict(toy_eval_metrics(data, fake, draws.real_measured))
    if isinstance(data, GaussianMixture):
        record["n_modes"] = len(data.modes)
    traces: list[SamplerTrace] = []
    paths = chain_paths(recipe, CHAINS, CHAIN_STEPS, CHAIN_STEP_SIZE, FIXED_SEED, traces)
    if paths is not None:
        record["acceptance"] = float(traces[0].acceptance.mean())
        record["chains"] = rounded(paths)
    # reverse KL is infinite with no high-quality sample: null on the page, a gap in its curve
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in record.items()}


def rounded(values: Tensor) -> list:
    """Values as nested lists for JSON, to 5 decimals (a thousandth of a pixel on the page)."""
    return np.round(values.numpy().astype(np.float64), 5).tolist()


def encode(header: dict[str, Any], arrays: dict[str, Tensor]) -> bytes:
    """One binary message: header length, JSON header (with each array's name and shape),
    then the float32 arrays."""
    blobs = [np.ascontiguousarray(a.detach().cpu().numpy(), dtype="<f4") for a in arrays.values()]
    header = {**header, "arrays": [[name, list(blob.shape)] for name, blob in
                                   zip(arrays, blobs, strict=True)]}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    return struct.pack("<I", len(text)) + text + b"".join(blob.tobytes() for blob in blobs)


def decode_message(message: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """:func:`encode` read back (what the page's JavaScript does; used by tests and the
    benchmark)."""
    (length,) = struct.unpack_from("<I", message)
    header = json.loads(message[4:4 + length])
    offset, arrays = 4 + length, {}
    for name, shape in header["arrays"]:
        count = int(np.prod(shape))
        arrays[name] = np.frombuffer(message, "<f4", count, offset).reshape(shape)
        offset += 4 * count
    return header, arrays
