"""Heads on a discriminator's features: one D pass gives its logits, its features and every
head's output, in :attr:`DOutput.heads`.

Recipes put their extra outputs here rather than in a second network: AC-GAN's auxiliary
classifier (Odena et al. 2017; ``acgan``), InfoGAN's Q head sharing D's body (Chen et al. 2016,
Sec. 5; ``infogan``), MEG's encoder; a head is any module from features [N, F] to an output
[N, ...]. The projection discriminator's class embedding acts on the same features, as an inner
product (:mod:`gankit.models.conditional`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.models.base import DOutput


class WithHeads(nn.Module):
    """``body`` (a discriminator returning :class:`DOutput`) with ``heads`` on its features.

    The body's logits and features pass through unchanged, so losses written for the plain D
    work on the wrapped one; ``out.heads[name]`` is ``heads[name](out.features)``.
    """

    def __init__(self, body: nn.Module, heads: dict[str, nn.Module]) -> None:
        super().__init__()
        self.body = body
        self.heads = nn.ModuleDict(heads)

    def forward(self, x: Tensor) -> DOutput:
        out = self.body(x)
        computed = {name: head(out.features) for name, head in self.heads.items()}
        return DOutput(out.logits, out.features, {**out.heads, **computed})


@torch.no_grad()
def feature_width(discriminator: nn.Module, input_shape: tuple[int, ...]) -> int:
    """F of a discriminator's features [N, F] for inputs of ``input_shape``: the size a head's
    first layer takes (measured on two zero inputs, in eval mode, state left as it was)."""
    was_training = discriminator.training
    discriminator.eval()
    try:
        parameter = next(discriminator.parameters(), None)
        device = parameter.device if parameter is not None else "cpu"
        return discriminator(torch.zeros(2, *input_shape, device=device)).features.shape[1]
    finally:
        discriminator.train(was_training)


class JointCritic(nn.Module):
    """A scalar T(x, z) [N] on a pair of a data point and a latent: ``body`` (a discriminator
    returning :class:`DOutput`) encodes x, and an MLP head reads its features concatenated with
    z. MEG's statistics network (Kumar et al. 2019, after MINE's concatenation critic, Belghazi
    et al. 2018); the same shape as a joint discriminator D(x, z) (ALI, BiGAN).

    :meth:`scores` encodes x once for several latents, as the MI estimators pair one batch of
    x with its own z and with shuffled ones.
    """

    def __init__(self, body: nn.Module, features: int, latent_dim: int, hidden: int) -> None:
        super().__init__()
        self.body = body
        self.head = nn.Sequential(nn.Linear(features + latent_dim, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                                  nn.Linear(hidden, 1))

    def scores(self, x: Tensor, *latents: Tensor) -> tuple[Tensor, ...]:
        """T(x, z) [N] for each z [N, latent_dim] of ``latents``, x [N, ...] encoded once."""
        features = self.body(x).features  # [N, F]
        return tuple(self.head(torch.cat([features, z.flatten(1).to(features.dtype)], 1))
                     .squeeze(1).float() for z in latents)

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.scores(x, z)[0]


def mlp_head(features: int, outputs: int, hidden: int = 128) -> nn.Module:
    """features [N, F] -> [N, outputs] through one LeakyReLU(0.1) hidden layer: InfoGAN's Q
    on D's shared body (openai/InfoGAN: a 128-unit layer before Q's outputs)."""
    return nn.Sequential(nn.Linear(features, hidden), nn.LeakyReLU(0.1),
                         nn.Linear(hidden, outputs))
