"""What every model family shares: the discriminator's output record and the registries from
which recipes build their networks part by part (``model.generator``, ``model.discriminator``;
both default to the family ``model.name``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from torch import Tensor, nn

from gankit.configuration.imports import GIVEN, is_import_string, load_object
from gankit.configuration.messages import show_value
from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError, GankitError
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
# Each filled by the decorators of this package's modules (found at the first lookup) and by
# other packages' entry points (groups gankit.generators, gankit.discriminators, ...).
# z [N, latent_dim] -> x [N, ...]
GENERATORS: Registry[NetworkBuilder] = Registry("generator", package="gankit.models",
                                                group="gankit.generators")
# x [N, pack * C, ...] -> DOutput (the builder reads model.pack for its input shape)
DISCRIMINATORS: Registry[NetworkBuilder] = Registry("discriminator", package="gankit.models",
                                                    group="gankit.discriminators")
# x [N, ...] -> DOutput whose logits are the reconstruction energy (BEGAN's auto-encoder D)
AUTOENCODERS: Registry[NetworkBuilder] = Registry(
    "auto-encoder discriminator", package="gankit.models", group="gankit.autoencoders")
# (model config, shape of an input image, shape of an output image) -> a network
TranslatorBuilder = Callable[[ModelConfig, tuple[int, ...], tuple[int, ...]], nn.Module]
# image a [N, C_a, S, S] -> image b [N, C_b, S, S] (Pix2Pix's U-Net, CycleGAN's ResNet)
TRANSLATORS: Registry[TranslatorBuilder] = Registry(
    "image-to-image generator", package="gankit.models", group="gankit.translators")


def check_translation_shapes(shape_in: tuple[int, ...], shape_out: tuple[int, ...],
                             family: str) -> None:
    """A translator of ``family`` maps square images [C, S, S] to images of the same side."""
    if len(shape_in) != 3 or shape_in[1] != shape_in[2] or shape_in[1:] != shape_out[1:]:
        raise ConfigError(f"model {family} maps square images [C, S, S] to images of the same "
                          f"side; got input {list(shape_in)} and output {list(shape_out)}")


def check_family(name: str) -> None:
    """``model.name`` must name a family that some part registry knows."""
    known = sorted(set(GENERATORS) | set(DISCRIMINATORS) | set(AUTOENCODERS) | set(TRANSLATORS))
    if name not in known:
        raise ConfigError(f"unknown model {show_value(name)} (model.name, the network family); "
                          f"known: {', '.join(known)}")


def part_name(config: ModelConfig, part: str) -> str:
    """The registry key of one network: ``model.generator`` / ``model.discriminator`` if set,
    else the family ``model.name``."""
    return getattr(config, part) or config.name


_GIVEN_PARTS: ContextVar[dict[str, nn.Module] | None] = ContextVar("given_parts", default=None)


@contextmanager
def given_parts(parts: dict[str, nn.Module]) -> Iterator[None]:
    """Networks passed to ``gankit.build`` as modules, used while the recipe is built for the
    parts whose config name is ``given``."""
    token = _GIVEN_PARTS.set(parts)
    try:
        yield
    finally:
        _GIVEN_PARTS.reset(token)


def check_part(registry: Registry[NetworkBuilder], config: ModelConfig, part: str) -> None:
    """One config line now for a part that cannot be built later: an unknown registry name, or
    an import string whose module or factory is missing."""
    name = part_name(config, part)
    if is_import_string(name):
        load_object(name, f"model.{part}")
    elif name != GIVEN:
        registry[name]  # noqa: B018


def build_part(registry: Registry[NetworkBuilder] | Registry[TranslatorBuilder],
               config: ModelConfig, part: str, *shapes: tuple[int, ...]) -> nn.Module:
    """The network ``part`` ("generator", "discriminator"): from ``registry`` by name, from a
    researcher's factory by import string (``"package.module:factory"``, called as
    ``factory(model_config, *shapes)``), or the module given to ``gankit.build``. ``shapes``:
    one example's shape (a translator: the input's, then the output's). A researcher's
    discriminator may return a plain tensor of logits (:class:`OwnDiscriminator`)."""
    name = part_name(config, part)
    if name == GIVEN:
        given = _GIVEN_PARTS.get() or {}
        if part not in given:
            raise ConfigError(f"model.{part} is {GIVEN!r}: the run was built from an nn.Module "
                              f"passed to gankit.build, which a run directory cannot hold; name "
                              f"its factory instead (model.{part}: 'package.module:factory')")
        module = given[part]
    elif is_import_string(name):
        module = load_object(name, f"model.{part}")(config, *shapes)
    else:
        return registry[name](config, *shapes)
    if not isinstance(module, nn.Module):
        raise ConfigError(f"model.{part} {show_value(name)} gave a {type(module).__name__}, not an "
                          f"nn.Module")
    return module if part == "generator" else OwnDiscriminator(module)


class OwnDiscriminator(nn.Module):
    """A researcher's discriminator: its output passes through if it is a :class:`DOutput`; a
    tensor of logits [N] or [N, 1] becomes ``DOutput(logits, features=logits[:, None])`` (so
    feature matching and the pull-away term need a D that returns its own features)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor) -> DOutput:
        out = self.module(x)
        if isinstance(out, DOutput):
            return out
        if not isinstance(out, Tensor) or out.dim() > 2 or out.numel() != len(x):
            shape = list(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise GankitError(f"the discriminator returned {shape}; it must return a DOutput or "
                              f"one logit per example, [N] or [N, 1], for N = {len(x)}")
        logits = out.reshape(len(x)).float()
        return DOutput(logits, logits[:, None])
