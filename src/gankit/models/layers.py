"""Layers every model family shares: the normalizations between convolutions, the
discriminator layers that look across the batch, against mode collapse, and the head that turns
D's last features into its output.

The batch layers append statistics of the whole minibatch to each example's features, so D can
tell a batch of near-identical fakes from a diverse real batch.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.models.base import DOutput


def norm_2d(kind: str, channels: int) -> nn.Module:
    """The normalization ``model.g_norm`` / ``model.d_norm`` names, for maps [N, C, H, W]:
    batch (BatchNorm2d); layer, over (C, H, W) per example (GroupNorm with one group), which
    keeps examples independent for gradient penalties; instance, over (H, W) per example and
    channel, without affine weights or running statistics, as CycleGAN's reference code
    (Ulyanov et al. 2016; so train and test modes compute alike); none (identity)."""
    return {"batch": lambda: nn.BatchNorm2d(channels),
            "layer": lambda: nn.GroupNorm(1, channels),
            "instance": lambda: nn.InstanceNorm2d(channels),
            "none": nn.Identity}[kind]()


class MinibatchStdDev(nn.Module):
    """Karras et al. 2018 (ProGAN), Sec. 3: the std of each feature over the batch, averaged to
    one number, appended to every example as an extra feature: [N, F] -> [N, F + 1]."""

    extra_features = 1

    def forward(self, h: Tensor) -> Tensor:
        std = torch.sqrt(h.var(dim=0, unbiased=False) + 1e-8)  # [F]
        return torch.cat([h, std.mean().expand(h.shape[0], 1)], dim=1)


class MinibatchDiscrimination(nn.Module):
    r"""Salimans et al. 2016, Sec. 3.2: $M_i = f(x_i) T$ with T [A, B*C];
    $c_b(x_i, x_j) = \exp(-\lVert M_{i,b} - M_{j,b} \rVert_{L_1})$ and
    $o(x_i)_b = \sum_{j=1}^{n} c_b(x_i, x_j)$ (the sum includes j = i, as in the paper);
    the output is $[f(x_i), o(x_i)]$: [N, A] -> [N, A + B]."""

    def __init__(self, in_features: int, kernels: int, kernel_dim: int = 5) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim  # B, C
        self.extra_features = kernels
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)

    def forward(self, h: Tensor) -> Tensor:
        m = (h @ self.T).view(-1, self.kernels, self.kernel_dim)  # [N, B, C]
        l1 = (m[:, None] - m[None, :]).abs().sum(-1)  # [N, N, B]
        return torch.cat([h, torch.exp(-l1).sum(1)], dim=1)  # [N, A + B]


class Float32Linear(nn.Linear):
    """A linear layer computed in float32 even under bf16 autocast, for the layers whose input or
    output are data coordinates: bf16 keeps 8 bits of mantissa (steps of 0.016 at |x| = 4), a
    third of the std of PacGAN's grid modes (0.05), so a bf16 output layer of G or input layer
    of D would blur the very differences D must see. Same parameters and state-dict keys as
    ``nn.Linear``."""

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float())


class CriticHead(nn.Module):
    """Last features [N, F] -> DOutput(logits [N], features [N, F]): the optional batch layers
    (minibatch discrimination, then minibatch stddev) and one linear output unit.

    ``features`` are taken before the batch layers, per example (feature matching and the
    pull-away term must not see other examples). Both outputs are float32, so that the losses
    are computed in full precision under bf16 autocast.
    """

    def __init__(self, in_features: int, minibatch_kernels: int = 0,
                 minibatch_stddev: bool = False) -> None:
        super().__init__()
        batch_layers: list[nn.Module] = []
        if minibatch_kernels:
            batch_layers.append(MinibatchDiscrimination(in_features, minibatch_kernels))
        if minibatch_stddev:
            batch_layers.append(MinibatchStdDev())
        self.batch_layers = nn.Sequential(*batch_layers)
        self.out = nn.Linear(in_features + sum(m.extra_features for m in batch_layers), 1)

    def forward(self, features: Tensor) -> DOutput:
        logits = self.out(self.batch_layers(features)).squeeze(1)
        return DOutput(logits=logits.float(), features=features.float())
