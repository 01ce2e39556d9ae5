"""Typed run configuration: YAML -> dataclasses, with one-line errors for every bad input.

A config has four sections (`data`, `model`, `loss`, `train`) plus the recipe name. Every key is
typed; unknown keys, wrong types and out-of-range values raise :class:`ConfigError` naming the
dotted key, the bad value and what is allowed. Command-line overrides use the same dotted keys:
``--set train.lr_d=2e-4``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gankit.errors import ConfigError

SHIPPED_CONFIGS = Path(__file__).parent / "configs"


@dataclass
class DataConfig:
    name: str = "ring8"  # a key of gankit.data.DATASETS
    batch_size: int = 256
    n_eval: int = 2500  # samples for evaluation; 2,500 in PacGAN (Lin et al. 2018)

    def check(self) -> None:
        _positive(self, "batch_size", "n_eval", section="data")


@dataclass
class ModelConfig:
    name: str = "mlp"  # a key of gankit.models.MODELS
    latent_dim: int = 2
    g_hidden: int = 256
    g_depth: int = 3  # hidden layers
    d_hidden: int = 256
    d_depth: int = 3
    g_batchnorm: bool = False

    def check(self) -> None:
        _positive(self, "latent_dim", "g_hidden", "g_depth", "d_hidden", "d_depth", section="model")


@dataclass
class LossConfig:
    name: str = "non-saturating"  # a key of gankit.losses.LOSSES
    # None takes the loss's paper default: lambda = 10 for wgan-gp (Gulrajani et al. 2017), else 0.
    gp_weight: float | None = None
    # None takes the paper default: c = 0.01 for wgan (Arjovsky et al. 2017), else 0 (off).
    clip: float | None = None

    def check(self) -> None:
        for key in ("gp_weight", "clip"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ConfigError(f"loss.{key} must be >= 0, got {value}")


@dataclass
class TrainConfig:
    steps: int = 2000  # generator steps
    n_critic: int = 1  # discriminator steps per generator step (k in Goodfellow et al. 2014, Alg. 1)
    lr_g: float = 1e-4
    lr_d: float = 1e-4  # a different lr_d is TTUR (Heusel et al. 2017)
    optimizer: str = "adam"
    beta1: float = 0.5  # DCGAN's Adam beta1 (Radford et al. 2016)
    beta2: float = 0.999
    seed: int = 0
    device: str = "cpu"
    log_every: int = 50
    plot_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 3

    def check(self) -> None:
        _positive(
            self, "steps", "n_critic", "log_every", "plot_every", "checkpoint_every",
            "keep_checkpoints", section="train",
        )
        for key in ("lr_g", "lr_d"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"train.{key} must be > 0, got {getattr(self, key)}")
        for key in ("beta1", "beta2"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"train.{key} must be in [0, 1), got {getattr(self, key)}")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ConfigError(f"train.optimizer must be 'adam' or 'rmsprop', got {self.optimizer!r}")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ConfigError(f"train.device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")


@dataclass
class Config:
    recipe: str = "gan"  # a key of gankit.recipes.RECIPES
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def check(self) -> None:
        for section in (self.data, self.model, self.loss, self.train):
            section.check()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _positive(obj: object, *keys: str, section: str) -> None:
    for key in keys:
        value = getattr(obj, key)
        if value < 1:
            raise ConfigError(f"{section}.{key} must be >= 1, got {value}")


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from plain data, checking keys and types recursively."""
    where = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__} {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown config key {prefix}{unknown[0]}; known keys in {where}: {', '.join(fields)}"
        )
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = from_dict(hint, value, f"{prefix}{name}.")
        else:
            values[name] = _coerce(value, hint, f"{prefix}{name}")
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a scalar type hint (int, float, str, bool, X | None)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [t for t in options if t is not type(None)]
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[hint]
    if not ok:
        raise ConfigError(f"{key} must be {hint.__name__}, got {type(value).__name__} {value!r}")
    if hint is float:
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{key} must be a finite number, got {value}")
    return value


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["train.lr_d=2e-4", ...]`` into a nested dict; values are parsed as YAML scalars."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set takes key=value (e.g. train.lr_d=2e-4), got {pair!r}")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        # YAML 1.1 reads "2e-4" as a string; numbers written that way are meant as floats.
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part} is not a section")
        node[leaf] = value
    return nested


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``update`` into a copy of ``base``."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_path(name_or_path: str | Path) -> Path:
    """A config file path, or the name of a shipped config (``gankit train grid25-wgan-gp``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = SHIPPED_CONFIGS / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(shipped_configs())
    raise ConfigError(f"config file not found: {name_or_path} (shipped configs: {known})")


def shipped_configs() -> list[str]:
    return sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml"))


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    return data or {}


def build_config(data: dict[str, Any], overrides: list[str] | None = None) -> Config:
    """Plain data (+ ``--set`` overrides) -> a checked :class:`Config` with paper defaults filled."""
    from gankit.losses import LOSSES  # late: losses import nothing from here, avoid a cycle

    config = from_dict(Config, merge(data, parse_overrides(overrides or [])))
    spec = LOSSES[config.loss.name]
    if config.loss.gp_weight is None:
        config.loss.gp_weight = spec.default_gp_weight
    if config.loss.clip is None:
        config.loss.clip = spec.default_clip
    config.check()
    _check_names(config)
    return config


def _check_names(config: Config) -> None:
    from gankit.data import DATASETS
    from gankit.models import MODELS
    from gankit.recipes import RECIPES

    RECIPES[config.recipe], DATASETS[config.data.name], MODELS[config.model.name]  # noqa: B018


def load_config(name_or_path: str | Path, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (a path or a shipped name), apply overrides and check everything."""
    return build_config(read_yaml(resolve_path(name_or_path)), overrides)
