"""What the page may set, checked before anything is built: the data set (a 2-D toy set or
points drawn with the mouse), the loss, the learning rates, n_critic, the networks' width and
depth, the latent dimension and the seed.

The page is not trusted: every value is checked here against the view's limits (a live view
must answer within a frame, so widths and batches are kept to what a laptop CPU trains
interactively) and then against the library's own config checks, and a bad one becomes one
line that names the key, the value and what is allowed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from torch import Tensor

from gankit.configuration.compose import PRESETS, Composition, Source
from gankit.configuration.messages import show_value
from gankit.configuration.resolve import build_config
from gankit.configuration.schema import SEED_RANGE, Config
from gankit.configuration.yaml_io import read_yaml
from gankit.data import DATASETS, ToyDistribution
from gankit.errors import ConfigError

DRAWN = "drawn"  # the data set of points drawn on the page
OWN_LOSS = "config"  # the loss (and its settings) of the config the view started from
# Recipes whose G maps noise alone and whose D judges points alone: what the view draws. The
# conditional recipes (cgan, acgan, projection, caae) and InfoGAN's codes are left out.
VIEW_RECIPES = ("gan", "began", "meg")
MAX_DRAWN_POINTS = 5000
MIN_DRAWN_POINTS = 10
MAX_COORDINATE = 1e3
# How every run of the view trains: one torch thread (the other core draws the frames) and
# constant learning rates (a live run has no planned end for a decay to aim at).
VIEW_TRAINING = {"threads": 1, "lr_decay_from": 1.0}

# key -> (low, high) of the view: beyond these a step takes longer than a frame on a laptop
LIMITS: dict[str, tuple[float, float]] = {
    "lr_g": (0.0, 1.0), "lr_d": (0.0, 1.0),  # open at 0: a learning rate must move the weights
    "n_critic": (1, 20),
    "g_hidden": (1, 1024), "d_hidden": (1, 1024),
    "g_depth": (1, 8), "d_depth": (1, 8),
    "latent_dim": (1, 16),
    "batch_size": (2, 4096),
    "seed": SEED_RANGE,
}


# What a live view trains: a step of about 0.2 s on one laptop core at most (the shipped
# ring8 is 0.6 GFLOP a step, ~10 ms); widths within LIMITS can still ask for minutes a step.
MAX_STEP_FLOP = 2e10


@dataclass(frozen=True)
class ViewSettings:
    """One training setup of the view; ``points`` holds the drawn data set (dataset "drawn")."""

    dataset: str
    loss: str
    lr_g: float
    lr_d: float
    n_critic: int
    g_hidden: int
    g_depth: int
    d_hidden: int
    d_depth: int
    latent_dim: int
    batch_size: int
    seed: int

    def to_page(self) -> dict[str, Any]:
        return asdict(self)


def toy_sets() -> list[str]:
    """The shipped 2-D toy data sets (the toy sets read no data keys; images read some)."""
    return list(_toy_sets())


@functools.cache
def _toy_sets() -> tuple[str, ...]:  # builds every toy set once: asked at every message
    names = []
    for name in DATASETS.names():
        if DATASETS.facts(name).get("uses", ()) != ():
            continue
        source = DATASETS[name](None)
        if isinstance(source, ToyDistribution) and source.dim == 2:
            names.append(name)
    return tuple(names)


def loss_choices() -> list[str]:
    """The config's own loss, then every shipped preset the view can draw."""
    return list(_loss_choices())


@functools.cache
def _loss_choices() -> tuple[str, ...]:  # reads the shipped presets once
    names = [OWN_LOSS]
    for path in sorted(PRESETS.glob("*.yaml")):
        if read_yaml(path).get("recipe", Config.recipe) in VIEW_RECIPES:
            names.append(path.stem)
    return tuple(names)


def check_base(config: Config, shown: str) -> None:
    """The view trains 2-D points with the MLPs of an unconditional recipe."""
    if config.recipe not in VIEW_RECIPES:
        raise ConfigError(f"gankit view draws the recipes {', '.join(VIEW_RECIPES)}; {shown} "
                          f"uses recipe {config.recipe}")
    if config.model.name != "mlp" or config.model.generator or config.model.discriminator:
        raise ConfigError(f"gankit view trains the MLPs of 2-D toy data; {shown} uses model "
                          f"{config.model.name}")
    if config.data.name not in toy_sets() and config.data.name != "points-file":
        raise ConfigError(f"gankit view trains 2-D toy data ({', '.join(toy_sets())}, or drawn "
                          f"points); {shown} has data {config.data.name}")


def settings_of(config: Config, dataset: str, loss: str = OWN_LOSS) -> ViewSettings:
    """The page's settings of a resolved config."""
    model, train = config.model, config.train
    return ViewSettings(dataset, loss, train.lr_g, train.lr_d, train.n_critic, model.g_hidden,
                        model.g_depth, model.d_hidden, model.d_depth, model.latent_dim,
                        config.data.batch_size, train.seed)


def with_loss(base: dict[str, Any], loss: str) -> Composition:
    """The view's base config data with a preset on top (its paper settings); the base's keys
    that the preset's recipe does not read go back to off (gankit.configuration.unread)."""
    start = Composition.given(base, Source("the view's config"))
    if loss == OWN_LOSS:
        return start
    if loss not in loss_choices():
        raise ConfigError(f"loss {show_value(loss)} is not one the view trains; choose one of "
                          f"{', '.join(loss_choices())}")
    preset = PRESETS / f"{loss}.yaml"
    return start.add(read_yaml(preset), Source(f"preset {loss}", explicit=True))


