"""The ResNet G and D of WGAN-GP and SN-GAN (family ``resnet-gan``), noise to square images.

Gulrajani et al. 2017, Appendix F, and Miyato et al. 2018, Appendix B (Tables 4-6):

- G: z -> linear to base x base x ``width * 2^(n-1)`` -> n up-sampling residual blocks, each
  halving the channels (the first keeps them) -> BN, ReLU, conv 3x3 to C, tanh.
- D: an optimized first block (conv 3x3, ReLU, conv 3x3, avg-pool) -> n - 1 down-sampling
  blocks, each doubling the channels -> one block at the last resolution -> ReLU, global sum
  pooling -> the linear output (:class:`CriticHead`, with the optional batch layers).

n stride-2 steps take the 4x4 base to S (7x7 for 28 px digits). At 128 px and ``width`` 64 this
is SN-GAN's ImageNet pair (Table 6: G from 4x4x1024, D to 1024 channels); at 64 px WGAN-GP's
(G from 4x4x8ch); at 32 px the papers keep one width in every block (Table 4) where this family
doubles it, as DCGAN does, so that one ``g_hidden`` / ``d_hidden`` means the same at every size.

A residual block is ``shortcut(x) + residual(x)``; the shortcut is a 1x1 convolution whenever
the block changes the channels or the resolution, the identity otherwise (both papers' code).
G's blocks have batch norm when ``model.g_batchnorm`` (the papers'); D's have ``model.d_norm``
before each ReLU, none by default (SN-GAN's; WGAN-GP uses layer norm), and
``model.spectral_norm`` wraps every D layer. Weights are Xavier (Glorot) uniform, gain sqrt(2)
in the residual branches and 1 on the shortcuts and the first and last layers, biases zero, as
SN-GAN's released code (Glorot & Bengio 2010); not DCGAN's N(0, 0.02).
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch.nn.functional as F
from torch import Tensor, nn

from gankit.configuration.schema import ModelConfig
from gankit.models import dcgan
from gankit.models.base import DISCRIMINATORS, GENERATORS, DOutput, packed_shape
from gankit.models.layers import CriticHead, norm_2d
from gankit.models.spectral_norm import apply_spectral_norm

SIZES = (28, 32, 64, 128, 256)  # a 4x4 base doubled 3 to 6 times; 28 px: 7x7 doubled twice
RESIDUAL_GAIN = math.sqrt(2)  # Xavier gain in the residual branches (SN-GAN's code)
Layer = TypeVar("Layer", nn.Conv2d, nn.Linear)


def resolution_plan(shape: tuple[int, ...]) -> tuple[int, int]:
    """(base side, number of resolution doublings n) for images of ``shape`` [C, S, S]."""
    return dcgan.resolution_plan(shape, "resnet-gan", SIZES)


def xavier(layer: Layer, gain: float = 1.0) -> Layer:
    """``layer`` with Xavier-uniform weights of ``gain`` and zero bias."""
    nn.init.xavier_uniform_(layer.weight, gain)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def conv(c_in: int, c_out: int, kernel: int, gain: float = RESIDUAL_GAIN) -> nn.Conv2d:
    """A stride-1 convolution that keeps the side (padding kernel // 2)."""
    return xavier(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), gain)


def upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")  # [N, C, 2H, 2W]


def downsample(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 2)  # [N, C, H/2, W/2]


class UpBlock(nn.Module):
    """G's block: [BN, ReLU, up x2, conv 3x3, BN, ReLU, conv 3x3](x) + conv 1x1(up x2(x))."""

    def __init__(self, c_in: int, c_out: int, norm: str) -> None:
        super().__init__()
        self.norm1, self.conv1 = norm_2d(norm, c_in), conv(c_in, c_out, 3)
        self.norm2, self.conv2 = norm_2d(norm, c_out), conv(c_out, c_out, 3)
        self.shortcut = conv(c_in, c_out, 1, gain=1.0)  # the block always changes resolution

    def forward(self, x: Tensor) -> Tensor:  # [N, c_in, H, W] -> [N, c_out, 2H, 2W]
        h = self.conv1(upsample(F.relu(self.norm1(x))))
        h = self.conv2(F.relu(self.norm2(h)))
        return h + self.shortcut(upsample(x))


