r"""MCMC over z on a latent energy (:mod:`gankit.sampling.energies`), and the truncation trick.

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
latents. The latent sources that run these (:mod:`gankit.sampling.sources`) hold the settings and
implement ``draw(n, generator)`` of :class:`gankit.evaluation.latents.LatentSource`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.sampling.energies import Energy, check_positive, energy_and_grad

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


def langevin(
    energy: Energy, z0: Tensor, steps: int, step_size: float, generator: torch.Generator,
) -> tuple[Tensor, SamplerTrace]:
    r"""Unadjusted Langevin (ULA): ``steps`` times $z \leftarrow z - \epsilon\nabla E(z) +
    \sqrt{2\epsilon}\,\xi$ from z0 [N, ...] -> (z_T [N, ...], trace).

    No accept/reject, so the chain's stationary law is off by $O(\epsilon)$: on
    $N(0, \sigma^2)$ its variance is $\sigma^2 / (1 - \epsilon / (2\sigma^2))$. It is the
    sampler DDLS runs (Che et al. 2020); :func:`mala` corrects it.
    """
    check_steps(steps)
    check_positive("step_size", step_size)
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
    check_mala(steps, step_size, burn_in, adapt, target_acceptance)
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
    check_positive("threshold", threshold)
    u = torch.rand(shape, generator=generator, device=generator.device, dtype=torch.float64)
    low = torch.special.ndtr(torch.tensor(-float(threshold), dtype=torch.float64))
    z = torch.special.ndtri(low + u * (1 - 2 * low))  # Phi(t) - Phi(-t) = 1 - 2 Phi(-t)
    # beyond ~8 sd the float64 CDF rounds to 0 or 1: those draws are put on the edge
    return z.clamp(-threshold, threshold).float()


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


def _noise(z: Tensor, generator: torch.Generator) -> Tensor:
    return torch.randn(z.shape, generator=generator, device=generator.device, dtype=z.dtype)


def check_mala(steps: int, step_size: float, burn_in: int, adapt: bool,
                target_acceptance: float) -> None:
    check_steps(steps)
    check_positive("step_size", step_size)
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or not 0 <= burn_in < steps:
        raise GankitError(f"burn_in must be an integer in [0, steps) = [0, {steps}), got "
                          f"{burn_in!r}")
    if adapt and burn_in == 0:
        raise GankitError("adapt needs burn_in >= 1: the step size adapts during burn-in only")
    if isinstance(target_acceptance, bool) or not isinstance(target_acceptance, (int, float)) \
            or not 0 < target_acceptance < 1:
        raise GankitError(f"target_acceptance must be in (0, 1), got {target_acceptance!r}")


def check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise GankitError(f"steps must be an integer >= 1, got {steps!r}")
