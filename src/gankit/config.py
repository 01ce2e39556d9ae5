"""Typed run configuration: YAML -> dataclasses, with one-line errors for every bad input.

A config has four shared sections (`data`, `model`, `loss`, `train`), the recipe name, and the
recipe's own section named after it (``began: {gamma: 0.5}``), whose dataclass the recipe
declares (:attr:`gankit.recipes.base.Recipe.Options`). Every key is typed; unknown keys, wrong
types and out-of-range values raise :class:`ConfigError` naming the dotted key, the bad value
and what is allowed. Command-line overrides use the same dotted keys: ``--set train.lr_d=2e-4``.

Files and ``--set`` values are read by one YAML loader (:class:`ConfigLoader`): numbers as YAML
1.2 writes them (``2e-4`` is a float), quoted text as text (``"2e-4"`` is a string, and a float
key refuses it), and limits that keep any input cheap to read and to report: no int beyond its
key's bounds, no string beyond :data:`MAX_TEXT`, no nesting or alias expansion beyond
:data:`MAX_DEPTH` and :data:`MAX_VALUES`, no ``base:`` chain beyond :data:`MAX_BASE_DEPTH`.

This module is the bottom layer: it knows no registry. :mod:`gankit.resolve` checks a config
against the registries (names, paper defaults, the recipe's options).
"""

from __future__ import annotations

import dataclasses
import math
import re
import reprlib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from gankit.errors import ConfigError, GankitError

SHIPPED_CONFIGS = Path(__file__).parent / "configs"
# torch keeps a device index in an int8: cuda:128 would silently become cuda:-128.
DEVICE = re.compile(r"cpu|cuda(:(0|[1-9][0-9]?|1[01][0-9]|12[0-7]))?")
DEVICES = "'cpu', 'cuda' or 'cuda:N' (N in 0..127)"
SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.manual_seed accepts
INT64_RANGE = (-(2**63), 2**63 - 1)  # what torch takes as a size or count
MAX_STEPS = 10**9  # generator steps; also the bound of intervals counted in steps
MAX_WIDTH = 2**16  # units, channels or latent dimensions; whether they fit is the memory's say
PRECISIONS = ("auto", "fp32", "bf16")  # auto: bf16 where native (gankit.hardware)
NONFINITE_POLICIES = ("stop", "rollback")  # train.on_nonfinite
NORMS = ("batch", "layer", "instance", "none")  # model.g_norm, model.d_norm
FEATURES = ("digits", "inception")  # image feature spaces (gankit.evaluation.features)


def bounded(default: int, low: int, high: int) -> Any:
    """An int config key allowed in [low, high], which :func:`from_dict` checks. Every int key
    has bounds: the low end is what the key means (a step count is >= 1), the high end is where
    a value can only be a typo that would hang (2^70 D steps per G step) or crash (a thread pool
    of 2^31, a size beyond int64). An int key without them is held to int64."""
    return field(default=default, metadata={"range": (low, high)})


@dataclass
class DataConfig:
    name: str = "ring8"  # a key of gankit.data.DATASETS
    batch_size: int = bounded(256, 1, 2**24)
    n_eval: int = 2500  # samples for evaluation; 2,500 in PacGAN (Lin et al. 2018)
    # Image data: side of the square images (0: the data set's own size; image-folder needs
    # one), colour channels of image-folder (1 grey, 3 RGB), its folder and optional cache file.
    # Only the data sets that declare them read these (gankit.data); setting one that the
    # chosen data set ignores is an error.
    image_size: int = bounded(0, 0, 1024)
    channels: int = bounded(3, 1, 3)
    path: str = ""
    cache: str = ""
    # Translation data's seeded augmentation (Isola et al. 2017, Sec. 6.2: "random jitter"):
    # images are resized to load_size and each draw crops a random image_size square of it
    # (0: no crop), and mirrored left-right half the time with flip; a pair gets one crop and
    # one flip for both of its sides.
    load_size: int = bounded(0, 0, 4096)
    flip: bool = False
    # Keys every run reads, whatever its data; the others only the data sets that declare them.
    EVERY_SOURCE: ClassVar[tuple[str, ...]] = ("name", "batch_size", "n_eval")

    def check(self) -> None:
        self.path, self.cache = _expand(self.path), _expand(self.cache)
        check_n_eval(self.n_eval, "data.n_eval")
        if self.image_size and not 4 <= self.image_size <= 1024:
            raise ConfigError(f"data.image_size must be in [4, 1024] (0: the data's own size), "
                              f"got {self.image_size}")
        if self.channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (grey) or 3 (RGB), got {self.channels}")
        if self.load_size and self.image_size > self.load_size:
            raise ConfigError(f"data.image_size {self.image_size} is larger than data.load_size "
                              f"{self.load_size}: the random crop must fit inside the resized "
                              f"image (load_size >= image_size, or 0 for no crop)")


