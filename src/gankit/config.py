"""Typed run configuration: YAML -> dataclasses, with one-line errors for every bad input.

A config has four shared sections (`data`, `model`, `loss`, `train`), the recipe name, and the
recipe's own section named after it (``began: {gamma: 0.5}``), whose dataclass the recipe
declares (:attr:`gankit.recipes.base.Recipe.Options`). Every key is typed; unknown keys, wrong
types and out-of-range values raise :class:`ConfigError` naming the dotted key, the bad value
and what is allowed. Command-line overrides use the same dotted keys: ``--set train.lr_d=2e-4``.

This module is the bottom layer: it knows no registry. :mod:`gankit.resolve` checks a config
against the registries (names, paper defaults, the recipe's options).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gankit.errors import ConfigError

SHIPPED_CONFIGS = Path(__file__).parent / "configs"
# A number the way people write one on a command line; float() alone would also take "nan", "inf".
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_YAML11_EXPONENT = re.compile(r"[-+]?\d+[eE][-+]?\d+")  # 2e-4: a number YAML 1.1 leaves a string
_DEVICE = re.compile(r"cpu|cuda(:\d+)?")
PRECISIONS = ("auto", "fp32", "bf16")  # auto: bf16 where native (gankit.hardware)
NONFINITE_POLICIES = ("stop", "rollback")  # train.on_nonfinite
FEATURES = ("digits", "inception")  # image feature spaces (gankit.evaluation.features)


@dataclass
class DataConfig:
    name: str = "ring8"  # a key of gankit.data.DATASETS
    batch_size: int = 256
    n_eval: int = 2500  # samples for evaluation; 2,500 in PacGAN (Lin et al. 2018)
    # Image data: side of the square images (0: the data set's own size; image-folder needs
    # one), colour channels of image-folder (1 grey, 3 RGB), its folder and optional cache file.
    image_size: int = 0
    channels: int = 3
    path: str = ""
    cache: str = ""

    def check(self) -> None:
        self.path, self.cache = _expand(self.path), _expand(self.cache)
        _positive(self, "batch_size", "n_eval", section="data")
        check_n_eval(self.n_eval, "data.n_eval")
        if self.image_size and not 4 <= self.image_size <= 1024:
            raise ConfigError(f"data.image_size must be in [4, 1024] (0: the data's own size), "
                              f"got {self.image_size}")
        if self.channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (grey) or 3 (RGB), got {self.channels}")


@dataclass
class ModelConfig:
    name: str = "mlp"  # the network family (gankit.models): the default of every part
    # Parts chosen one by one ("" = the family): keys of gankit.models.GENERATORS and of the
    # discriminator registry the recipe uses (DISCRIMINATORS; AUTOENCODERS for BEGAN)
    generator: str = ""
    discriminator: str = ""
    latent_dim: int = 2
    g_hidden: int = 256
    g_depth: int = 3  # hidden layers
    d_hidden: int = 256
    d_depth: int = 3
    g_batchnorm: bool = False
    pack: int = 1  # PacGAN's m: D judges m samples jointly (Lin et al. 2018, Sec. 3); 1 = off
    minibatch_discrimination: int = 0  # B kernels of dim 5 (Salimans et al. 2016: 100); 0 = off
    minibatch_stddev: bool = False  # Karras et al. 2018, Sec. 3
    spectral_norm: bool = False  # on every D layer (Miyato et al. 2018)
    # Normalization between D's convolutions: batch (DCGAN), layer (per example, safe with
    # gradient penalties, Gulrajani et al. 2017, Sec. 4) or none. The MLP's D has none.
    d_norm: str = "none"

    def check(self) -> None:
        _positive(self, "latent_dim", "g_hidden", "g_depth", "d_hidden", "d_depth", "pack",
                  section="model")
        if self.d_norm not in ("batch", "layer", "none"):
            raise ConfigError(f"model.d_norm must be 'batch', 'layer' or 'none', "
                              f"got {self.d_norm!r}")
        if self.minibatch_discrimination < 0:
            raise ConfigError("model.minibatch_discrimination must be >= 0 (0: off), "
                              f"got {self.minibatch_discrimination}")


@dataclass
class LossConfig:
    name: str = "non-saturating"  # a key of gankit.losses.LOSSES
    # None takes the loss's paper default: lambda = 10 for wgan-gp (Gulrajani et al. 2017), else 0.
    gp_weight: float | None = None
    # None takes the paper default: c = 0.01 for wgan (Arjovsky et al. 2017), else 0 (off).
    clip: float | None = None
    r1_weight: float = 0.0  # gamma of R1 on real data (Mescheder et al. 2018, eq. 9); 0 = off
    r2_weight: float = 0.0  # gamma of R2, the same penalty on generated data; 0 = off
    # Target of real examples in D's log-likelihood loss: 0.9 is one-sided label smoothing
    # (Salimans et al. 2016, Sec. 3.4); only for minimax and non-saturating.
    real_label: float = 1.0
    # Weights of extra G terms on D's features: feature matching (Salimans et al. 2016,
    # Sec. 3.1) and the pull-away term (Zhao et al. 2017, eq. 6; 0.1 in EBGAN); 0 = off.
    feature_matching: float = 0.0
    pull_away: float = 0.0

    def check(self) -> None:
        for key in ("gp_weight", "clip", "r1_weight", "r2_weight", "feature_matching",
                    "pull_away"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ConfigError(f"loss.{key} must be >= 0, got {value}")
        if not 0.5 < self.real_label <= 1:
            raise ConfigError(f"loss.real_label must be in (0.5, 1], got {self.real_label}")
        if self.real_label < 1 and self.name not in ("minimax", "non-saturating"):
            raise ConfigError(f"loss.real_label < 1 (label smoothing) needs a log-likelihood "
                              f"loss (minimax, non-saturating), got loss.name {self.name!r}")


@dataclass
class TrainConfig:
    steps: int = 2000  # generator steps
    n_critic: int = 1  # D steps per G step: k in Goodfellow et al. 2014, Alg. 1
    lr_g: float = 1e-4
    lr_d: float = 1e-4  # a different lr_d is TTUR (Heusel et al. 2017)
    # Fraction of train.steps after which both learning rates fall linearly to 0 at the end
    # (CycleGAN's schedule is 0.5, Zhu et al. 2017, Sec. 7.1); 1.0 keeps them constant.
    lr_decay_from: float = 1.0
    optimizer: str = "adam"
    beta1: float = 0.5  # DCGAN's Adam beta1 (Radford et al. 2016)
    beta2: float = 0.999
    seed: int = 0
    device: str = "cpu"
    log_every: int = 50
    plot_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    threads: int = 0  # torch's intra-op CPU threads; 0 keeps torch's default (small MLPs: use 1)
    # Decay beta of an exponential moving average of G's weights, used for sampling and
    # evaluation (Karras et al. 2018, Sec. A.1: 0.999; Yazici et al. 2019); 0 = off.
    g_ema: float = 0.0
    # Speed (Sec. "Speed" of the README): bf16 autocast of the forward passes (losses stay
    # float32), channels-last memory for image networks, and one G(z) per step shared by the
    # last D step and the G step, as the PyTorch DCGAN example does (off: the G step draws a
    # fresh z, Goodfellow et al. 2014, Alg. 1). precision "auto" is bf16 where the device
    # computes it natively and fp32 where it would be emulated (gankit.hardware).
    precision: str = "auto"
    channels_last: bool = False
    reuse_fake: bool = False
    # A NaN or infinite loss (or weights): "stop" the run, naming the last good checkpoint, or
    # "rollback" to the last good state (the newest checkpoint, or the start of the fit) with
    # both learning rates times rollback_lr_factor, at most max_rollbacks times.
    on_nonfinite: str = "stop"
    rollback_lr_factor: float = 0.5
    max_rollbacks: int = 3

    def check(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"train.precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {self.precision!r}")
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
        if not -(2**63) <= self.seed < 2**64:  # what torch.manual_seed accepts
            raise ConfigError(f"train.seed must be in [-2^63, 2^64), got {_show(self.seed)}")
        if not 0 <= self.g_ema < 1:
            raise ConfigError(f"train.g_ema must be in [0, 1) (0: off), got {self.g_ema}")
        if self.threads < 0:
            raise ConfigError(f"train.threads must be >= 0 (0: torch's default), "
                              f"got {self.threads}")
        if not 0 <= self.lr_decay_from <= 1:
            raise ConfigError(f"train.lr_decay_from must be in [0, 1], got {self.lr_decay_from}")
        if self.on_nonfinite not in NONFINITE_POLICIES:
            raise ConfigError(f"train.on_nonfinite must be one of {', '.join(NONFINITE_POLICIES)}, "
                              f"got {self.on_nonfinite!r}")
        if not 0 < self.rollback_lr_factor <= 1:
            raise ConfigError(f"train.rollback_lr_factor must be in (0, 1], "
                              f"got {self.rollback_lr_factor}")
        if not 0 <= self.max_rollbacks <= 100:
            raise ConfigError(f"train.max_rollbacks must be in [0, 100], "
                              f"got {_show(self.max_rollbacks)}")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ConfigError(
                f"train.optimizer must be 'adam' or 'rmsprop', got {self.optimizer!r}")
        if not _DEVICE.fullmatch(self.device):
            raise ConfigError(
                f"train.device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")


@dataclass
class Config:
    recipe: str = "gan"  # a key of gankit.recipes.RECIPES
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # The recipe's own options (a dataclass it declares), read from the section named after
    # the recipe; None for a recipe without options. Filled by gankit.resolve.
    options: Any = field(default=None, metadata={"section": False})

    def check(self) -> None:
        for section in (self.data, self.model, self.loss, self.train):
            section.check()
        if self.data.batch_size % self.model.pack:
            raise ConfigError(f"data.batch_size ({self.data.batch_size}) must be a multiple of "
                              f"model.pack ({self.model.pack})")

    def to_dict(self) -> dict[str, Any]:
        """Plain data that reads back to this config: the shared sections, then the recipe's."""
        out = {f.name: dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
               for f in dataclasses.fields(self)
               if f.metadata.get("section", True) and (value := getattr(self, f.name)) is not None}
        if self.options is not None:
            out[self.recipe] = dataclasses.asdict(self.options)
        return out


