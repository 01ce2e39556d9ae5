"""R3GAN's normalization-free residual G and D (family ``r3gan``), noise to square images.

Huang, Gokaslan, Kuleshov & Tompkin 2024, "The GAN is dead; long live the GAN! A Modern Baseline
GAN", Sec. 4 (its final config E), a ConvNeXt-style modernization of StyleGAN2's networks:

- G: z -> the generative basis (a learned constant base x base map per channel, scaled per
  channel by a linear map of z) -> one stage per resolution, base to S: a transition (a 1x1
  convolution to the stage's width, then x2 interpolative up-sampling), then
  ``model.blocks_per_stage`` residual blocks; the base stage starts from the basis -> a 1x1
  convolution to C channels.
- D, the mirror: a 1x1 convolution from C channels -> one stage per resolution, S to base: the
  blocks, then a transition (x2 down-sampling, a 1x1 convolution to the next width) -> the
  discriminative basis (a depthwise base x base convolution without padding, i.e. a learned
  weighting of each channel's map) -> the features [N, F] -> :class:`CriticHead` (one linear
  unit, and the optional batch layers).
- A residual block is an inverted bottleneck: x + conv1x1(act(conv3x3(act(conv1x1(x))))), the
  first 1x1 widening by ``model.expansion``, the 3x3 grouped with ``model.channels_per_group``
  channels per group; act is the leaky ReLU (slope 0.2) after a learned bias per channel
  (the paper's biased activation, here the bias of the convolution before it: the same
  function, and oneDNN adds it inside the convolution, where a separate broadcast add of a
  bf16 map was slow). Nothing normalizes: no batch, layer or spectral norm anywhere, and no
  other layer but D's output unit has a bias.
- Resampling uses the [1, 3, 3, 1] filter: the [1, 2, 1] binomial convolved with the box that
  x2 zero-insertion implies, so up-sampling is bilinear interpolation inside the image; both
  directions pad with zeros, as the reference code's ``upfirdn2d``.

Initialization keeps every block the identity at the start and its residual branch from
exploding as blocks are added (Fix-up, Zhang et al. 2019, Sec. 3): weights ~ N(0, gain^2 /
fan_in) (MSR, He et al. 2015) with the leaky ReLU's gain sqrt(2 / (1 + 0.2^2)) scaled by
L^(-1 / (2m - 2)), L the network's number of blocks and m = 3 layers per block, and each
block's last convolution zero. The other layers use gain 1; the basis is N(0, 1).

Widths double towards the base, as in ``dcgan`` and ``resnet-gan``: ``g_hidden`` /
``d_hidden`` channels at the image's own resolution, ``width * 2^n`` at the base, so one width
means the same network at every size and each stage costs about the same (the side halves, the
channels double). R3GAN's FFHQ-256 networks halve the width towards the high resolutions too
(768 to 96 channels at 32 to 256 px); its CIFAR-10 networks keep one width (768, and 16
channels per group: 1536 / 96), which this family reaches only at one stage.

G's output is linear, as the paper's (no tanh): D sees the data in [-1, 1] and soon pushes
G's samples inside it; image files clamp them (:func:`gankit.data.images.to_uint8`), the
metrics take them as drawn. Resolutions: ``dcgan.SIZES`` (a 4x4 base doubled, or 7x7 for
28 px).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models import dcgan
from gankit.models.base import DISCRIMINATORS, GENERATORS, DOutput, packed_shape
from gankit.models.layers import CriticHead

SLOPE = 0.2  # the leaky ReLU's negative slope
ACTIVATION_GAIN = math.sqrt(2 / (1 + SLOPE**2))  # He et al. 2015, eq. 15, for a leaky ReLU
LAYERS_PER_BLOCK = 3  # m in Fix-up's scaling L^(-1 / (2m - 2))
FILTER = (1.0, 3.0, 3.0, 1.0)  # [1, 2, 1] * [1, 1]: the resampling filter of one axis
Layer = TypeVar("Layer", nn.Conv2d, nn.Linear)


def resolution_plan(shape: tuple[int, ...]) -> tuple[int, int]:
    """(base side, number of resolution doublings n) for images of ``shape`` [C, S, S]."""
    return dcgan.resolution_plan(shape, "r3gan", dcgan.SIZES)


def msr(layer: Layer, gain: float = 1.0) -> Layer:
    """``layer`` with weights ~ N(0, gain^2 / fan_in) (He et al. 2015); fan_in counts one
    group's inputs times the kernel's taps."""
    fan_in = layer.weight[0].numel()
    nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in))
    return layer


def conv(c_in: int, c_out: int, kernel: int = 1, groups: int = 1, gain: float = 1.0,
         bias: bool = False) -> nn.Conv2d:
    """A stride-1 convolution that keeps the side (padding kernel // 2); its bias, if any,
    starts at zero."""
    layer = msr(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=bias),
                gain)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def resampling_kernel(x: Tensor) -> Tensor:
    """The 2-D filter, normalized to sum 1, as one depthwise kernel per channel of ``x``:
    [C, 1, 4, 4], in ``x``'s dtype (bf16 under autocast)."""
    taps = torch.tensor(FILTER, dtype=x.dtype, device=x.device)
    kernel = torch.outer(taps, taps) / taps.sum() ** 2
    return kernel.expand(x.shape[1], 1, 4, 4)


def upsample(x: Tensor) -> Tensor:  # [N, C, H, W] -> [N, C, 2H, 2W]
    """Zero-insertion x2, then the filter times 4 (each output phase sums to 1)."""
    return F.conv_transpose2d(x, 4 * resampling_kernel(x), stride=2, padding=1,
                              groups=x.shape[1])


def downsample(x: Tensor) -> Tensor:  # [N, C, H, W] -> [N, C, H/2, W/2]
    """The filter, then every other pixel."""
    return F.conv2d(x, resampling_kernel(x), stride=2, padding=1, groups=x.shape[1])


@dataclass(frozen=True)
class BlockShape:
    """What every residual block of one network shares (``model.blocks_per_stage``,
    ``model.expansion``, ``model.channels_per_group``)."""

    blocks: int  # per stage
    expansion: int
    channels_per_group: int

    @classmethod
    def of(cls, config: ModelConfig) -> BlockShape:
        return cls(config.blocks_per_stage, config.expansion, config.channels_per_group)

    def check(self, width: int, key: str) -> None:
        """Every stage's widened channels (``width * 2^k * expansion``) split into whole groups
        iff the narrowest stage's do."""
        hidden = width * self.expansion
        if hidden % self.channels_per_group:
            raise ConfigError(
                f"model r3gan's grouped convolutions need model.channels_per_group "
                f"({self.channels_per_group}) to divide model.{key} x model.expansion = {width} x "
                f"{self.expansion} = {hidden}; choose a divisor of {hidden} or a wider {key}")

    def fixup(self, stages: int) -> float:
        """Fix-up's L^(-1 / (2m - 2)) for a network of ``stages`` stages (L blocks)."""
        return (self.blocks * stages) ** (-1 / (2 * LAYERS_PER_BLOCK - 2))

    def stage(self, channels: int, fixup: float) -> list[ResidualBlock]:
        return [ResidualBlock(channels, self, fixup) for _ in range(self.blocks)]


class ResidualBlock(nn.Module):
    """x + conv1x1(act(grouped conv3x3(act(conv1x1(x))))), the identity at initialization: its
    last convolution is zero (Huang et al. 2024, Sec. 4)."""

    def __init__(self, channels: int, shape: BlockShape, fixup: float) -> None:
        super().__init__()
        hidden = channels * shape.expansion
        gain = ACTIVATION_GAIN * fixup
        # the biases are the biased activations' (see the module's docstring)
        self.widen = conv(channels, hidden, gain=gain, bias=True)
        self.spatial = conv(hidden, hidden, 3, groups=hidden // shape.channels_per_group,
                            gain=gain, bias=True)
        self.narrow = conv(hidden, channels, gain=0.0)

    def forward(self, x: Tensor) -> Tensor:  # [N, C, H, W] -> same
        h = F.leaky_relu(self.widen(x), SLOPE, inplace=True)  # [N, expansion C, H, W]
        h = F.leaky_relu(self.spatial(h), SLOPE, inplace=True)
        return x + self.narrow(h)


class Upsample(nn.Module):
    """G's transition: a 1x1 convolution to the next stage's width, then x2 up-sampling (the
    convolution at the lower resolution, 4 times cheaper)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = conv(c_in, c_out)

    def forward(self, x: Tensor) -> Tensor:
        return upsample(self.conv(x))


class Downsample(nn.Module):
    """D's transition: x2 down-sampling, then a 1x1 convolution to the next stage's width."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = conv(c_in, c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(downsample(x))


class R3GANGenerator(nn.Module):
    """z [N, latent_dim] -> images [N, C, S, S], linear (no tanh, as the paper's)."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], width: int,
                 blocks: BlockShape) -> None:
        super().__init__()
        base, n = resolution_plan(shape)
        blocks.check(width, "g_hidden")
        widths = [width * 2 ** (n - i) for i in range(n + 1)]  # stages: base ... S
        fixup = blocks.fixup(len(widths))
        self.basis = nn.Parameter(torch.randn(widths[0], base, base))
        self.modulation = msr(nn.Linear(latent_dim, widths[0], bias=False))
        stages = [nn.Sequential(*blocks.stage(widths[0], fixup))]
        stages += [nn.Sequential(Upsample(c_in, c_out), *blocks.stage(c_out, fixup))
                   for c_in, c_out in zip(widths, widths[1:], strict=False)]
        self.stages = nn.Sequential(*stages)
        self.out = conv(width, shape[0])

    def forward(self, z: Tensor) -> Tensor:
        h = self.basis * self.modulation(z)[:, :, None, None]  # [N, 2^n w, base, base]
        return self.out(self.stages(h))


class R3GANDiscriminator(nn.Module):
    """images [N, C, S, S] -> DOutput(logits [N], features [N, 2^n width]): the features are
    the discriminative basis's output."""

    def __init__(self, shape: tuple[int, ...], width: int, blocks: BlockShape,
                 minibatch_kernels: int = 0, minibatch_stddev: bool = False) -> None:
        super().__init__()
        base, n = resolution_plan(shape)
        blocks.check(width, "d_hidden")
        widths = [width * 2**i for i in range(n + 1)]  # stages: S ... base
        fixup = blocks.fixup(len(widths))
        self.extract = conv(shape[0], width)
        stages = [nn.Sequential(*blocks.stage(c_in, fixup), Downsample(c_in, c_out))
                  for c_in, c_out in zip(widths, widths[1:], strict=False)]
        stages.append(nn.Sequential(*blocks.stage(widths[-1], fixup)))
        self.stages = nn.Sequential(*stages)
        self.basis = msr(nn.Conv2d(widths[-1], widths[-1], base, groups=widths[-1], bias=False))
        self.head = CriticHead(widths[-1], minibatch_kernels, minibatch_stddev)
        msr(self.head.out)
        nn.init.zeros_(self.head.out.bias)

    def forward(self, x: Tensor) -> DOutput:
        features = self.basis(self.stages(self.extract(x))).flatten(1)  # [N, 2^n w]
        return self.head(features)


# ignores: keys that mean nothing to these networks, which gankit.configuration.unread turns
# off or refuses (spectral norm would also divide Fix-up's zero layers by zero)
@GENERATORS.register("r3gan", ignores=("g_batchnorm",), why="R3GAN's G has no normalization")
def build_r3gan_generator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    """``g_hidden`` is the width of the last stage, at the image's resolution."""
    return R3GANGenerator(config.latent_dim, data_shape, config.g_hidden, BlockShape.of(config))


@DISCRIMINATORS.register("r3gan", ignores=("d_norm", "spectral_norm"),
                         why="R3GAN's D has no normalization")
def build_r3gan_discriminator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    """``d_hidden`` is the width of the first stage, at the image's resolution."""
    return R3GANDiscriminator(packed_shape(data_shape, config.pack), config.d_hidden,
                              BlockShape.of(config), config.minibatch_discrimination,
                              config.minibatch_stddev)