class DownBlock(nn.Module):
    """D's block: [norm, ReLU, conv 3x3, norm, ReLU, conv 3x3, avg-pool](x) + shortcut(x), the
    shortcut conv 1x1 then avg-pool; no pooling at the last resolution (``down`` False).

    The optimized first block (``first``, SN-GAN's code) starts with the convolution, as ReLU
    on the image would drop its negative half, and pools before its 1x1 shortcut, 4 times
    cheaper and equal to it by linearity."""

    def __init__(self, c_in: int, c_out: int, norm: str, down: bool = True,
                 first: bool = False) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.norm1 = nn.Identity() if first else norm_2d(norm, c_in)
        self.conv1, self.norm2 = conv(c_in, c_out, 3), norm_2d(norm, c_out)
        self.conv2 = conv(c_out, c_out, 3)
        self.shortcut = (conv(c_in, c_out, 1, gain=1.0) if down or c_in != c_out
                         else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:  # [N, c_in, H, W] -> [N, c_out, H/2, W/2]
        h = self.conv1(x if self.first else F.relu(self.norm1(x)))
        h = self.conv2(F.relu(self.norm2(h)))
        if not self.down:
            return h + self.shortcut(x)
        if self.first:
            return downsample(h) + self.shortcut(downsample(x))
        return downsample(h) + downsample(self.shortcut(x))


class ResNetGANGenerator(nn.Module):
    """z [N, latent_dim] -> images [N, C, S, S] in [-1, 1]."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], width: int,
                 norm: str = "batch") -> None:
        super().__init__()
        self.base, n = resolution_plan(shape)
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]  # block outputs: 2^(n-1) w ... w
        self.project = xavier(nn.Linear(latent_dim, widths[0] * self.base ** 2))
        self.blocks = nn.Sequential(*(UpBlock(c_in, c_out, norm) for c_in, c_out
                                      in zip(widths[:1] + widths, widths, strict=False)))
        self.out = nn.Sequential(norm_2d(norm, width), nn.ReLU(),
                                 conv(width, shape[0], 3, gain=1.0), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z).unflatten(1, (-1, self.base, self.base))  # [N, 2^(n-1) w, b, b]
        return self.out(self.blocks(h))


class ResNetGANDiscriminator(nn.Module):
    """images [N, C, S, S] -> DOutput(logits [N], features [N, 2^(n-1) width]): the features are
    the last block's ReLU summed over positions."""

    def __init__(self, shape: tuple[int, ...], width: int, norm: str = "none",
                 minibatch_kernels: int = 0, minibatch_stddev: bool = False) -> None:
        super().__init__()
        _, n = resolution_plan(shape)
        widths = [width * 2**i for i in range(n)]  # block outputs: w ... 2^(n-1) w
        blocks = [DownBlock(shape[0], width, norm, first=True)]
        blocks += [DownBlock(c_in, c_out, norm) for c_in, c_out
                   in zip(widths, widths[1:], strict=False)]
        blocks.append(DownBlock(widths[-1], widths[-1], norm, down=False))
        self.blocks = nn.Sequential(*blocks)
        self.head = CriticHead(widths[-1], minibatch_kernels, minibatch_stddev)
        xavier(self.head.out)

    def forward(self, x: Tensor) -> DOutput:
        features = F.relu(self.blocks(x)).sum((2, 3))  # global sum pooling: [N, 2^(n-1) w]
        return self.head(features)


@GENERATORS.register("resnet-gan")
def build_resnet_gan_generator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    """``g_hidden`` is the last block's width (SN-GAN's ch, 64 at 128 px); batch norm when
    ``g_batchnorm``."""
    return ResNetGANGenerator(config.latent_dim, data_shape, config.g_hidden,
                              "batch" if config.g_batchnorm else "none")


@DISCRIMINATORS.register("resnet-gan")
def build_resnet_gan_discriminator(config: ModelConfig, data_shape: tuple[int, ...]
                                   ) -> nn.Module:
    """``d_hidden`` is the first block's width (SN-GAN's ch); ``d_norm`` before each ReLU."""
    discriminator = ResNetGANDiscriminator(packed_shape(data_shape, config.pack),
                                           config.d_hidden, config.d_norm,
                                           config.minibatch_discrimination,
                                           config.minibatch_stddev)
    if config.spectral_norm:  # after the init: the parametrization wraps the drawn weights
        apply_spectral_norm(discriminator)
    return discriminator
