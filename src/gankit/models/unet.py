"""Pix2Pix's generator, Isola et al. 2017, Sec. 3.2.1 and Appendix 6.1.1: an encoder-decoder
with skip connections (U-Net, Ronneberger et al. 2015).

Translation maps a high-resolution input to a high-resolution output that shares its structure
(edges with the digit they outline), so low-level information should not have to squeeze
through the bottleneck: each decoder level i takes the concatenation of the level below and the
encoder's level i. The layers are the paper's: encoder C64-C128-C256-C512-C512-... (4x4
convolutions of stride 2, LeakyReLU 0.2, the norm on every layer but the first and the
innermost), decoder of 4x4 stride-2 transposed convolutions with ReLU, the norm, dropout 0.5 on
the levels next to the bottleneck (the paper's only noise: "we provide noise only in the form of
dropout"), and a tanh output.

Its depth follows the image: one level per halving of the side, down to 1x1 for a power of two
(256 px: the paper's 8 levels; 32 px: 5), at most 8. The widths are ``g_hidden * min(2^i, 8)``
at level i (``g_hidden`` is ngf, 64 in the paper). Dropout sits on the ``min(3, depth - 2)``
decoder levels above the innermost; the reference code drops out only at the levels beyond
the fifth (none at 32 px), which would leave a small U-Net without any noise.
"""

from __future__ import annotations

from torch import Tensor, cat, nn

from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models.base import TRANSLATORS, check_translation_shapes
from gankit.models.dcgan import dcgan_init
from gankit.models.layers import norm_2d

MAX_DEPTH = 8  # the paper's U-Net at 256 px
DROPOUT_LEVELS = 3  # decoder levels with dropout next to the bottleneck (Appendix 6.1.1)


def unet_depth(side: int) -> int:
    """Levels of a U-Net for square images of ``side`` px: how often the side halves evenly, up
    to :data:`MAX_DEPTH` (:class:`UNetGenerator` refuses fewer than two)."""
    depth = 0
    while side % 2 == 0 and side > 1 and depth < MAX_DEPTH:
        side, depth = side // 2, depth + 1
    return depth


class UNetGenerator(nn.Module):
    """image a [N, C_in, S, S] -> image b [N, C_out, S, S] in [-1, 1]."""

    def __init__(self, channels_in: int, channels_out: int, side: int, width: int,
                 norm: str = "batch", dropout: float = 0.0) -> None:
        super().__init__()
        self.depth = depth = unet_depth(side)
        if depth < 2:
            raise ConfigError(f"model unet needs an image side divisible by 4 (two halvings), "
                              f"got {side} px")
        widths = [width * min(2**i, 8) for i in range(depth)]
        bias = norm in ("instance", "none")  # a batch norm's shift makes a bias redundant
        self.downs = nn.ModuleList()
        for i, c_out in enumerate(widths):
            # not in place: the skip connection keeps this level's input (after the decoder's
            # ReLU the reference code's in-place version concatenates the same values)
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(channels_in if i == 0 else widths[i - 1], c_out, 4, 2, 1,
                                    bias=bias))
            if 0 < i < depth - 1:  # no norm on the first layer or on the 1x1 bottleneck
                layers.append(norm_2d(norm, c_out))
            self.downs.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList()
        for i in reversed(range(depth)):  # innermost first
            c_in = widths[i] * (1 if i == depth - 1 else 2)  # the skip doubles the input
            if i == 0:
                layers = [nn.ReLU(True), nn.ConvTranspose2d(c_in, channels_out, 4, 2, 1),
                          nn.Tanh()]
            else:
                layers = [nn.ReLU(True), nn.ConvTranspose2d(c_in, widths[i - 1], 4, 2, 1,
                                                            bias=bias),
                          norm_2d(norm, widths[i - 1])]
                if dropout > 0 and depth - 1 - DROPOUT_LEVELS <= i < depth - 1:
                    layers.append(nn.Dropout(dropout))
            self.ups.append(nn.Sequential(*layers))

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[0](skips.pop())
        for up in self.ups[1:]:
            x = up(cat([skips.pop(), x], 1))
        return x


@TRANSLATORS.register("unet")
def build_unet(config: ModelConfig, shape_in: tuple[int, ...], shape_out: tuple[int, ...]
               ) -> nn.Module:
    """``g_hidden`` is ngf, ``g_norm`` the norm, ``g_dropout`` the decoder's dropout; weights
    N(0, 0.02) as the reference code draws them."""
    check_translation_shapes(shape_in, shape_out, "unet")
    if config.g_depth != ModelConfig.g_depth:
        raise ConfigError(f"model unet's depth follows the image side ({unet_depth(shape_in[1])} "
                          f"levels at {shape_in[1]} px), so it does not use model.g_depth="
                          f"{config.g_depth} (resnet's residual blocks); remove it")
    return dcgan_init(UNetGenerator(shape_in[0], shape_out[0], shape_in[1], config.g_hidden,
                                    config.g_norm, config.g_dropout))