def refuse_unused(config: Config, unused: dict[str, Any], recipe: str, why: str) -> None:
    """Refuse, in one line, keys of the shared sections that ``recipe`` would silently ignore:
    ``unused`` maps ``section.key`` to its off value (0 and the off value both count as off)."""
    used = []
    for key, off in unused.items():
        section, name = key.split(".")
        if (value := getattr(getattr(config, section), name)) not in (off, 0):
            used.append(f"{key}={_show(value)}")
    if used:
        raise ConfigError(f"recipe {recipe} does not use {', '.join(used)} ({why}); remove them")


MAX_EVAL_SAMPLES = 10_000


def check_n_eval(n: int, what: str) -> None:
    """Exact W1 solves an n x n transport problem: n^2 float64 costs must fit in memory."""
    if not 1 <= n <= MAX_EVAL_SAMPLES:
        raise ConfigError(f"{what} must be in [1, {MAX_EVAL_SAMPLES}] (exact W1 needs n^2 memory), "
                          f"got {n}")


def _expand(path: str) -> str:
    """``~/anime`` -> ``/home/me/anime``: config paths expand ``~`` as a shell would."""
    return str(Path(path).expanduser()) if path.startswith("~") else path


def _positive(obj: object, *keys: str, section: str) -> None:
    for key in keys:
        value = getattr(obj, key)
        if value < 1:
            raise ConfigError(f"{section}.{key} must be >= 1, got {value}")


