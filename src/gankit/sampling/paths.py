"""MALA chains decoded at every step, for the pictures of a 2-D run (the snapshot's plot and
the browser view draw them over D)."""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.recipes.base import Recipe
from gankit.sampling.mcmc import SamplerTrace, mala
from gankit.sampling.sources import device_of, energy_is_per_chain


def chain_paths(recipe: Recipe, n: int = 8, steps: int = 50, step_size: float = 0.01,
                seed: int = 0, traces: list[SamplerTrace] | None = None) -> Tensor | None:
    """``n`` MALA chains on the recipe's latent energy, decoded at every step:
    x [n, steps + 1, ...] on the CPU (the snapshot draws them over D on 2-D data); None for a
    recipe without a latent energy, or whose D couples the chains (:func:`energy_is_per_chain`).
    Networks in eval mode, randomness from ``seed`` alone. A ``traces`` list receives the
    chains' :class:`SamplerTrace` (their acceptance rate, for the browser view)."""
    energy = recipe.latent_energy()
    if energy is None or not energy_is_per_chain(recipe, energy):
        return None
    generator = torch.Generator(device_of(recipe)).manual_seed(seed)
    positions: list[Tensor] = []
    was_training = recipe.training
    recipe.eval()
    try:
        _, trace = mala(energy, recipe.latent(n, generator), steps, step_size, generator,
                        path=positions)
        if traces is not None:
            traces.append(trace)
        with torch.no_grad():
            return torch.stack([recipe.decode(z).cpu() for z in positions], 1)
    finally:
        recipe.train(was_training)
