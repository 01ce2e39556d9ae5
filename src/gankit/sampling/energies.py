r"""Latent energies built from G and the network on x, ``energy(z [N, ...]) -> E [N]``: the
targets $p(z) \propto \exp(-E(z))$ that the MCMC samplers (:mod:`gankit.sampling.mcmc`) run
chains on. They bind the networks, so the samplers see only z; gradients come from
``torch.autograd.grad`` on a detached copy of z, so no parameter gains a ``.grad``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gankit.configuration.messages import float32_problem, show_value
from gankit.errors import GankitError
from gankit.models.base import DOutput

Energy = Callable[[Tensor], Tensor]  # z [N, ...] -> E(z) [N]
Network = Callable[[Tensor], "Tensor | DOutput"]  # an nn.Module, or a recipe's method on one


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
    check_positive("temperature", temperature)

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
    check_positive("temperature", temperature)

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


def check_positive(name: str, value: float) -> None:
    """A number > 0 and finite in float32, where the chains use it (a step size, temperature or
    threshold; 1e-320 would be 0 there and 1e39 inf), or one line naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GankitError(f"{name} must be a number, got {show_value(value)}")
    if problem := float32_problem(value, positive=True):
        raise GankitError(f"{name} {problem}")
