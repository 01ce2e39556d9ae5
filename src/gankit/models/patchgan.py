"""The PatchGAN discriminator, Isola et al. 2017, Sec. 3.2.2 and Appendix 6.1.2: D judges each
N x N patch of an image as real or fake, convolutionally, and the loss averages the verdicts.

L1 already captures the low frequencies, so D need only model high-frequency structure, which
lives in local patches; such a D has fewer parameters, runs on any image size, and models the
image as a Markov random field with independence beyond a patch diameter. The layers are the
paper's: C64 (no norm) - C128 - C256 (4x4, stride 2, LeakyReLU 0.2), C512 of stride 1, and a
1-channel 4x4 convolution; ``d_depth`` stride-2 layers (3: the 70x70 PatchGAN; 1: 16x16; 0:
the 1x1 PixelGAN of 1x1 convolutions) with widths ``d_hidden * min(2^i, 8)``.

:func:`receptive_field` computes the patch each output sees from the layers themselves, so the
figure the run prints is the network's, not a table's.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models.base import DISCRIMINATORS, DOutput
from gankit.models.dcgan import dcgan_init
from gankit.models.layers import norm_2d
from gankit.models.spectral_norm import apply_spectral_norm


def receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    """The side of the input patch one output of a stack of convolutions sees, from its
    (kernel, stride) pairs in order: r = 1, then r <- (r - 1) * stride + kernel from the last
    layer back to the first."""
    field = 1
    for kernel, stride in reversed(layers):
        field = (field - 1) * stride + kernel
    return field


def output_side(side: int, layers: Sequence[nn.Conv2d]) -> int:
    """The side of the verdict map for input images of ``side`` px."""
    for conv in layers:
        side = (side + 2 * conv.padding[0] - conv.kernel_size[0]) // conv.stride[0] + 1
    return side


class PatchDiscriminator(nn.Module):
    """x [N, C, S, S] -> DOutput(logits [N, P], one per patch of a P-patch map, features [N, F],
    the last hidden map averaged over space)."""

    def __init__(self, channels: int, width: int, depth: int, norm: str = "batch") -> None:
        super().__init__()
        bias = norm in ("instance", "none")
        if depth == 0:  # PixelGAN: 1x1 convolutions, Appendix 6.1.2
            layers: list[nn.Module] = [nn.Conv2d(channels, width, 1), nn.LeakyReLU(0.2, True),
                                       nn.Conv2d(width, 2 * width, 1, bias=bias),
                                       norm_2d(norm, 2 * width), nn.LeakyReLU(0.2, True)]
            out = nn.Conv2d(2 * width, 1, 1)
        else:
            layers = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            c_in = width
            for i in range(1, depth + 1):  # depth - 1 more of stride 2, then one of stride 1
                c_out = width * min(2**i, 8)
                layers += [nn.Conv2d(c_in, c_out, 4, 2 if i < depth else 1, 1, bias=bias),
                           norm_2d(norm, c_out), nn.LeakyReLU(0.2, True)]
                c_in = c_out
            out = nn.Conv2d(c_in, 1, 4, 1, 1)
        self.body = nn.Sequential(*layers)
        self.out = out
        self.depth = depth

    @property
    def convolutions(self) -> list[nn.Conv2d]:
        return [m for m in (*self.body, self.out) if isinstance(m, nn.Conv2d)]

    @property
    def receptive_field(self) -> int:
        return receptive_field([(c.kernel_size[0], c.stride[0]) for c in self.convolutions])

    def describe(self, side: int) -> str:
        """One line on what D judges at images of ``side`` px, as the run prints it."""
        field, verdicts = self.receptive_field, output_side(side, self.convolutions)
        seen = "the whole" if field >= side else f"a {field}x{field} patch of the"
        return (f"PatchGAN D (model.d_depth {self.depth}): receptive field {field}x{field} px; "
                f"each of its {verdicts}x{verdicts} verdicts sees {seen} {side}x{side} input")

    def forward(self, x: Tensor) -> DOutput:
        hidden = self.body(x)
        logits = self.out(hidden).flatten(1)  # [N, P]
        return DOutput(logits=logits.float(), features=hidden.mean((2, 3)).float())


@DISCRIMINATORS.register("patchgan")
def build_patchgan(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    """``d_hidden`` is ndf, ``d_depth`` the stride-2 layers, ``d_norm`` the norm; the image
    must leave at least one verdict."""
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(f"model patchgan judges square images [C, S, S], got "
                          f"{list(data_shape)}")
    discriminator = dcgan_init(PatchDiscriminator(data_shape[0], config.d_hidden,
                                                  config.d_depth, config.d_norm))
    if output_side(data_shape[1], discriminator.convolutions) < 1:
        deepest = max(d for d in range(config.d_depth)
                      if output_side(data_shape[1], PatchDiscriminator(
                          data_shape[0], 1, d, "none").convolutions) >= 1)
        raise ConfigError(f"model.d_depth {config.d_depth} leaves PatchGAN no output on "
                          f"{data_shape[1]} px images; at most {deepest}")
    if config.spectral_norm:
        apply_spectral_norm(discriminator)
    return discriminator
