"""The truncation trick as a latent sampler (Brock et al. 2019, Sec. 3.1)."""

from __future__ import annotations

import torch

from gankit.errors import GankitError
from gankit.evaluation.latents import LatentSource
from gankit.recipes.base import Recipe
from gankit.sampling.settings import SAMPLERS, SamplerSettings
from gankit.sampling.sources import TruncatedLatents, device_of


@SAMPLERS.register("truncation", label="t{threshold:g}", flags={
    "threshold": {"type": "float", "default": 1.0,  # the paper's middle setting
                  "help": "|z_i| above it are redrawn"}})
def truncation(recipe: Recipe, settings: SamplerSettings) -> LatentSource:
    """The truncation trick (BigGAN): N(0, I) noise with the components beyond a threshold
    redrawn."""
    layout = recipe.layout
    if layout is not None and layout.noise != "normal":
        raise GankitError(f"the truncation trick truncates N(0, I) noise, and recipe "
                          f"{type(recipe).__name__}'s noise is {layout.noise}; use "
                          f"--sampler prior")
    shape = recipe.latent(1, torch.Generator(device_of(recipe))).shape[1:]
    return TruncatedLatents(tuple(shape), settings.threshold, layout)
