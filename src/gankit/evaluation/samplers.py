r"""Latent samplers: the truncation trick and MCMC over z on an energy built from G and D (or U).

An energy maps latents to one number per chain, ``energy(z [N, ...]) -> E [N]``; the samplers
target $p(z) \propto \exp(-E(z))$ and run the N chains of a batch in parallel. The energies
bind G and the network on x, so the samplers see only z; they own no models and change none
(gradients come from ``torch.autograd.grad`` on a detached copy of z, so no parameter gains a
``.grad`` and no ``requires_grad`` flag is touched). Put the networks in eval mode first: a
batch-coupled layer (BatchNorm in train mode, minibatch discrimination) would make one chain's
energy depend on the others.

| code | paper symbol | meaning |
|---|---|---|
| ``step_size`` | $\epsilon$ | step of the Langevin SDE's Euler-Maruyama discretization |
| ``temperature`` | $T$ | divides the learned term of the energy, not the prior term |
| ``xi`` | $\xi \sim N(0, I)$ | the noise of one step |
| ``log_q`` | $\log q(z' \mid z)$ | MALA's proposal log-density, up to a constant |

With $dz = -\nabla E(z)\,dt + \sqrt2\,dW$, whose stationary law is $\exp(-E)$, one step is
$z' = z - \epsilon\nabla E(z) + \sqrt{2\epsilon}\,\xi$ (Roberts & Tweedie 1996, "Exponential
convergence of Langevin distributions and their discrete approximations", with their
$h = 2\epsilon$; Welling & Teh 2011, eq. 3 with the full gradient, whose step size is
$2\epsilon$). Unadjusted (:func:`langevin`) it is biased by $O(\epsilon)$; MALA (:func:`mala`)
removes the bias with a Metropolis-Hastings test.

Every random number (the noise, the acceptance uniforms, truncation redraws) comes from the
``torch.Generator`` passed in, on its device; the global RNG is never used, so a seed fixes the
latents. The latent-source classes (:class:`TruncatedLatents`, :class:`LangevinLatents`,
:class:`MALALatents`) hold the settings and implement ``draw(n, generator)`` of
:class:`gankit.evaluation.latents.LatentSource`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.evaluation.latents import DECODE_CHUNK, LatentSource, PriorLatents
from gankit.latent_layout import LatentLayout
from gankit.models.base import DOutput
from gankit.recipes.base import Recipe

Energy = Callable[[Tensor], Tensor]  # z [N, ...] -> E(z) [N]
Network = Callable[[Tensor], "Tensor | DOutput"]  # an nn.Module, or a recipe's method on one

# MALA's burn-in adaptation: log eps moves by this much per unit of (acceptance - target) per
# step. Large, because the acceptance it follows is the mean over all chains (little noise) and
# the step size is frozen after burn-in anyway, so the adaptation need not converge slowly.
ADAPT_RATE = 0.2


@dataclass(frozen=True)
class SamplerTrace:
    """What a chain run reports (T = steps, N = chains)."""

    energy: Tensor  # [T + 1] mean E over the chains at z_0 ... z_T
    step_size: Tensor  # [T] the step size each step used (MALA changes it during burn-in only)
    acceptance: Tensor | None = None  # [N] MALA: share of post-burn-in proposals each accepted
    step_acceptance: Tensor | None = None  # [T] MALA: mean acceptance probability per step


# ----------------------------------------------------------------------------- energies


def prior_energy(z: Tensor) -> Tensor:
    r"""$\lVert z\rVert^2 / 2$ per row [N]: $-\log N(z; 0, I)$ up to a constant."""
    return 0.5 * z.flatten(1).pow(2).sum(1)


def meg_energy(G: Network, U: Network, temperature: float = 1.0) -> Energy:
    r"""The latent energy of an energy network U on x, as MEG samples it (Kumar et al. 2019,
    "Maximum Entropy Generators for Energy-Based Models", MCMC in latent space):
    $E(z) = U(G(z)) / T + \lVert z\rVert^2 / 2$.

    The prior term is included because MEG's target in z is the prior tilted by the data-space
    energy, $p(z) \propto N(z; 0, I)\,e^{-U(G(z))/T}$; $T = 1$ is the paper's. U may return
    energies [N] (or [N, 1]) or a :class:`DOutput` whose logits are the energy (BEGAN's
    auto-encoder D).
    """
    _check_positive("temperature", temperature)

    def energy(z: Tensor) -> Tensor:
        return _scores(U(G(z)), len(z)) / temperature + prior_energy(z)

    return energy


def ddls_energy(G: Network, D: Network, temperature: float = 1.0) -> Energy:
    r"""Discriminator Driven Latent Sampling for a non-saturating GAN (Che et al. 2020, "Your GAN
    is Secretly an Energy-based Model", the latent EBM $p_t(z) \propto p_0(z)\,e^{d(G(z))}$):
    $E(z) = \lVert z\rVert^2 / 2 - d(G(z)) / T$, with $d$ D's logit.

    With an optimal D, $d(x) = \log p_{data}(x) - \log p_g(x)$, so the prior tilted by
    $e^{d}$ pushed through G is the data distribution; that holds for D's *logit*, not its
    probability. $T$ (ours; $T = 1$ is the paper's) tempers D's correction only, as in
    :func:`meg_energy`, so $T \to \infty$ gives back the prior. D may return logits [N] or a
    :class:`DOutput`.
    """
    _check_positive("temperature", temperature)

    def energy(z: Tensor) -> Tensor:
        return prior_energy(z) - _scores(D(G(z)), len(z)) / temperature

    return energy


def _scores(out: Tensor | DOutput, n: int) -> Tensor:
    """A network's per-example outputs as [N] (a DOutput's logits, or a tensor [N] / [N, 1])."""
    values = out.logits if isinstance(out, DOutput) else out
    return values.reshape(n)


def energy_and_grad(energy: Energy, z: Tensor) -> tuple[Tensor, Tensor]:
    """E(z) [N] and grad_z E [N, ...], both detached. ``autograd.grad`` with z as its only input
    leaves the networks' ``.grad`` alone; chains are independent, so the gradient of the sum is
    each chain's own gradient."""
    z = z.detach().requires_grad_()
    with torch.enable_grad():
        e = energy(z)
        (grad,) = torch.autograd.grad(e.sum(), z)
    return e.detach(), grad


# ----------------------------------------------------------------------------- samplers


def langevin(
    energy: Energy, z0: Tensor, steps: int, step_size: float, generator: torch.Generator,
) -> tuple[Tensor, SamplerTrace]:
    r"""Unadjusted Langevin (ULA): ``steps`` times $z \leftarrow z - \epsilon\nabla E(z) +
    \sqrt{2\epsilon}\,\xi$ from z0 [N, ...] -> (z_T [N, ...], trace).

    No accept/reject, so the chain's stationary law is off by $O(\epsilon)$: on
    $N(0, \sigma^2)$ its variance is $\sigma^2 / (1 - \epsilon / (2\sigma^2))$. It is the
    sampler DDLS runs (Che et al. 2020); :func:`mala` corrects it.
    """
    _check_steps(steps)
    _check_positive("step_size", step_size)
    z = z0.detach()
    energies = []
    for _ in range(steps):
        e, grad = energy_and_grad(energy, z)
        energies.append(e.mean())
        z = z - step_size * grad + math.sqrt(2 * step_size) * _noise(z, generator)
    with torch.no_grad():
        energies.append(energy(z).mean())
    return z, SamplerTrace(torch.stack(energies), torch.full((steps,), float(step_size)))


def mala_log_acceptance(
    z: Tensor, z_prop: Tensor, e: Tensor, e_prop: Tensor, grad: Tensor, grad_prop: Tensor,
    step_size: float,
) -> Tensor:
    r"""$\log\alpha$ [N] of MALA's Metropolis-Hastings test (Roberts & Tweedie 1996):
    $\log\alpha = -E(z') + E(z) + \log q(z \mid z') - \log q(z' \mid z)$, with the Gaussian
    proposal $\log q(z' \mid z) = -\lVert z' - z + \epsilon\nabla E(z)\rVert^2 / (4\epsilon)$.

    The norm is *squared* ($q$ is $N(z - \epsilon\nabla E, 2\epsilon I)$); a plain norm, as in
    some reference code, gives a test that no longer leaves $\exp(-E)$ invariant.
    """
    log_q_forward = _proposal_log_density(z_prop, z, grad, step_size)
    log_q_backward = _proposal_log_density(z, z_prop, grad_prop, step_size)
    return e - e_prop + log_q_backward - log_q_forward


def _proposal_log_density(to: Tensor, start: Tensor, grad: Tensor, step_size: float) -> Tensor:
    """log q(to | start) [N] up to its constant, which cancels in the ratio."""
    return -(to - start + step_size * grad).flatten(1).pow(2).sum(1) / (4 * step_size)


def mala(
    energy: Energy, z0: Tensor, steps: int, step_size: float, generator: torch.Generator, *,
    burn_in: int = 0, adapt: bool = False, target_acceptance: float = 0.57,
    path: list[Tensor] | None = None,
) -> tuple[Tensor, SamplerTrace]:
    r"""Metropolis-adjusted Langevin (Roberts & Tweedie 1996): the Langevin step as a
    proposal, accepted per chain with probability $\min(1, \alpha)$
    (:func:`mala_log_acceptance`); z0 [N, ...] -> (z_T [N, ...], trace).

    With ``adapt``, during the first ``burn_in`` steps $\log\epsilon$ moves toward the target
    acceptance (default 0.57: Roberts & Rosenthal 1998 find 0.574 optimal in high dimension) by
    ``ADAPT_RATE`` times the gap between the chains' mean acceptance probability and the
    target. After burn-in the step size is frozen: a step size that keeps adapting to the chain's
    own past makes it no longer a Markov chain with $\exp(-E)$ invariant. ``trace.acceptance``
    counts the steps after burn-in only. A ``path`` list receives z_0 ... z_T (for pictures).
    """
    _check_mala(steps, step_size, burn_in, adapt, target_acceptance)
    z = z0.detach()
    if path is not None:
        path.append(z)
    e, grad = energy_and_grad(energy, z)
    eps = float(step_size)
    energies, step_sizes, step_acceptance = [e.mean()], [], []
    accepted = torch.zeros(len(z), device=z.device)
    for t in range(steps):
        z_prop = z - eps * grad + math.sqrt(2 * eps) * _noise(z, generator)
        e_prop, grad_prop = energy_and_grad(energy, z_prop)
        log_alpha = mala_log_acceptance(z, z_prop, e, e_prop, grad, grad_prop, eps)
        u = torch.rand(len(z), generator=generator, device=generator.device, dtype=z.dtype)
        accept = u < log_alpha.exp()  # [N]; a NaN energy compares False: rejected
        keep = accept.reshape(-1, *(1,) * (z.dim() - 1))
        z, grad = torch.where(keep, z_prop, z), torch.where(keep, grad_prop, grad)
        e = torch.where(accept, e_prop, e)
        if path is not None:
            path.append(z)
        alpha = log_alpha.clamp(max=0).exp().nan_to_num(0.0).mean()
        energies.append(e.mean())
        step_sizes.append(eps)
        step_acceptance.append(alpha)
        if t >= burn_in:
            accepted += accept
        elif adapt:
            eps *= math.exp(ADAPT_RATE * (alpha.item() - target_acceptance))
    trace = SamplerTrace(torch.stack(energies), torch.tensor(step_sizes),
                         accepted / (steps - burn_in), torch.stack(step_acceptance))
    return z, trace


def truncated_normal(
    shape: tuple[int, ...], threshold: float, generator: torch.Generator,
) -> Tensor:
    r"""The truncation trick (Brock et al. 2019, "Large Scale GAN Training", Sec. 3.1):
    $z \sim N(0, I)$ with every component whose $|z_i| >$ ``threshold`` redrawn from $N(0, 1)$
    until it falls inside, so each component is $N(0, 1)$ truncated to
    $[-\text{threshold}, \text{threshold}]$. Not clamped: clamping would put the tails' mass on
    the two edges.

    Drawn exactly in one pass by the inverse CDF, $z = \Phi^{-1}(\Phi(-t) + u\,(\Phi(t) -
    \Phi(-t)))$ with $u \sim U[0, 1)$, in float64: the same distribution as the redraws, whose
    cost grows like 1 / threshold (a threshold of 0.001 would take ~1,000 rounds).
    """
    _check_positive("threshold", threshold)
    u = torch.rand(shape, generator=generator, device=generator.device, dtype=torch.float64)
    low = torch.special.ndtr(torch.tensor(-float(threshold), dtype=torch.float64))
    z = torch.special.ndtri(low + u * (1 - 2 * low))  # Phi(t) - Phi(-t) = 1 - 2 Phi(-t)
    # beyond ~8 sd the float64 CDF rounds to 0 or 1: those draws are put on the edge
    return z.clamp(-threshold, threshold).float()


def _noise(z: Tensor, generator: torch.Generator) -> Tensor:
    return torch.randn(z.shape, generator=generator, device=generator.device, dtype=z.dtype)


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise GankitError(f"{name} must be a positive number, got {value!r}")


def _check_mala(steps: int, step_size: float, burn_in: int, adapt: bool,
                target_acceptance: float) -> None:
    _check_steps(steps)
    _check_positive("step_size", step_size)
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or not 0 <= burn_in < steps:
        raise GankitError(f"burn_in must be an integer in [0, steps) = [0, {steps}), got "
                          f"{burn_in!r}")
    if adapt and burn_in == 0:
        raise GankitError("adapt needs burn_in >= 1: the step size adapts during burn-in only")
    if isinstance(target_acceptance, bool) or not isinstance(target_acceptance, (int, float)) \
            or not 0 < target_acceptance < 1:
        raise GankitError(f"target_acceptance must be in (0, 1), got {target_acceptance!r}")


def _check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise GankitError(f"steps must be an integer >= 1, got {steps!r}")


# ----------------------------------------------------------------------------- latent sources


class TruncatedLatents:
    """Latent source: :func:`truncated_normal` draws of shape [n, *latent_shape], for a generator
    whose prior is N(0, I) (the shipped recipes'). With a ``layout`` only its noise is
    truncated, and its codes (a class, InfoGAN's codes) are drawn from their own priors."""

    def __init__(self, latent_shape: tuple[int, ...], threshold: float,
                 layout: LatentLayout | None = None) -> None:
        _check_positive("threshold", threshold)
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
        _check_steps(steps)
        _check_positive("step_size", step_size)
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
        _check_mala(steps, step_size, burn_in, adapt, target_acceptance)
        self.energy, self.start, self.steps, self.step_size = energy, start, steps, step_size
        self.options = {"burn_in": burn_in, "adapt": adapt, "target_acceptance": target_acceptance}
        self.last_trace: SamplerTrace | None = None

    def draw(self, n: int, generator: torch.Generator) -> Tensor:
        z0 = self.start.draw(n, generator)
        z, self.last_trace = mala(self.energy, z0, self.steps, self.step_size, generator,
                                  **self.options)
        return z


# ------------------------------------------------------------------ choosing a sampler
SAMPLERS = ("prior", "truncation", "langevin", "mala")


@dataclass(frozen=True)
class SamplerSettings:
    """How ``gankit sample / eval --sampler`` and ``Run.sampler`` draw latents.

    ``threshold`` is the truncation trick's; ``steps``, ``step_size``, ``temperature`` the
    chains'; ``burn_in`` and ``adapt`` MALA's (step-size adaptation toward
    ``target_acceptance`` during the burn-in only)."""

    name: str = "prior"
    steps: int = 100
    step_size: float = 0.01
    temperature: float = 1.0
    threshold: float = 1.0
    burn_in: int = 0
    adapt: bool = False
    target_acceptance: float = 0.57

    def describe(self) -> str | None:
        """A short name of the draw for records and file names; None for the prior."""
        if self.name == "prior":
            return None
        if self.name == "truncation":
            return f"truncation-t{self.threshold:g}"
        text = f"{self.name}-k{self.steps}-e{self.step_size:g}-T{self.temperature:g}"
        if self.name == "mala" and self.adapt:
            text += f"-adapt{self.burn_in}"
            if self.target_acceptance != SamplerSettings.target_acceptance:
                text += f"-a{self.target_acceptance:g}"
        return text


def sampler_source(recipe: Recipe, settings: SamplerSettings) -> LatentSource:
    """The latent source ``settings`` asks for, on ``recipe``'s prior and latent energy; the
    chains run the networks in eval mode. A recipe without an energy cannot run chains: one
    line saying so."""
    if settings.name not in SAMPLERS:
        raise GankitError(f"sampler must be one of {', '.join(SAMPLERS)}, "
                          f"got {settings.name!r}")
    prior = PriorLatents(recipe)
    if settings.name == "prior":
        return prior
    if settings.name == "truncation":  # for the N(0, I) noise of the shipped recipes
        layout = recipe.layout
        if layout is not None and layout.noise != "normal":
            raise GankitError(f"the truncation trick truncates N(0, I) noise, and recipe "
                              f"{type(recipe).__name__}'s noise is {layout.noise}; use "
                              f"--sampler prior")
        shape = recipe.latent(1, torch.Generator(_device_of(recipe))).shape[1:]
        return TruncatedLatents(tuple(shape), settings.threshold, layout)
    _check_positive("temperature", settings.temperature)
    energy = recipe.latent_energy(settings.temperature)
    if energy is None:
        raise GankitError(f"recipe {type(recipe).__name__} has no latent energy to run "
                          f"{settings.name} chains on; use --sampler prior or truncation")
    if not energy_is_per_chain(recipe, energy):
        raise GankitError(f"{settings.name} needs each chain's energy to be its own, and this "
                          f"run's D mixes the examples of a batch (model.minibatch_"
                          f"discrimination, model.minibatch_stddev or a batch-coupled module "
                          f"of your own); use --sampler prior or truncation")
    if settings.name == "langevin":
        chains: LangevinLatents | MALALatents = LangevinLatents(
            energy, prior, settings.steps, settings.step_size)
    else:
        chains = MALALatents(energy, prior, settings.steps, settings.step_size,
                             burn_in=settings.burn_in, adapt=settings.adapt,
                             target_acceptance=settings.target_acceptance)
    return InEvalMode(chains, recipe)


PROBE_CHAINS = 4  # latents on which energy_is_per_chain compares a batch with its rows


@torch.no_grad()
def energy_is_per_chain(recipe: Recipe, energy: Energy) -> bool:
    """Whether the energy of a batch of latents is the energy of each latent alone, in eval
    mode. A D that couples a batch (minibatch discrimination, minibatch stddev; Salimans et al.
    2016, Karras et al. 2018) gives one chain an energy, and a gradient, that depend on the
    other chains: the MALA ratio is then not that of any chain's target. Probed on
    PROBE_CHAINS latents from their own seeded stream (the run's draws are untouched), in
    float32 as the chains run, with a tolerance for kernels that differ with the batch size."""
    generator = torch.Generator(_device_of(recipe)).manual_seed(0)
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
    this changes nothing but the order of the random draws). ``last_trace`` covers them all."""

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
        return torch.cat(parts)


def merge_traces(traces: list[SamplerTrace], sizes: list[int]) -> SamplerTrace:
    """The trace of chains run in groups: means over all chains (weighted by group size), every
    chain's acceptance, the step size averaged over groups (each adapts its own)."""
    weights = torch.tensor(sizes, dtype=torch.float64) / sum(sizes)

    def mean(values: list[Tensor]) -> Tensor:
        return sum(w * v.double() for w, v in zip(weights, values, strict=True)).float()

    accepted = [t.acceptance for t in traces]
    return SamplerTrace(
        energy=mean([t.energy for t in traces]),
        step_size=mean([t.step_size for t in traces]),
        acceptance=None if accepted[0] is None else torch.cat(accepted),
        step_acceptance=(None if traces[0].step_acceptance is None
                         else mean([t.step_acceptance for t in traces])))


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
    generator = torch.Generator(_device_of(recipe)).manual_seed(seed)
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


def _device_of(module: torch.nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")