@dataclass
class ModelConfig:
    name: str = "mlp"  # the network family (gankit.models): the default of every part
    # Parts chosen one by one ("" = the family): keys of gankit.models.GENERATORS and of the
    # discriminator registry the recipe uses (DISCRIMINATORS; AUTOENCODERS for BEGAN)
    generator: str = ""
    discriminator: str = ""
    latent_dim: int = bounded(2, 1, MAX_WIDTH)
    g_hidden: int = bounded(256, 1, MAX_WIDTH)
    g_depth: int = bounded(3, 1, 64)  # hidden layers
    d_hidden: int = bounded(256, 1, MAX_WIDTH)
    d_depth: int = bounded(3, 0, 64)  # PatchGAN: its stride-2 layers (0: PixelGAN)
    g_batchnorm: bool = False
    # Image-to-image generators (U-Net, ResNet): the norm after each convolution (batch:
    # Pix2Pix; instance, without running statistics: CycleGAN) and the dropout of the U-Net's
    # inner decoder blocks (Pix2Pix's noise: 0.5).
    g_norm: str = "batch"
    g_dropout: float = 0.0
    # PacGAN's m: D judges m samples jointly (Lin et al. 2018, Sec. 3: m <= 4); 1 = off
    pack: int = bounded(1, 1, 64)
    # B kernels of dim 5 (Salimans et al. 2016: 100); 0 = off
    minibatch_discrimination: int = bounded(0, 0, 1024)
    minibatch_stddev: bool = False  # Karras et al. 2018, Sec. 3
    spectral_norm: bool = False  # on every D layer (Miyato et al. 2018)
    # Normalization between D's convolutions: batch (DCGAN), layer (per example, safe with
    # gradient penalties, Gulrajani et al. 2017, Sec. 4), instance (per example and channel,
    # CycleGAN's PatchGAN) or none. The MLP's D has none.
    d_norm: str = "none"

    def check(self) -> None:
        for key in ("g_norm", "d_norm"):
            if getattr(self, key) not in NORMS:
                raise ConfigError(f"model.{key} must be one of {', '.join(NORMS)}, "
                                  f"got {show_value(getattr(self, key))}")
        if not 0 <= self.g_dropout < 1:
            raise ConfigError(f"model.g_dropout must be in [0, 1), got {self.g_dropout}")


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
    steps: int = bounded(2000, 1, MAX_STEPS)  # generator steps
    # D steps per G step: k in Goodfellow et al. 2014, Alg. 1 (WGAN: 5)
    n_critic: int = bounded(1, 1, 1000)
    lr_g: float = 1e-4
    lr_d: float = 1e-4  # a different lr_d is TTUR (Heusel et al. 2017)
    # Fraction of train.steps after which both learning rates fall linearly to 0 at the end
    # (CycleGAN's schedule is 0.5, Zhu et al. 2017, Sec. 7.1); 1.0 keeps them constant.
    lr_decay_from: float = 1.0
    optimizer: str = "adam"
    beta1: float = 0.5  # DCGAN's Adam beta1 (Radford et al. 2016)
    beta2: float = 0.999
    seed: int = bounded(0, *SEED_RANGE)
    device: str = "cpu"
    log_every: int = bounded(50, 1, MAX_STEPS)
    plot_every: int = bounded(500, 1, MAX_STEPS)
    checkpoint_every: int = bounded(500, 1, MAX_STEPS)
    keep_checkpoints: int = bounded(3, 1, MAX_STEPS)
    # torch's intra-op CPU threads; 0 keeps torch's default (small MLPs: use 1). 1024 is past
    # any machine's cores, below where torch.set_num_threads fails.
    threads: int = bounded(0, 0, 1024)
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
    max_rollbacks: int = bounded(3, 0, 100)

    def check(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"train.precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {show_value(self.precision)}")
        for key in ("lr_g", "lr_d"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"train.{key} must be > 0, got {getattr(self, key)}")
        for key in ("beta1", "beta2"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"train.{key} must be in [0, 1), got {getattr(self, key)}")
        if not 0 <= self.g_ema < 1:
            raise ConfigError(f"train.g_ema must be in [0, 1) (0: off), got {self.g_ema}")
        if not 0 <= self.lr_decay_from <= 1:
            raise ConfigError(f"train.lr_decay_from must be in [0, 1], got {self.lr_decay_from}")
        if self.on_nonfinite not in NONFINITE_POLICIES:
            raise ConfigError(f"train.on_nonfinite must be one of {', '.join(NONFINITE_POLICIES)}, "
                              f"got {show_value(self.on_nonfinite)}")
        if not 0 < self.rollback_lr_factor <= 1:
            raise ConfigError(f"train.rollback_lr_factor must be in (0, 1], "
                              f"got {self.rollback_lr_factor}")
        if self.optimizer not in ("adam", "rmsprop"):
            raise ConfigError(
                f"train.optimizer must be 'adam' or 'rmsprop', got {show_value(self.optimizer)}")
        if not DEVICE.fullmatch(self.device):
            raise ConfigError(f"train.device must be {DEVICES}, got {show_value(self.device)}")


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
            used.append(f"{key}={show_value(value)}")
    refuse_set(f"recipe {recipe}", used, why)


