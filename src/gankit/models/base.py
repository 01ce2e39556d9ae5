"""What every model family shares: the discriminator's output record and the model registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn

from gankit.config import ModelConfig
from gankit.registry import Registry


@dataclass
class DOutput:
    """What a discriminator returns for a batch."""

    logits: Tensor  # [N] raw outputs: logits for probabilistic losses, critic scores otherwise
    features: Tensor  # [N, F] last hidden layer (feature matching, energy views, plots)


def packed_shape(data_shape: tuple[int, ...], pack: int) -> tuple[int, ...]:
    """D's input shape when it judges ``pack`` samples stacked on the first axis (PacGAN)."""
    return (data_shape[0] * pack, *data_shape[1:])


# (model config, shape of one data point) -> (generator, discriminator taking packed input)
ModelBuilder = Callable[[ModelConfig, tuple[int, ...]], tuple[nn.Module, nn.Module]]
MODELS: Registry[ModelBuilder] = Registry("model")

# (model config, shape of one data point) -> auto-encoder D for energy recipes (BEGAN)
AutoencoderBuilder = Callable[[ModelConfig, tuple[int, ...]], nn.Module]
AUTOENCODERS: Registry[AutoencoderBuilder] = Registry("auto-encoder model")
