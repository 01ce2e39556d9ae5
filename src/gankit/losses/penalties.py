"""Regularizers that need D's input gradients; they take (D, x) explicitly and return a scalar."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Critic = Callable[[Tensor], Tensor]  # x [N, ...] -> scores [N]


def gradient_penalty(
    critic: Critic, real: Tensor, fake: Tensor, generator: torch.Generator | None = None,
    eps: Tensor | None = None,
) -> Tensor:
    r"""WGAN-GP's two-sided penalty, Gulrajani et al. 2017, eq. 3.

    $\mathbb{E}_{\hat x}[(\lVert\nabla_{\hat x} D(\hat x)\rVert_2 - 1)^2]$ with
    $\hat x = \epsilon x + (1-\epsilon)\tilde x$ and one $\epsilon \sim U[0, 1]$ per example
    (Algorithm 1, line 6), drawn with ``generator`` unless given as ``eps`` [N].
    ``create_graph=True`` so the penalty trains D.
    """
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)  # [N, 1, ...]
    if eps is None:
        eps = torch.rand(eps_shape, generator=generator, device=real.device, dtype=real.dtype)
    eps = eps.to(real.dtype).reshape(eps_shape)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    return ((input_gradient_norms(critic, x_hat) - 1) ** 2).mean()


def gradient_norm_penalty(critic: Critic, x: Tensor) -> Tensor:
    r"""$\mathbb{E}_x[\lVert\nabla_x D(x)\rVert_2^2]$: the zero-centred penalty of Mescheder et
    al. 2018, eq. 9. On real data it is R1, on generated data R2; the recipe weighs it by
    $\gamma / 2$."""
    x = x.detach().requires_grad_(True)
    return squared_gradient_norms(critic(x), x).mean()


def squared_gradient_norms(scores: Tensor, x: Tensor) -> Tensor:
    """||grad_x D(x)||_2^2 per example [N] of ``scores`` = D(x) [N] already computed from an
    ``x`` that requires grad, so that a recipe's loss and its R1/R2 share one forward pass of
    D (as R3GAN's code does); differentiable (``create_graph``) so it can train D. Summed
    squares, not a squared norm: no square root, whose gradient at 0 is undefined."""
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad.flatten(1).square().sum(1)


def input_gradient_norms(critic: Critic, x: Tensor) -> Tensor:
    """||grad_x D(x)||_2 per example [N], differentiable (``create_graph``) so it can train D."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)
