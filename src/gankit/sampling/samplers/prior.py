"""The default: z from the recipe's own prior."""

from __future__ import annotations

from gankit.evaluation.latents import LatentSource, PriorLatents
from gankit.recipes.base import Recipe
from gankit.sampling.settings import SAMPLERS, SamplerSettings


@SAMPLERS.register("prior")
def prior(recipe: Recipe, settings: SamplerSettings) -> LatentSource:
    """The recipe's own prior, N(0, I) for the shipped recipes."""
    return PriorLatents(recipe)
