r"""Discriminators that take a class label y besides x: D(x, y) -> :class:`DOutput`.

- :class:`LabelInput`, CGAN's D(x | y) (Mirza & Osindero 2014, Sec. 3.2): y enters as its
  one-hot, concatenated to x: K more coordinates for points, K constant channels for images
  [N, C + K, H, W] (as the DCGAN variants of conditional GANs feed it). Any registered or own
  discriminator built for the wider input serves as the body.
- :class:`ProjectionDiscriminator` (Miyato & Koyama 2018, eq. 3):
  $D(x, y) = \psi(\phi(x)) + \mathrm{embed}(y)^\top \phi(x)$, with $\phi$ the body's features
  and $\psi$ its output unit, so the condition acts as an inner product on the features rather
  than as an input; the embedding is spectrally normalized with the rest of D under
  ``model.spectral_norm`` (the paper's SN-GAN setting).

AC-GAN and InfoGAN keep an unconditional D with a head (:mod:`gankit.models.heads`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.models.base import DOutput
from gankit.models.spectral_norm import spectral_norm


def label_input_shape(data_shape: tuple[int, ...], n_classes: int) -> tuple[int, ...]:
    """The body's input shape once the one-hot is concatenated: [C + K, H, W] or [dim + K]."""
    return (data_shape[0] + n_classes, *data_shape[1:])


def label_planes(labels: Tensor, n_classes: int, like: Tensor) -> Tensor:
    """One-hot labels shaped to concatenate with ``like`` on axis 1: [N, K] for points,
    [N, K, H, W] constant planes for images, in ``like``'s dtype."""
    y = F.one_hot(labels.long(), n_classes).to(like.dtype)
    if like.dim() == 4:
        y = y[:, :, None, None].expand(-1, -1, *like.shape[2:])
    return y


class LabelInput(nn.Module):
    """D(x | y) = body([x, one_hot(y)]) (Mirza & Osindero 2014)."""

    def __init__(self, body: nn.Module, n_classes: int) -> None:
        super().__init__()
        self.body, self.n_classes = body, n_classes

    def forward(self, x: Tensor, labels: Tensor) -> DOutput:
        both = torch.cat([x, label_planes(labels, self.n_classes, x)], 1)
        if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last):
            both = both.contiguous(memory_format=torch.channels_last)
        return self.body(both)


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + embed(y) . phi(x): ``body``'s logits are psi(phi(x)), its
    features phi(x) [N, F]; the embedding [K, F] starts at zero-mean Xavier weights."""

    def __init__(self, body: nn.Module, features: int, n_classes: int,
                 spectral: bool = False) -> None:
        super().__init__()
        self.body = body
        self.embed = nn.Embedding(n_classes, features)
        nn.init.xavier_uniform_(self.embed.weight)
        if spectral:
            spectral_norm(self.embed)

    def forward(self, x: Tensor, labels: Tensor) -> DOutput:
        out = self.body(x)
        projection = (self.embed(labels.long()).float() * out.features.float()).sum(1)  # [N]
        return DOutput(out.logits + projection, out.features, out.heads)
