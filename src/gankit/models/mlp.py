"""Fully connected G and D for low-dimensional toy data."""

from __future__ import annotations

import math

from torch import Tensor, nn

from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models.autoencoder import MLPAutoencoder
from gankit.models.base import AUTOENCODERS, DISCRIMINATORS, GENERATORS, DOutput, packed_shape
from gankit.models.layers import CriticHead, Float32Linear
from gankit.models.spectral_norm import apply_spectral_norm


def _stack(width_in: int, width: int, depth: int, activation: type[nn.Module],
           batchnorm: bool = False, first: type[nn.Linear] = nn.Linear) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers.append((first if i == 0 else nn.Linear)(width_in if i == 0 else width, width))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(activation())
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """z [N, latent_dim] -> x [N, *data_shape] through ReLU hidden layers (optional batch norm)."""

    def __init__(self, latent_dim: int, data_shape: tuple[int, ...], hidden: int, depth: int,
                 batchnorm: bool = False) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.data_shape = data_shape
        self.body = _stack(latent_dim, hidden, depth, nn.ReLU, batchnorm)
        self.out = Float32Linear(hidden, math.prod(data_shape))  # points: float32 (layers.py)

    def forward(self, z: Tensor) -> Tensor:
        return self.out(self.body(z)).view(-1, *self.data_shape)


class MLPDiscriminator(nn.Module):
    """x [N, *data_shape] -> DOutput(logits [N], features [N, hidden]) with LeakyReLU(0.2)
    hidden layers and a :class:`CriticHead` (with its optional batch layers)."""

    def __init__(self, data_shape: tuple[int, ...], hidden: int, depth: int,
                 minibatch_kernels: int = 0, minibatch_stddev: bool = False) -> None:
        super().__init__()
        self.body = _stack(math.prod(data_shape), hidden, depth, lambda: nn.LeakyReLU(0.2),
                           first=Float32Linear)  # data coordinates in: float32 (layers.py)
        self.head = CriticHead(hidden, minibatch_kernels, minibatch_stddev)

    def forward(self, x: Tensor) -> DOutput:
        return self.head(self.body(x.flatten(1)))


@GENERATORS.register("mlp")
def build_mlp_generator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    return MLPGenerator(config.latent_dim, data_shape, config.g_hidden, config.g_depth,
                        config.g_batchnorm)


@DISCRIMINATORS.register("mlp")
def build_mlp_discriminator(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    _check_depth(config)
    if config.d_norm != "none":
        raise ConfigError(f"model mlp has no normalization in D; model.d_norm must be 'none', "
                          f"got {config.d_norm!r}")
    discriminator = MLPDiscriminator(packed_shape(data_shape, config.pack), config.d_hidden,
                                     config.d_depth, config.minibatch_discrimination,
                                     config.minibatch_stddev)
    if config.spectral_norm:
        apply_spectral_norm(discriminator)
    return discriminator


@AUTOENCODERS.register("mlp")
def build_mlp_autoencoder(config: ModelConfig, data_shape: tuple[int, ...]) -> nn.Module:
    _check_depth(config)
    return MLPAutoencoder(data_shape, config.d_hidden, config.d_depth, config.latent_dim)


def _check_depth(config: ModelConfig) -> None:
    """An MLP's D (or BEGAN's auto-encoder D) has at least one hidden layer; 0 is PatchGAN's."""
    if config.d_depth < 1:
        raise ConfigError(f"model mlp's D needs at least one hidden layer; model.d_depth must be "
                          f">= 1, got {config.d_depth}")