def refuse_set(user: str, keys: list[str], why: str) -> None:
    """One line refusing settings ``keys`` (``"train.g_ema=0.999"``) that ``user`` (a recipe, a
    data set) would silently ignore; nothing when there are none."""
    if keys:
        raise ConfigError(f"{user} does not use {', '.join(keys)} ({why}); remove them")


MAX_EVAL_SAMPLES = 10_000


def check_n_eval(n: int, what: str) -> None:
    """Exact W1 solves an n x n transport problem: n^2 float64 costs must fit in memory."""
    if not 1 <= n <= MAX_EVAL_SAMPLES:
        raise ConfigError(f"{what} must be in [1, {MAX_EVAL_SAMPLES}] (exact W1 needs n^2 memory), "
                          f"got {n}")


def _expand(path: str) -> str:
    """``~/anime`` -> ``/home/me/anime``: config paths expand ``~`` as a shell would."""
    return str(Path(path).expanduser()) if path.startswith("~") else path


def range_problem(value: int, low: int, high: int) -> str | None:
    """What is wrong with ``value`` for the bounds [low, high] (``"must be >= 1, got 0"``), or
    None; the phrase of every bounded int, in the config and on the command line."""
    if value < low:
        return f"must be >= {_int_text(low)}, got {show_value(value)}"
    if value > high:
        return f"must be <= {_int_text(high)}, got {show_value(value)}"
    return None


def _int_text(n: int) -> str:
    """A bound as people read it: 2^63 - 1 rather than 9223372036854775807."""
    for offset, suffix in ((0, ""), (1, " - 1")):
        magnitude = abs(n) + offset
        if magnitude >= 2**16 and magnitude & (magnitude - 1) == 0:
            return f"{'-' if n < 0 else ''}2^{magnitude.bit_length() - 1}{suffix}"
    return str(n)


class _ShortRepr(reprlib.Repr):
    """reprlib's bounded repr, also for ints whose full repr Python refuses (> 4,300 digits)."""

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 200:  # ~60 digits: more than a message shows anyway
            return f"<int of ~{int(x.bit_length() * math.log10(2)) + 1} digits>"
        return super().repr_int(x, level)


_SHORT_REPR = _ShortRepr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 60


def show_value(value: Any, limit: int = 60) -> str:
    """A short one-line repr for error messages: bounded in length and in the work it does, so
    that a huge int, a megabyte string or an alias bomb (a list holding itself 10^9 times over
    shared references) prints as fast as a number."""
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_text(prefix: str, key: Any) -> str:
    """A dotted key for a message; a key that is no short printable string shows as its repr."""
    return _printable(f"{prefix}{key}" if isinstance(key, str) else f"{prefix}{show_value(key)}")


def _printable(text: str, limit: int = 60) -> str:
    """``text`` as it is when it keeps a message short and on one line (and is not empty),
    else its short repr."""
    return text if text.isprintable() and 0 < len(text) <= limit else show_value(text, limit)