def _show(value: Any, limit: int = 60) -> str:
    """A short one-line repr for error messages (a huge int's repr would itself raise)."""
    try:
        text = repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to print>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Keys that moved, with where they are now: an old config fails with a line naming the new key.
MOVED_KEYS = {"loss.began_gamma": "began.gamma", "loss.began_lambda_k": "began.lambda_k"}


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from plain data, checking keys and types recursively."""
    where = prefix.rstrip(".") or "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(data).__name__} {_show(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("section", True)}
    unknown = sorted(set(data) - set(fields), key=str)  # YAML keys need not be strings
    if unknown:
        key = f"{prefix}{unknown[0]}"
        if key in MOVED_KEYS:
            raise ConfigError(f"config key {key} is now {MOVED_KEYS[key]} (the recipe's own "
                              f"section); rename it")
        if not key.isprintable():  # keep the message on one line
            key = repr(key)
        raise ConfigError(
            f"unknown config key {key}; known keys in {where}: {', '.join(fields)}"
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
    if hint is float and isinstance(value, str) and _YAML11_EXPONENT.fullmatch(value):
        value = float(value)  # a config file's lr: 2e-4 (YAML 1.1 reads it as a string)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[hint]
    if not ok:
        got = f"{type(value).__name__} {_show(value)}"
        raise ConfigError(f"{key} must be {hint.__name__}, got {got}")
    if hint is float:
        try:
            value = float(value)
        except OverflowError:  # an int beyond float range
            raise ConfigError(f"{key} must be a finite number, got {_show(value)}") from None
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
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            value = float(value)
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
    """A config file path, or the file of a shipped data-set config (``grid25``)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = SHIPPED_CONFIGS / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    datasets, losses = shipped_configs()
    raise ConfigError(f"config file not found: {name_or_path} (shipped: {', '.join(datasets)}, "
                      f"each also as NAME-LOSS with LOSS in {', '.join(losses)})")


