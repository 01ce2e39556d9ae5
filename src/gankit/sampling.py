r"""Ways to choose latents for a trained generator: paths between two latents.

Spherical interpolation (White 2016, "Sampling Generative Networks", Sec. 2.1):
$\mathrm{slerp}(z_0, z_1; t) = \frac{\sin((1-t)\theta)}{\sin\theta} z_0 +
\frac{\sin(t\theta)}{\sin\theta} z_1$ with $\cos\theta = \hat z_0 \cdot \hat z_1$. Under a
Gaussian prior in many dimensions nearly all mass lies near the sphere of radius
$\sqrt{d}$; a straight line between two draws passes through the improbable, shorter middle
of the ball, the great-circle path does not.
"""

from __future__ import annotations

import torch
from torch import Tensor


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between rows of z0 and z1 [N, d] at fractions t [T] ->
    [N, T, d]; falls back to the straight line where the two directions (nearly) coincide."""
    a, b = z0.flatten(1), z1.flatten(1)
    cos = (a / a.norm(dim=1, keepdim=True)).mul(b / b.norm(dim=1, keepdim=True)).sum(1)
    theta = torch.acos(cos.clamp(-1, 1))[:, None]  # [N, 1]
    t = t.to(a)[None, :]  # [1, T]
    sin = torch.sin(theta)
    straight = sin.abs() < 1e-6
    w0 = torch.where(straight, 1 - t, torch.sin((1 - t) * theta) / sin.clamp_min(1e-12))
    w1 = torch.where(straight, t, torch.sin(t * theta) / sin.clamp_min(1e-12))
    path = w0[..., None] * a[:, None] + w1[..., None] * b[:, None]  # [N, T, d]
    return path.reshape(len(a), t.shape[1], *z0.shape[1:])


def interpolation_path(z0: Tensor, z1: Tensor, steps: int, spherical: bool = True) -> Tensor:
    """``steps`` latents per row from z0 to z1, ends included: [N, steps, d]."""
    t = torch.linspace(0, 1, steps, device=z0.device)
    if spherical:
        return slerp(z0, z1, t)
    return z0[:, None] + t[None, :, None] * (z1 - z0)[:, None]
