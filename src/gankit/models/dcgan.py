"""DCGAN, Radford et al. 2016: all-convolutional G and D for square images of 8 to 256 pixels.

The paper's guidelines (Sec. 3): strided convolutions instead of pooling, batch norm in G (and
in D except its first layer), ReLU in G with tanh at its output, LeakyReLU(0.2) in D, and
weights drawn from N(0, 0.02). Each stride-2 layer doubles (G) or halves (D) the side, from a
4x4 base (8 to 256 px) or a 7x7 base (28 px, MNIST); channel widths double towards the
base: ``width`` channels at the largest hidden resolution, ``width * 2^(n-1)`` at the base.
D's last feature map is flattened into :class:`CriticHead` (a linear unit on it equals the
paper's final base x base convolution), which adds the optional batch layers. ``dcgan-fc``
adds InfoGAN's 1024-unit fully connected layer after G's input and before D's output.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor, nn

from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models.base import AUTOENCODERS, DISCRIMINATORS, GENERATORS, DOutput, packed_shape
from gankit.models.layers import CriticHead, norm_2d
from gankit.models.spectral_norm import apply_spectral_norm

# The paper's 64 px and the smaller sides of digit data; 128 and 256 px for one's own folders
# (one stride-2 layer more each, the base's channels doubling with it)
SIZES = (8, 16, 28, 32, 64, 128, 256)


def resolution_plan(shape: tuple[int, ...], family: str = "dcgan",
                    sizes: tuple[int, ...] = SIZES) -> tuple[int, int]:
    """(base side, number of stride-2 layers) for images of ``shape`` [C, S, S], one of the
    ``sizes`` that ``family`` builds (its one error line names them)."""
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in sizes:
        raise ConfigError(f"model {family} takes square images of {', '.join(map(str, sizes))} "
                          f"px [C, S, S], got data of shape {list(shape)}")
    side = shape[1]
    base = 7 if side == 28 else 4
    return base, int(math.log2(side // base))


class DCGANGenerator(nn.Module):
    """z [N, latent_dim] -> images [N, C, S, S]: a linear projection reshaped to base x base
    ("just a matrix multiplication, but the result is reshaped into a 4-dimensional tensor",
    Radford et al. 2016, Sec. 3; the same map as a transposed convolution on a 1x1 input, and
    several times faster on a CPU), then stride-2 transposed convolutions (kernel 4), each
    followed by the norm and the activation."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], width: int, norm: str = "batch",
                 activation: Callable[[], nn.Module] | None = None,
                 output: nn.Module | None = None) -> None:
        super().__init__()
        activation = activation or partial(nn.ReLU, inplace=True)
        base, n = resolution_plan(shape)
        widths = [width * 2 ** (n - 1 - i) for i in range(n)]  # base ... S/2
        layers: list[nn.Module] = [nn.Linear(latent_dim, widths[0] * base * base,
                                             bias=norm == "none"),
                                   nn.Unflatten(1, (widths[0], base, base)),
                                   norm_2d(norm, widths[0]), activation()]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=norm == "none"),
                       norm_2d(norm, c_out), activation()]
        layers += [nn.ConvTranspose2d(widths[-1], shape[0], 4, 2, 1),
                   nn.Tanh() if output is None else output]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class DCGANEncoder(nn.Module):
    """images [N, C, S, S] -> last feature map flattened [N, width * 2^(n-1) * base^2]: stride-2
    convolutions (kernel 4); no norm after the first (Radford et al. 2016, Sec. 3)."""

    def __init__(self, shape: tuple[int, ...], width: int, norm: str = "batch",
                 activation: Callable[[], nn.Module] | None = None) -> None:
        super().__init__()
        base, n = resolution_plan(shape)
        widths = [width * 2**i for i in range(n)]  # S/2 ... base
        act = activation or partial(nn.LeakyReLU, 0.2, inplace=True)
        layers: list[nn.Module] = [nn.Conv2d(shape[0], widths[0], 4, 2, 1), act()]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none"),
                       norm_2d(norm, c_out), act()]
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.out_features = widths[-1] * base * base

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class DCGANDiscriminator(nn.Module):
    """images [N, C, S, S] -> DOutput(logits [N], features [N, F])."""

    def __init__(self, shape: tuple[int, ...], width: int, norm: str = "batch",
                 minibatch_kernels: int = 0, minibatch_stddev: bool = False) -> None:
        super().__init__()
        self.body = DCGANEncoder(shape, width, norm)
        self.head = CriticHead(self.body.out_features, minibatch_kernels, minibatch_stddev)

    def forward(self, x: Tensor) -> DOutput:
        return self.head(self.body(x))


class ConvAutoencoder(nn.Module):
    """BEGAN's D (Berthelot et al. 2017, Sec. 3.5, with DCGAN blocks and ELU, no norm):
    x -> code [N, code_dim] -> reconstruction; DOutput(logits = L(x) = mean |x - D(x)| [N],
    features = code)."""

    def __init__(self, shape: tuple[int, ...], width: int, code_dim: int) -> None:
        super().__init__()
        self.encoder = DCGANEncoder(shape, width, norm="none", activation=nn.ELU)
        self.to_code = nn.Linear(self.encoder.out_features, code_dim)
        self.decoder = DCGANGenerator(code_dim, shape, width, norm="none", activation=nn.ELU,
                                      output=nn.Identity())

    def forward(self, x: Tensor) -> DOutput:
        code = self.to_code(self.encoder(x))  # [N, code_dim]
        energy = (x - self.decoder(code)).abs().flatten(1).mean(1)  # [N]
        return DOutput(logits=energy.float(), features=code.float())