# Keys that moved, with where they are now: an old config fails with a line naming the new key.
MOVED_KEYS = {"loss.began_gamma": "began.gamma", "loss.began_lambda_k": "began.lambda_k"}


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from plain data, checking keys and types recursively."""
    where = prefix.rstrip(".") or "config"
    _section(data, where)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("section", True)}
    unknown = sorted((k for k in data if k not in fields), key=show_value)  # keys of any type
    if unknown:
        key = _key_text(prefix, unknown[0])
        if key in MOVED_KEYS:
            raise ConfigError(f"config key {key} is now {MOVED_KEYS[key]} (the recipe's own "
                              f"section); rename it")
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
            bounds = fields[name].metadata.get("range", INT64_RANGE)
            values[name] = _coerce(value, hint, f"{prefix}{name}", bounds)
    return cls(**values)


def _section(data: Any, where: str, source: str = "") -> None:
    """``data`` must be a mapping: a config, or one of its sections."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping (a config section), got "
                          f"{type(data).__name__} {show_value(data)}{source}")


MAX_TEXT = 4096  # characters of a string value: PATH_MAX, the longest path Linux opens
MAX_LIST = 64  # values of a list key (InfoGAN's categorical codes): more is a mistake


def _coerce(value: Any, hint: Any, key: str, bounds: tuple[int, int] = INT64_RANGE) -> Any:
    """Check ``value`` against a type hint (int, float, str, bool, X | None, or tuple[X, ...]
    read from a list); an int must lie in ``bounds``, a string have at most MAX_TEXT
    characters, a list at most MAX_LIST values."""
    if typing.get_origin(hint) is tuple:  # tuple[int, ...]: a YAML list of such values
        (item, _) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)) or len(value) > MAX_LIST:
            raise ConfigError(f"{key} must be a list of at most {MAX_LIST} {item.__name__}s, "
                              f"got {type(value).__name__} {show_value(value)}")
        return tuple(_coerce(v, item, f"{key}[{i}]", bounds) for i, v in enumerate(value))
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
        got = f"{type(value).__name__} {show_value(value)}"
        raise ConfigError(f"{key} must be {hint.__name__}, got {got}")
    if hint is int and (problem := range_problem(value, *bounds)):
        raise ConfigError(f"{key} {problem}")
    if hint is str and len(value) > MAX_TEXT:
        raise ConfigError(f"{key} must have at most {MAX_TEXT} characters, got "
                          f"{len(value)}: {show_value(value)}")
    if hint is float:
        try:
            value = float(value)
        except OverflowError:  # an int beyond float range
            raise ConfigError(f"{key} must be a finite number, got {show_value(value)}") from None
        if not math.isfinite(value):
            raise ConfigError(f"{key} must be a finite number, got {value}")
    return value


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["train.lr_d=2e-4", ...]`` into a nested dict; values are read by the config
    files' loader (``2e-4`` is a float, ``'2e-4'`` a string), and text it cannot parse as YAML
    (``data.path=[draft``) is taken as the string typed."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        parts = key.split(".")
        if not sep or not all(parts):
            raise ConfigError(f"--set takes key=value with a dotted key (e.g. train.lr_d=2e-4), "
                              f"got {show_value(pair)}")
        where = f"--set {_key_text('', key)}"
        if len(raw) > MAX_TEXT:  # no key takes one; refused before YAML spends time on it
            raise ConfigError(f"{where}: the value has {len(raw)} characters, at most {MAX_TEXT}")
        try:
            value = load_yaml(raw, where)
        except yaml.YAMLError:
            value = raw
        node = nested
        *parents, leaf = parts
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{where}: {part} is not a section")
        node[leaf] = value
    return nested


def merge(base: dict[str, Any], update: dict[str, Any], source: str, prefix: str = ""
          ) -> dict[str, Any]:
    """Recursively merge ``update`` (from ``source``: a file, ``--set``) into a copy of
    ``base``. A mapping meets a non-mapping only by mistake (``train: 5`` over a base's
    section, or a section over a base's ``train: 5``), and that is an error: replacing one by
    the other would hide the wrong value."""
    out = dict(base)
    for key, value in update.items():
        old, where = out.get(key), _key_text(prefix, key)
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = merge(old, value, source, f"{where}.")
        elif isinstance(old, dict):  # a section replaced by a scalar, a list or null: refused
            _section(value, where, f" from {source}")
        elif isinstance(value, dict) and key in out:
            first = _key_text(f"{where}.", next(iter(value), ""))
            raise ConfigError(f"{where} is {type(old).__name__} {show_value(old)}, not a "
                              f"section, so {source} cannot set {first}")
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
    shown = _printable(str(name_or_path), 200)
    if path.is_dir():
        raise ConfigError(f"config {shown} is a directory; give a YAML file in it")
    datasets, _ = shipped_configs()
    raise ConfigError(f"config file not found: {shown} (shipped: {', '.join(datasets)}, "
                      f"each also as NAME-LOSS with a loss overlay: gankit configs lists them)")


def shipped_configs() -> tuple[list[str], list[str]]:
    """Shipped data-set configs and loss overlays; ``grid25-hinge`` combines the two."""
    datasets = sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml"))
    losses = sorted(p.stem for p in (SHIPPED_CONFIGS / "losses").glob("*.yaml"))
    return datasets, losses


def tuned_pairs() -> list[str]:
    """The ``DATASET-LOSS`` combinations with settings of their own in ``configs/pairs/``."""
    return sorted(p.stem for p in (SHIPPED_CONFIGS / "pairs").glob("*.yaml"))


def config_summary(name: str) -> str:
    """The one-line description of a shipped config (``grid25``, ``losses/hinge``): the first
    line of its file, a comment by convention."""
    first = (SHIPPED_CONFIGS / f"{name}.yaml").read_text().split("\n", 1)[0]
    return first.removeprefix("#").strip()


MAX_BASE_DEPTH = 32  # files in a base: chain; a longer one is a generated mistake


def read_config_data(name_or_path: str | Path, _chain: tuple[str, ...] = ()) -> dict[str, Any]:
    """Plain config data of a file or shipped name, with ``base:`` chains and loss overlays.

    A file may start from another config with ``base: NAME_OR_PATH`` and override keys of it,
    up to :data:`MAX_BASE_DEPTH` files deep. A shipped name ``DATASET-LOSS`` is
    ``configs/DATASET.yaml`` with ``configs/losses/LOSS.yaml`` merged on top (the loss's paper
    hyper-parameters), and then ``configs/pairs/DATASET-LOSS.yaml`` where one exists: the
    settings that pairing was measured to need beyond the paper's (StackedMNIST's MEG).
    """
    name = str(name_or_path)
    if name.startswith("~"):
        name = str(Path(name).expanduser())
    if name in _chain:
        loop = " -> ".join(_printable(link, 200) for link in _chain + (name,))
        raise ConfigError(f"config base chain loops: {loop}")
    if len(_chain) >= MAX_BASE_DEPTH:
        raise ConfigError(f"config base chain is deeper than {MAX_BASE_DEPTH} files: "
                          f"{_printable(_chain[0], 200)} -> ... -> {_printable(name, 200)}")
    path = Path(name)
    if not path.is_file() and not (SHIPPED_CONFIGS / f"{name}.yaml").is_file():
        for dataset in sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml")):
            overlay = SHIPPED_CONFIGS / "losses" / f"{name.removeprefix(dataset + '-')}.yaml"
            if name.startswith(dataset + "-") and overlay.is_file():
                data = merge(read_config_data(dataset), read_yaml(overlay), str(overlay))
                pair = SHIPPED_CONFIGS / "pairs" / f"{name}.yaml"
                return merge(data, read_yaml(pair), str(pair)) if pair.is_file() else data
    path = resolve_path(name)
    data, shown = read_yaml(path), _printable(str(path), 200)
    if not isinstance(data, dict):
        raise ConfigError(f"{shown} must hold a mapping of config sections, got "
                          f"{type(data).__name__} {show_value(data)}")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base:
        raise ConfigError(f"base in {shown} must be a config name or path, got "
                          f"{show_value(base)}")
    relative = path.parent / base
    parent = str(relative) if relative.is_file() else base
    return merge(read_config_data(parent, _chain + (name,)), data, shown)


MAX_FILE_BYTES = 2**20  # shipped configs are ~1 KB; a bigger file is not a config


def read_yaml(path: Path) -> Any:
    """The YAML document of a config file (an empty file is an empty mapping)."""
    shown = _printable(str(path), 200)
    try:
        if (size := path.stat().st_size) > MAX_FILE_BYTES:
            raise ConfigError(f"{shown} has {size} bytes; a config file has at most "
                              f"{MAX_FILE_BYTES}")
        text = path.read_bytes().decode()
    except OSError as err:
        raise ConfigError(f"cannot read {shown}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{shown} is not a text (UTF-8) file") from None
    try:
        data = load_yaml(text, shown)
    except yaml.MarkedYAMLError as err:
        raise ConfigError(f"{shown} is not valid YAML: {err.problem}{_at(err.problem_mark)}"
                          ) from None
    except yaml.YAMLError as err:  # e.g. a character YAML does not allow (NUL)
        raise ConfigError(f"{shown} is not valid YAML: {str(err).splitlines()[0]}") from None
    return {} if data is None else data


# --- the YAML loader --------------------------------------------------------------------------

MAX_DEPTH = 32  # nesting of collections, aliases expanded; a config needs 3
MAX_VALUES = 10_000  # nodes of a document, aliases expanded; a config has ~60


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with YAML 1.2's floats and limits that make any input cheap.

    - ``2e-4``, ``1e3``, ``1.0e4``, ``-.5``: floats, as YAML 1.2 (and people) write them;
      YAML 1.1 wants a dot and a signed exponent (``2.0e-4``) and leaves the rest strings. A
      quoted ``"2e-4"`` stays a string, which a float key refuses: no guessing at text.
    - At most :data:`MAX_DEPTH` levels of nesting and :data:`MAX_VALUES` nodes, counted with
      aliases expanded: 10,000 nested ``[`` would overflow Python's stack, and nine levels of
      ten aliases each (billion laughs) are 10^9 values to whatever walks them (``repr``,
      ``json.dumps``). An alias inside the collection it names (``&a [*a]``) is refused too.
    - A value that cannot be built (an int of 5,000 digits, a date 2024-13-45, ``!!bool
      maybe``) is a ConfigError naming ``where`` instead of a ValueError from deep inside.
    """

    def __init__(self, text: str, where: str) -> None:
        super().__init__(text)
        self.where = where
        self._depth = 0
        self._measured: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, depth) expanded

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        alias = isinstance(event, yaml.AliasEvent)
        self._depth += not alias
        if self._depth > MAX_DEPTH:
            self._refuse(f"nests collections deeper than {MAX_DEPTH} levels", event.start_mark)
        node = super().compose_node(parent, index)
        if alias:  # the node it names was measured when it was composed, unless it is open
            if id(node) not in self._measured:
                self._refuse(f"has an alias (*{event.anchor}) inside the collection it names",
                             event.start_mark)
            return node
        self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        sizes = [self._measured[id(child)] for child in children]
        count = 1 + sum(n for n, _ in sizes)
        depth = 1 + max((d for _, d in sizes), default=0)
        if count > MAX_VALUES:
            self._refuse(f"expands to more than {MAX_VALUES} values (through its aliases)",
                         node.start_mark)
        if depth > MAX_DEPTH:
            self._refuse(f"nests collections deeper than {MAX_DEPTH} levels (through its "
                         f"aliases)", node.start_mark)
        self._measured[id(node)] = (count, depth)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except GankitError:
            raise
        except (ValueError, OverflowError) as err:  # the text of such an error says why
            self._unreadable(node, f" ({str(err).split(';')[0]})")
        except (TypeError, KeyError, AttributeError):  # an explicit tag on text it cannot parse
            self._unreadable(node, "")

    def _unreadable(self, node: yaml.Node, reason: str) -> typing.NoReturn:
        tag = node.tag.rpartition(":")[2]
        self._refuse(f"has an unreadable {tag} {show_value(node.value)}{reason}", node.start_mark)

    def _refuse(self, problem: str, mark: yaml.Mark) -> typing.NoReturn:
        raise ConfigError(f"{self.where} {problem}{_at(mark)}")


class ConfigDumper(yaml.SafeDumper):
    """Writes what :class:`ConfigLoader` reads back as written: a string that its floats would
    take for a number (a ``data.path`` of ``1e3``) is quoted."""


ConfigDumper.add_representer(tuple, lambda dumper, value: dumper.represent_list(value))


def dump_yaml(data: dict[str, Any]) -> str:
    """A config as YAML text (``config show``, a run's config.yaml), keys in their order."""
    return yaml.dump(data, Dumper=ConfigDumper, sort_keys=False)


# YAML 1.2's float (core schema) where it needs a dot or an exponent, so that ints stay ints;
# SafeLoader's YAML 1.1 resolvers, tried first, still read what they did (1_000, 0x1f, .inf).
for _yaml_class in (ConfigLoader, ConfigDumper):
    _yaml_class.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"[-+]?(\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?\Z"
                   r"|[-+]?[0-9]+[eE][-+]?[0-9]+\Z"),
        list("-+.0123456789"),
    )


def load_yaml(text: str, where: str) -> Any:
    """``text`` read by :class:`ConfigLoader`: a ConfigError naming ``where`` for input past its
    limits, a ``yaml.YAMLError`` for text that is not YAML (the caller says what it was)."""
    loader = ConfigLoader(text, where)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _at(mark: yaml.Mark | None) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
