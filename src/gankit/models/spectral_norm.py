r"""Spectral normalization, Miyato et al. 2018, Alg. 1: $\bar W = W / \sigma(W)$.

$\sigma(W)$, the largest singular value, is estimated by power iteration on W reshaped to
[out, in]: $v \leftarrow W^\top u / \lVert W^\top u \rVert$,
$u \leftarrow W v / \lVert W v \rVert$, $\sigma = u^\top W v$, one iteration per training
forward pass with u carried over (a buffer, so it is checkpointed and resume stays exact). In
eval mode u is not updated. Implemented as a torch parametrization, so the module's code is
unchanged and the optimizer steps the unnormalized weight.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize


class SpectralNorm(nn.Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, eps: float = 1e-12) -> None:
        super().__init__()
        self.n_power_iterations, self.eps = n_power_iterations, eps
        out_features = weight.shape[0]
        self.register_buffer("u", F.normalize(torch.randn(out_features), dim=0, eps=eps))

    def forward(self, weight: Tensor) -> Tensor:
        w = weight.flatten(1)  # [out, in]
        u = self.u
        if self.training:
            with torch.no_grad():
                for _ in range(self.n_power_iterations):
                    v = F.normalize(w.T @ u, dim=0, eps=self.eps)
                    u = F.normalize(w @ v, dim=0, eps=self.eps)
                self.u.copy_(u)
        v = F.normalize(w.T @ u, dim=0, eps=self.eps).detach()
        sigma = u.detach() @ w @ v  # gradients flow through sigma, as in Miyato et al.
        return weight / sigma


def spectral_norm(module: nn.Module, name: str = "weight") -> nn.Module:
    """Normalize ``module.<name>`` by its spectral norm on every forward pass."""
    parametrize.register_parametrization(module, name, SpectralNorm(getattr(module, name)))
    return module


def apply_spectral_norm(network: nn.Module) -> nn.Module:
    """Spectral-normalize every linear and convolutional layer of ``network`` (D, usually)."""
    for layer in network.modules():
        if isinstance(layer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
            spectral_norm(layer)
    return network
