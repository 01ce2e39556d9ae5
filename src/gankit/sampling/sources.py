"""Latent sources that draw z by the truncation trick or by MCMC chains
(:mod:`gankit.sampling.mcmc`), ``draw(n, generator) -> z [n, ...]`` as
:class:`gankit.evaluation.latents.LatentSource` asks; what the registered samplers
(:mod:`gankit.sampling.samplers`) build."""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.evaluation.latents import DECODE_CHUNK, LatentSource
from gankit.models.latent_layout import LatentLayout
from gankit.recipes.base import Recipe
from gankit.sampling.energies import Energy, check_positive
from gankit.sampling.mcmc import (
    SamplerTrace,
    check_mala,
    check_steps,
    langevin,
    mala,
    merge_traces,
    truncated_normal,
)


class TruncatedLatents:
    """Latent source: :func:`truncated_normal` draws of shape [n, *latent_shape], for a generator
    whose prior is N(0, I) (the shipped recipes'). With a ``layout`` only its noise is
    truncated, and its codes (a class, InfoGAN's codes) are drawn from their own priors."""

    def __init__(self, latent_shape: tuple[int, ...], threshold: float,
                 layout: LatentLayout | None = None) -> None:
        check_positive("threshold", threshold)
        self.latent_shape, self.threshold, self.layout = tuple(latent_shape), threshold, layout

    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        if self.layout is None:
            return truncated_normal((n, *self.latent_shape), self.threshold, generator)
        noise = truncated_normal((n, self.layout.noise_dim), self.threshold, generator)
        return self.layout.draw(n, generator, noise=noise)


class LangevinLatents:
    """Latent source: chains started at ``start`` (the prior, say) moved by :func:`langevin`;
    the trace of the last draw is kept in ``last_trace``."""

    def __init__(self, energy: Energy, start: LatentSource, steps: int, step_size: float) -> None:
        check_steps(steps)
        check_positive("step_size", step_size)
        self.energy, self.start, self.steps, self.step_size = energy, start, steps, step_size
        self.last_trace: SamplerTrace | None = None

    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        z0 = self.start.draw(n, generator)
        z, self.last_trace = langevin(self.energy, z0, self.steps, self.step_size, generator)
        return z


class MALALatents:
    """Latent source: chains started at ``start`` moved by :func:`mala` with these settings;
    the trace of the last draw (with each chain's acceptance) is kept in ``last_trace``."""

    def __init__(self, energy: Energy, start: LatentSource, steps: int, step_size: float, *,
                 burn_in: int = 0, adapt: bool = False, target_acceptance: float = 0.57) -> None:
        check_mala(steps, step_size, burn_in, adapt, target_acceptance)
        self.energy, self.start, self.steps, self.step_size = energy, start, steps, step_size
        self.options = {"burn_in": burn_in, "adapt": adapt, "target_acceptance": target_acceptance}
        self.last_trace: SamplerTrace | None = None

    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        z0 = self.start.draw(n, generator)
        z, self.last_trace = mala(self.energy, z0, self.steps, self.step_size, generator,
                                  **self.options)
        return z


PROBE_CHAINS = 4  # latents on which energy_is_per_chain compares a batch with its rows


@torch.no_grad()
def energy_is_per_chain(recipe: Recipe, energy: Energy) -> bool:
    """Whether the energy of a batch of latents is the energy of each latent alone, in eval
    mode. A D that couples a batch (minibatch discrimination, minibatch stddev; Salimans et al.
    2016, Karras et al. 2018) gives one chain an energy, and a gradient, that depend on the
    other chains: the MALA ratio is then not that of any chain's target. Probed on
    PROBE_CHAINS latents from their own seeded stream (the run's draws are untouched), in
    float32 as the chains run, with a tolerance for kernels that differ with the batch size."""
    generator = torch.Generator(device_of(recipe)).manual_seed(0)
    was_training = recipe.training
    recipe.eval()
    try:
        z = recipe.latent(PROBE_CHAINS, generator)
        together = energy(z).float()
        alone = torch.cat([energy(z[i:i + 1]) for i in range(PROBE_CHAINS)]).float()
    finally:
        recipe.train(was_training)
    return torch.allclose(together, alone, rtol=1e-4, atol=1e-4)


def trace_figures(trace: SamplerTrace | None) -> dict[str, float]:
    """What a record says of the chains of the last draw: their mean energy at the start and
    the end, and MALA's acceptance (mean over chains, after the burn-in)."""
    if trace is None:
        return {}
    figures = {"mcmc_energy_start": float(trace.energy[0]),
               "mcmc_energy_end": float(trace.energy[-1])}
    if trace.acceptance is not None:
        figures["mcmc_acceptance"] = float(trace.acceptance.mean())
    return figures


class InEvalMode:
    """Chains (:class:`LangevinLatents`, :class:`MALALatents`) run with ``module`` in eval
    mode, so that batch norm uses (and leaves) its running statistics and no chain's energy
    depends on the others', at most ``chunk`` chains at a time, so that the networks'
    activations for thousands of image chains fit in memory (the chains are independent, so
    this changes nothing but the order of the random draws). ``last_trace`` covers them all;
    chains that left float32 are refused in one line."""

    def __init__(self, source: LangevinLatents | MALALatents, module: torch.nn.Module,
                 chunk: int = DECODE_CHUNK) -> None:
        self.source, self.module, self.chunk = source, module, chunk
        self.last_trace: SamplerTrace | None = None

    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        was_training = self.module.training
        self.module.eval()
        parts, traces = [], []
        try:
            for start in range(0, n, self.chunk):
                parts.append(self.source.draw(min(self.chunk, n - start), generator))
                traces.append(self.source.last_trace)
        finally:
            self.module.train(was_training)
        self.last_trace = merge_traces(traces, [len(p) for p in parts])
        z = torch.cat(parts)
        # Chains at a step size too large, or a temperature too small, for the energy leave
        # float32 (Langevin's steps go to inf, MALA's energies are inf from the start and it
        # accepts nothing): one line naming the settings, not G's NaN output blamed on its
        # weights, nor samples that are the prior's in disguise.
        if not (z.isfinite().all() and self.last_trace.energy.isfinite().all()):
            raise GankitError("the chains' latents or energy became NaN or inf (float32); use "
                              "a smaller --step-size or a larger --temperature")
        return z


def device_of(module: torch.nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")
