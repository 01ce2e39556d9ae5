r"""Where a generator's latents come from, how they are decoded, and paths between them.

A latent source draws z for the recipe's generator, ``draw(n, generator) -> z [n, ...]``, with
all of its randomness from ``generator``, so that a seed fixes the draw. The prior is the
default (:class:`PriorLatents`); the truncation trick and MCMC samplers in latent space
implement the same protocol. ``Run.sample``, ``gankit sample``, the metrics and the snapshot
pictures all draw through the source of the run's evaluation plan and decode with
:func:`generate`.

Spherical interpolation (White 2016, "Sampling Generative Networks", Sec. 2.1):
$\mathrm{slerp}(z_0, z_1; t) = \frac{\sin((1-t)\theta)}{\sin\theta} z_0 +
\frac{\sin(t\theta)}{\sin\theta} z_1$ with $\cos\theta = \hat z_0 \cdot \hat z_1$. Under a
Gaussian prior in many dimensions nearly all mass lies near the sphere of radius
$\sqrt{d}$; a straight line between two draws passes through the improbable, shorter middle
of the ball, the great-circle path does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.recipes.base import Recipe

DECODE_CHUNK = 2500  # latents decoded at once (data.n_eval's default: one pass for toy metrics)


@runtime_checkable
class LatentSource(Protocol):
    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` latents z [n, ...] on the generator's device, random only through it."""
        ...


class PriorLatents:
    """z from the recipe's own prior (``recipe.latent``; N(0, I) for the shipped recipes)."""

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe

    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        return self.recipe.latent(n, generator)


def has_generator(recipe: Recipe) -> bool:
    """Whether the recipe defines the unconditional generator that sampling decodes with
    (:meth:`Recipe.latent` and :meth:`Recipe.decode`; the base class's versions raise)."""
    cls = type(recipe)
    return cls.latent is not Recipe.latent and cls.decode is not Recipe.decode


def in_eval_mode(recipe: Recipe, fn: Callable[..., Tensor], *tensors: Tensor,
                 chunk: int = DECODE_CHUNK) -> Tensor:
    """``fn`` over the rows of ``tensors``, ``chunk`` rows at a time, with the recipe's
    networks in eval mode (restored after) and no gradients; the outputs concatenated on the
    CPU."""
    was_training = recipe.training
    recipe.eval()
    try:
        with torch.no_grad():
            parts = zip(*(t.split(chunk) for t in tensors), strict=True)
            return torch.cat([fn(*part).cpu() for part in parts])
    finally:
        recipe.train(was_training)


def generate(recipe: Recipe, z: Tensor, chunk: int = DECODE_CHUNK) -> Tensor:
    """The recipe's generator at latents z [N, ...] -> samples [N, ...] on the CPU, in eval
    mode and without gradients; decoded ``chunk`` latents at a time, so that tens of thousands
    of images fit in memory. NaN or inf output is a clear error."""
    fake = in_eval_mode(recipe, recipe.decode, z, chunk=chunk)
    if not torch.isfinite(fake).all():
        raise GankitError("the generator outputs NaN or inf; its weights are not finite "
                          "(use an earlier checkpoint)")
    return fake


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between rows of z0 and z1 [N, d] at fractions t [T] ->
    [N, T, d]; falls back to the straight line where the two directions (nearly) coincide."""
    a, b = z0.flatten(1), z1.flatten(1)
    cos = (a / a.norm(dim=1, keepdim=True)).mul(b / b.norm(dim=1, keepdim=True)).sum(1)
    theta = torch.acos(cos.clamp(-1, 1))[:, None]  # [N, 1]
    t = t.to(a)[None, :]  # [1, T]
    sin = torch.sin(theta)
    straight = sin.abs() < 1e-6
    w0 = torch.where(straight, 1 - t, torch.sin((1 - t) * theta) / sin.clamp_min(1e-12))
    w1 = torch.where(straight, t, torch.sin(t * theta) / sin.clamp_min(1e-12))
    path = w0[..., None] * a[:, None] + w1[..., None] * b[:, None]  # [N, T, d]
    return path.reshape(len(a), t.shape[1], *z0.shape[1:])


def interpolation_path(z0: Tensor, z1: Tensor, steps: int, spherical: bool = True) -> Tensor:
    """``steps`` latents per row from z0 to z1, ends included: [N, steps, d]."""
    t = torch.linspace(0, 1, steps, device=z0.device)
    if spherical:
        return slerp(z0, z1, t)
    return z0[:, None] + t[None, :, None] * (z1 - z0)[:, None]
