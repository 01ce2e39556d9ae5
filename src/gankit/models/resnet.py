"""CycleGAN's generator, Zhu et al. 2017, Sec. 4 and Appendix 7.2 (after Johnson et al. 2016):
c7s1-64, d128, d256, n residual blocks R256, u128, u64, c7s1-3.

A 7x7 convolution, two stride-2 convolutions down, ``n`` residual blocks (two 3x3 convolutions
each, with the input added back), two stride-2 transposed convolutions up and a 7x7
convolution to the output with tanh. Reflection padding avoids the artefacts that zero padding
draws at the border; instance norm (``g_norm: instance``, without running statistics) is the
paper's. The blocks change the image while the residual path keeps what should not change,
which suits translations that keep the content (thin strokes to thick ones). ``g_depth`` is
``n`` (the paper: 6 at 128 px, 9 at 256 px); ``g_hidden`` the first width (64).
"""

from __future__ import annotations

from torch import Tensor, nn

from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models.base import TRANSLATORS, check_translation_shapes
from gankit.models.dcgan import dcgan_init
from gankit.models.layers import norm_2d


class ResidualBlock(nn.Module):
    """x + [pad, conv3, norm, ReLU, pad, conv3, norm](x)."""

    def __init__(self, channels: int, norm: str, bias: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
            norm_2d(norm, channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
            norm_2d(norm, channels))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResNetGenerator(nn.Module):
    """image a [N, C_in, S, S] -> image b [N, C_out, S, S] in [-1, 1]; S divisible by 4."""

    def __init__(self, channels_in: int, channels_out: int, width: int, blocks: int,
                 norm: str = "instance") -> None:
        super().__init__()
        bias = norm in ("instance", "none")
        layers: list[nn.Module] = [nn.ReflectionPad2d(3),
                                   nn.Conv2d(channels_in, width, 7, bias=bias),
                                   norm_2d(norm, width), nn.ReLU(True)]
        for c in (width, 2 * width):  # d128, d256
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), norm_2d(norm, 2 * c),
                       nn.ReLU(True)]
        layers += [ResidualBlock(4 * width, norm, bias) for _ in range(blocks)]
        for c in (4 * width, 2 * width):  # u128, u64
            layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias),
                       norm_2d(norm, c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels_out, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@TRANSLATORS.register("resnet")
def build_resnet(config: ModelConfig, shape_in: tuple[int, ...], shape_out: tuple[int, ...]
                 ) -> nn.Module:
    """``g_hidden`` the first width, ``g_depth`` the residual blocks, ``g_norm`` the norm."""
    check_translation_shapes(shape_in, shape_out, "resnet")
    if config.g_dropout:
        raise ConfigError(f"model resnet has no dropout, so it does not use model.g_dropout="
                          f"{config.g_dropout} (unet's); remove it")
    if shape_in[1] % 4:
        raise ConfigError(f"model resnet halves the image twice: its side must be divisible by "
                          f"4, got {shape_in[1]} px")
    return dcgan_init(ResNetGenerator(shape_in[0], shape_out[0], config.g_hidden,
                                      config.g_depth, config.g_norm))
