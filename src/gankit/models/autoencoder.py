"""An auto-encoder discriminator whose output is an energy: the reconstruction error.

BEGAN (Berthelot et al. 2017, Sec. 3.1) and EBGAN (Zhao et al. 2017) use D(v) = AE(v) and the
per-example loss L(v) = mean |v - AE(v)| (eta = 1): low on data, high elsewhere.
"""

from __future__ import annotations

import math

from torch import Tensor, nn

from gankit.models.base import DOutput


class MLPAutoencoder(nn.Module):
    """x [N, *shape] -> DOutput(logits = L(x) [N], features = code [N, code_dim])."""

    def __init__(self, data_shape: tuple[int, ...], hidden: int, depth: int,
                 code_dim: int) -> None:
        super().__init__()
        size = math.prod(data_shape)

        def mlp(n_in: int, n_out: int) -> nn.Sequential:
            layers: list[nn.Module] = []
            for i in range(depth):
                layers += [nn.Linear(n_in if i == 0 else hidden, hidden), nn.ELU()]
            return nn.Sequential(*layers, nn.Linear(hidden, n_out))

        self.encoder, self.decoder = mlp(size, code_dim), mlp(code_dim, size)

    def forward(self, x: Tensor) -> DOutput:
        flat = x.flatten(1)  # [N, size]
        code = self.encoder(flat)  # [N, code_dim]
        energy = (flat - self.decoder(code)).abs().mean(1)  # [N]
        return DOutput(logits=energy.float(), features=code.float())