def loss_defaults(base: dict[str, Any], current: ViewSettings, loss: str,
                  dataset: str) -> ViewSettings:
    """``current`` with the optimization a loss brings (its paper's learning rates, n_critic
    and batch, from its preset), for the page to show before the person applies them."""
    config = build_config(with_loss(base, loss))
    train = config.train
    return replace(current, loss=loss, dataset=dataset, lr_g=train.lr_g, lr_d=train.lr_d,
                   n_critic=train.n_critic, batch_size=config.data.batch_size)


def parse_settings(page: Any) -> ViewSettings:
    """The page's settings message, each value checked against the view's limits."""
    if not isinstance(page, dict):
        raise ConfigError(f"settings must be an object of named values, got "
                          f"{type(page).__name__}")
    names = [f.name for f in fields(ViewSettings)]
    unknown = sorted(set(page) - set(names))
    if unknown:
        raise ConfigError(f"unknown setting {show_value(unknown[0])}; the settings are "
                          f"{', '.join(names)}")
    missing = [name for name in names if name not in page]
    if missing:
        raise ConfigError(f"setting {missing[0]} is missing")
    values: dict[str, Any] = {}
    for name in names:
        value = page[name]
        if name in ("dataset", "loss"):
            if not isinstance(value, str) or not value or len(value) > 100:
                raise ConfigError(f"{name} must be a name, got {show_value(value)}")
        elif name in ("lr_g", "lr_d"):
            values[name] = _rate(name, value)
            continue
        else:
            value = _integer(name, value)
        values[name] = value
    if values["dataset"] not in (*toy_sets(), DRAWN):
        raise ConfigError(f"dataset {show_value(values['dataset'])} is not a 2-D toy set; "
                          f"choose one of {', '.join(toy_sets())} or {DRAWN}")
    return ViewSettings(**values)


def _rate(name: str, value: Any) -> float:
    low, high = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not (low < value <= high and math.isfinite(value)):
        raise ConfigError(f"{name} must be a number in ({low:g}, {high:g}], got "
                          f"{show_value(value)}")
    return float(value)


def _integer(name: str, value: Any) -> int:
    low, high = LIMITS[name]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)  # JavaScript has one number type
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high}], got "
                          f"{show_value(value)}")
    return value


def parse_points(page: Any) -> Tensor:
    """A drawn data set: a list of [x, y] pairs of finite numbers, 10 to 5,000 of them."""
    if not isinstance(page, list):
        raise ConfigError(f"points must be a list of [x, y] pairs, got {type(page).__name__}")
    if not MIN_DRAWN_POINTS <= len(page) <= MAX_DRAWN_POINTS:
        raise ConfigError(f"a drawn data set holds {MIN_DRAWN_POINTS} to {MAX_DRAWN_POINTS} "
                          f"points, got {len(page)}")
    for point in page:
        if not (isinstance(point, list) and len(point) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and abs(v) <= MAX_COORDINATE for v in point)):
            raise ConfigError(f"each point must be [x, y] with finite numbers of size at most "
                              f"{MAX_COORDINATE:g}, got {show_value(point)}")
    return torch.tensor(page, dtype=torch.float32)


def mlp_weights(inputs: int, hidden: int, depth: int, outputs: int) -> int:
    """Multiply-adds per example of an MLP with ``depth`` hidden layers (biases left out)."""
    return inputs * hidden + (depth - 1) * hidden * hidden + hidden * outputs


def step_flop(config: Config) -> float:
    """Floating-point operations of one training step of 2-D MLPs, roughly: a forward and a
    backward pass (3 x 2 FLOP per multiply-add) of D on real and fake batches and of G, in each
    of the n_critic D steps, then G and D again in the G step."""
    model = config.model
    g = mlp_weights(model.latent_dim, model.g_hidden, model.g_depth, 2)
    d = mlp_weights(2, model.d_hidden, model.d_depth, 1)
    per_example = config.train.n_critic * (g + 2 * d) + (g + d)
    return 6.0 * config.data.batch_size * per_example


def check_cost(config: Config) -> None:
    flop = step_flop(config)
    if flop > MAX_STEP_FLOP:
        raise ConfigError(f"these widths, depths, batch and n_critic cost about {flop:.1e} FLOP "
                          f"a training step; the live view trains at most {MAX_STEP_FLOP:.0e} "
                          f"(about 0.2 s a step on one core): make the networks or the batch "
                          f"smaller")


def view_config(base: dict[str, Any], settings: ViewSettings) -> Config:
    """The config the view trains: the base config with the loss's preset, then the page's
    values and :data:`VIEW_TRAINING`; refused past the view's cost of a step."""
    data = with_loss(base, settings.loss)
    model = {key: getattr(settings, key) for key in
             ("g_hidden", "g_depth", "d_hidden", "d_depth", "latent_dim")}
    train = {"lr_g": settings.lr_g, "lr_d": settings.lr_d, "n_critic": settings.n_critic,
             "seed": settings.seed, **VIEW_TRAINING}
    dataset = {"batch_size": settings.batch_size}
    if settings.dataset != DRAWN:
        dataset |= {"name": settings.dataset, "path": ""}
    data = data.add({"data": dataset, "model": model, "train": train},
                    Source("the view", explicit=True))
    config = build_config(data)
    check_base(config, "the settings")
    check_cost(config)
    return config
