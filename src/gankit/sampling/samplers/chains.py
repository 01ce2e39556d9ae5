"""Langevin and MALA chains on the run's latent energy, E(z) = U(G(z)) / T + ||z||^2 / 2 (DDLS
for a GAN's D, Che et al. 2020; MEG for an energy network, Kumar et al. 2019)."""

from __future__ import annotations

from gankit.errors import GankitError
from gankit.evaluation.latents import LatentSource, PriorLatents
from gankit.recipes.base import Recipe
from gankit.sampling.energies import Energy, check_positive
from gankit.sampling.settings import SAMPLERS, SamplerSettings
from gankit.sampling.sources import InEvalMode, LangevinLatents, MALALatents, energy_is_per_chain

# The options both chains take; their defaults are the ones the DDLS and MEG papers start from.
CHAIN_FLAGS = {
    "steps": {"type": "int", "range": [1, 1_000_000], "default": 100, "tag": "k",
              "help": "chain steps"},
    "step_size": {"type": "float", "default": 0.01, "tag": "e",
                  "help": "epsilon of z' = z - eps grad E(z) + sqrt(2 eps) xi"},
    "temperature": {"type": "float", "default": 1.0, "tag": "T",
                    "help": "T, dividing D's or U's term of the energy"},
}
CHAIN_LABEL = "k{steps}-e{step_size:g}-T{temperature:g}"


@SAMPLERS.register("langevin", flags=CHAIN_FLAGS, label=CHAIN_LABEL, chains=True)
def langevin(recipe: Recipe, settings: SamplerSettings) -> LatentSource:
    """Unadjusted Langevin chains from the prior on the run's latent energy."""
    return InEvalMode(LangevinLatents(chain_energy(recipe, settings), PriorLatents(recipe),
                                      settings.steps, settings.step_size), recipe)


@SAMPLERS.register("mala", label=CHAIN_LABEL, chains=True, flags={
    **CHAIN_FLAGS,
    "burn_in": {"type": "int", "range": [0, 1_000_000], "default": 0, "tag": "b",
                "help": "steps whose acceptance is not counted"},
    "adapt": {"type": "bool", "default": False,
              "help": "adapt the step size toward the target acceptance during the "
                      "burn-in"},
    "target_acceptance": {"type": "float", "default": 0.57, "tag": "a",  # Roberts & Rosenthal
                          "help": "the acceptance rate --adapt aims at, in (0, 1)"}})
def mala(recipe: Recipe, settings: SamplerSettings) -> LatentSource:
    """Metropolis-adjusted Langevin chains from the prior on the run's latent energy."""
    chains = MALALatents(chain_energy(recipe, settings), PriorLatents(recipe), settings.steps,
                         settings.step_size, burn_in=settings.burn_in, adapt=settings.adapt,
                         target_acceptance=settings.target_acceptance)
    return InEvalMode(chains, recipe)


def chain_energy(recipe: Recipe, settings: SamplerSettings) -> Energy:
    """The recipe's latent energy at the settings' temperature, refused in one line where
    chains cannot run on it (no energy, or a D that couples the examples of a batch)."""
    check_positive("temperature", settings.temperature)
    energy = recipe.latent_energy(settings.temperature)
    if energy is None:
        raise GankitError(f"recipe {type(recipe).__name__} has no latent energy to run "
                          f"{settings.name} chains on; use --sampler prior or truncation")
    if not energy_is_per_chain(recipe, energy):
        raise GankitError(f"{settings.name} needs each chain's energy to be its own, and this "
                          f"run's D mixes the examples of a batch (model.minibatch_"
                          f"discrimination, model.minibatch_stddev or a batch-coupled module "
                          f"of your own); use --sampler prior or truncation")
    return energy