def shipped_configs() -> tuple[list[str], list[str]]:
    """Shipped data-set configs and loss overlays; ``grid25-hinge`` combines the two."""
    datasets = sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml"))
    losses = sorted(p.stem for p in (SHIPPED_CONFIGS / "losses").glob("*.yaml"))
    return datasets, losses


def config_summary(name: str) -> str:
    """The one-line description of a shipped config (``grid25``, ``losses/hinge``): the first
    line of its file, a comment by convention."""
    first = (SHIPPED_CONFIGS / f"{name}.yaml").read_text().split("\n", 1)[0]
    return first.removeprefix("#").strip()


def read_config_data(name_or_path: str | Path, _chain: tuple[str, ...] = ()) -> dict[str, Any]:
    """Plain config data of a file or shipped name, with ``base:`` chains and loss overlays.

    A file may start from another config with ``base: NAME_OR_PATH`` and override keys of it.
    A shipped name ``DATASET-LOSS`` is ``configs/DATASET.yaml`` with
    ``configs/losses/LOSS.yaml`` merged on top (the loss's paper hyper-parameters).
    """
    name = str(name_or_path)
    if name.startswith("~"):
        name = str(Path(name).expanduser())
    if name in _chain:
        raise ConfigError(f"config base chain loops: {' -> '.join(_chain + (name,))}")
    path = Path(name)
    if not path.is_file() and not (SHIPPED_CONFIGS / f"{name}.yaml").is_file():
        for dataset in sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml")):
            overlay = SHIPPED_CONFIGS / "losses" / f"{name.removeprefix(dataset + '-')}.yaml"
            if name.startswith(dataset + "-") and overlay.is_file():
                return merge(read_config_data(dataset), read_yaml(overlay))
    path = resolve_path(name)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config sections, got {data!r}")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"base in {path} must be a config name or path, got {base!r}")
    relative = path.parent / base
    parent = str(relative) if relative.is_file() else base
    return merge(read_config_data(parent, _chain + (name,)), data)


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text (UTF-8) file") from None
    return data or {}
