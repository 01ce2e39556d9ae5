"""Theory made executable: each experiment checks one statement of GAN theory numerically and
writes a PNG and a JSON of its figures. Keyed by the name ``gankit experiment NAME`` uses."""

from gankit.experiments import (  # noqa: F401  (each module registers its experiment)
    critic_tracks_w1,
    energy_landscape,
    gan_1d,
    js_saturation,
    mcmc_truncation,
    optimal_discriminator,
)
from gankit.experiments.base import EXPERIMENTS

__all__ = ["EXPERIMENTS"]
