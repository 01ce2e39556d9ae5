"""What every model family shares: the discriminator's output record and the registries from
which recipes build their networks part by part (``model.generator``, ``model.discriminator``;
both default to the family ``model.name``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import Tensor, nn

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.registry import Registry


@dataclass
class DOutput:
    """What a discriminator returns for a batch."""

    logits: Tensor  # [N] raw outputs: logits for probabilistic losses, critic scores otherwise
    features: Tensor  # [N, F] last hidden layer (feature matching, energy views, plots)
    # outputs of heads on the features ({"class": [N, K]}: AC-GAN, InfoGAN's Q), same pass
    heads: dict[str, Tensor] = field(default_factory=dict)


def packed_shape(data_shape: tuple[int, ...], pack: int) -> tuple[int, ...]:
    """D's input shape when it judges ``pack`` samples stacked on the first axis (PacGAN)."""
    return (data_shape[0] * pack, *data_shape[1:])


# (model config, shape of one data point) -> a network
NetworkBuilder = Callable[[ModelConfig, tuple[int, ...]], nn.Module]
GENERATORS: Registry[NetworkBuilder] = Registry("generator")  # z [N, latent_dim] -> x [N, ...]
# x [N, pack * C, ...] -> DOutput (the builder reads model.pack for its input shape)
DISCRIMINATORS: Registry[NetworkBuilder] = Registry("discriminator")
# x [N, ...] -> DOutput whose logits are the reconstruction energy (BEGAN's auto-encoder D)
AUTOENCODERS: Registry[NetworkBuilder] = Registry("auto-encoder discriminator")


def check_family(name: str) -> None:
    """``model.name`` must name a family that some part registry knows."""
    known = sorted(set(GENERATORS) | set(DISCRIMINATORS) | set(AUTOENCODERS))
    if name not in known:
        raise ConfigError(f"unknown model {name!r} (model.name, the network family); "
                          f"known: {', '.join(known)}")


def part_name(config: ModelConfig, part: str) -> str:
    """The registry key of one network: ``model.generator`` / ``model.discriminator`` if set,
    else the family ``model.name``."""
    return getattr(config, part) or config.name


def build_part(registry: Registry[NetworkBuilder], config: ModelConfig, part: str,
               data_shape: tuple[int, ...]) -> nn.Module:
    """The network ``part`` ("generator", "discriminator") from ``registry``."""
    return registry[part_name(config, part)](config, data_shape)