FC_WIDTH = 1024  # the fully connected layer of InfoGAN's MNIST networks (Chen et al. 2016)


def _norm_1d(kind: str, width: int) -> nn.Module:
    """:func:`~gankit.models.layers.norm_2d` for features [N, F]: batch, layer (per example)
    or none; instance norm needs a spatial map to normalize over."""
    if kind == "instance":
        raise ConfigError("model dcgan-fc's 1024-unit layer has no spatial map for instance "
                          "norm; model.d_norm must be batch, layer or none")
    return {"batch": lambda: nn.BatchNorm1d(width), "layer": lambda: nn.LayerNorm(width),
            "none": nn.Identity}[kind]()


class FCGenerator(nn.Module):
    """z -> FC 1024 (norm, ReLU) -> :class:`DCGANGenerator`: InfoGAN's MNIST generator (Chen et
    al. 2016, Appendix C, Table 1: FC 1024, FC 7x7x128, two 4x4 stride-2 up-convolutions), one
    fully connected layer between the latent and DCGAN's projection."""

    def __init__(self, latent_dim: int, shape: tuple[int, ...], width: int,
                 norm: str = "batch") -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(latent_dim, FC_WIDTH, bias=norm == "none"),
                                _norm_1d(norm, FC_WIDTH), nn.ReLU(inplace=True))
        self.body = DCGANGenerator(FC_WIDTH, shape, width, norm)

    def forward(self, z: Tensor) -> Tensor:
        return self.body(self.fc(z))


class FCDiscriminator(nn.Module):
    """:class:`DCGANEncoder` -> FC 1024 (norm, LeakyReLU 0.1) -> the output unit: InfoGAN's
    MNIST discriminator, whose FC 1024 features Q's head shares (Appendix C, Table 1)."""

    def __init__(self, shape: tuple[int, ...], width: int, norm: str = "batch",
                 minibatch_kernels: int = 0, minibatch_stddev: bool = False) -> None:
        super().__init__()
        self.body = DCGANEncoder(shape, width, norm)
        self.fc = nn.Sequential(nn.Linear(self.body.out_features, FC_WIDTH, bias=norm == "none"),
                                _norm_1d(norm, FC_WIDTH), nn.LeakyReLU(0.1, inplace=True))
        self.head = CriticHead(FC_WIDTH, minibatch_kernels, minibatch_stddev)

    def forward(self, x: Tensor) -> DOutput:
        return self.head(self.fc(self.body(x)))


@torch.no_grad()
def dcgan_init(network: nn.Module) -> nn.Module:
    """Weights ~ N(0, 0.02), norm scales ~ N(1, 0.02), biases 0 (Radford et al. 2016, Sec. 4)."""
    for layer in network.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)
    return network


def _generator(network: type[nn.Module], config: ModelConfig, data_shape: tuple[int, ...]
               ) -> nn.Module:
    """``g_hidden`` is the width (DCGAN's ngf, 64 in the paper); batch norm when
    ``g_batchnorm``."""
    return dcgan_init(network(config.latent_dim, data_shape, config.g_hidden,
                              "batch" if config.g_batchnorm else "none"))


def _discriminator(network: type[nn.Module], config: ModelConfig, data_shape: tuple[int, ...]
                   ) -> nn.Module:
    """``d_hidden`` is the width (DCGAN's ndf, 64 in the paper); ``d_norm`` between layers."""
    discriminator = network(packed_shape(data_shape, config.pack), config.d_hidden,
                            config.d_norm, config.minibatch_discrimination,
                            config.minibatch_stddev)
    dcgan_init(discriminator)
    if config.spectral_norm:  # after the init: the parametrization wraps the drawn weights
        apply_spectral_norm(discriminator)
    return discriminator


@GENERATORS.register("dcgan")
def build_dcgan_generator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    return _generator(DCGANGenerator, config, data_shape)


@DISCRIMINATORS.register("dcgan")
def build_dcgan_discriminator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    return _discriminator(DCGANDiscriminator, config, data_shape)


@GENERATORS.register("dcgan-fc")
def build_fc_generator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    """DCGAN's generator behind a 1024-unit layer (InfoGAN's MNIST G)."""
    return _generator(FCGenerator, config, data_shape)


@DISCRIMINATORS.register("dcgan-fc")
def build_fc_discriminator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    """DCGAN's convolutions, then a 1024-unit layer with ``d_norm`` (InfoGAN's MNIST D)."""
    return _discriminator(FCDiscriminator, config, data_shape)


@AUTOENCODERS.register("dcgan")
def build_dcgan_autoencoder(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    return dcgan_init(ConvAutoencoder(data_shape, config.d_hidden, config.latent_dim))
