"""The config's schema: typed dataclasses and the bounds of every key
(:mod:`gankit.configuration.reading` builds them from plain data with one-line errors).

A config has four shared sections (`data`, `model`, `loss`, `train`), the recipe name, and the
recipe's own section named after it (``began: {gamma: 0.5}``), whose dataclass the recipe
declares (:attr:`gankit.recipes.base.Recipe.Options`). Every key is typed; unknown keys, wrong
types and out-of-range values raise :class:`ConfigError` naming the dotted key, the bad value
and what is allowed. No int beyond its key's bounds, no float that float32 (which the tensors
use) would make 0, subnormal or inf, no string beyond
:data:`gankit.configuration.reading.MAX_TEXT`.

This module knows no registry and names no loss, recipe or data set:
:mod:`gankit.configuration.resolve` checks a config against the registries.
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from gankit.configuration.messages import show_value
from gankit.errors import ConfigError

# torch keeps a device index in an int8: cuda:128 would silently become cuda:-128.
DEVICE = re.compile(r"cpu|cuda(:(0|[1-9][0-9]?|1[01][0-9]|12[0-7]))?")
DEVICES = "'cpu', 'cuda' or 'cuda:N' (N in 0..127)"
SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.manual_seed accepts
INT64_RANGE = (-(2**63), 2**63 - 1)  # what torch takes as a size or count
MAX_STEPS = 10**9  # generator steps; also the bound of intervals counted in steps
MAX_WIDTH = 2**16  # units, channels or latent dimensions; whether they fit is the memory's say
STREAM_MODES = ("auto", "always", "never")  # data.stream (gankit.data.streaming)
PRECISIONS = ("auto", "fp32", "bf16")  # auto: bf16 where native (gankit.training.hardware)
NONFINITE_POLICIES = ("stop", "rollback")  # train.on_nonfinite
NORMS = ("batch", "layer", "instance", "none")  # model.g_norm, model.d_norm
FEATURES = ("digits", "inception")  # the project's image feature spaces (gankit.metrics)
FEATURE_FILE_SUFFIX = ".safetensors"  # a feature space fitted by 'gankit features fit'
EXTEND_CHOICES = ("stretch", "final_lr")  # train.on_extend
DECAY_SHAPES = ("linear", "cosine")  # train.decay_shape (gankit.training.optimization)


def is_feature_file(name: str, registered: typing.Collection[str]) -> bool:
    """Whether a feature-space choice (``--features``, ``data.features``) names a fitted
    feature file rather than one of the ``registered`` feature extractors, which win over a
    file of the same name in the working folder: it ends in .safetensors or is an existing
    file. The one rule for the config, the command line and the evaluation."""
    return name not in registered and (name.endswith(FEATURE_FILE_SUFFIX)
                                       or Path(name).expanduser().is_file())


def feature_spaces() -> list[str]:
    """The registered feature extractors' names (the project's and other packages'), read
    without importing them (:func:`gankit.registry.declared`)."""
    from gankit.registry import declared

    return list(declared("gankit.metrics.extractors:FEATURE_EXTRACTORS"))


def bounded(default: int, low: int, high: int) -> Any:
    """An int config key allowed in [low, high], which :func:`from_dict` checks. Every int key
    has bounds: the low end is what the key means (a step count is >= 1), the high end is where
    a value can only be a typo that would hang (2^70 D steps per G step) or crash (a thread pool
    of 2^31, a size beyond int64). An int key without them is held to int64."""
    return field(default=default, metadata={"range": (low, high)})


Interval = int | float  # a step count >= 1, or a fraction of train.steps in (0, 1]


def every(value: Interval, steps: int) -> int:
    """The steps between two events of an interval key (``train.log_every``, ``plot_every``,
    ``checkpoint_every``) in a run of ``steps``: a count as it is, a fraction of the run
    rounded half up, at least 1 (``plot_every: 0.1`` of 600 steps: 60). Evaluated against the
    run's current length, so a fraction follows ``train.steps`` when a run goes on past it."""
    if isinstance(value, float):
        return max(1, math.floor(value * steps + 0.5))
    return value


def check_interval(value: Any, key: str) -> Interval:
    """An interval key's value: an int in [1, MAX_STEPS] or a float in [1/MAX_STEPS, 1]; 1 is
    every step and 1.0 the whole run, as YAML and ``--set`` tell them apart. A smaller fraction
    is less than one step of the longest run (and 1e-40 would be no float32 number at all)."""
    count = isinstance(value, int) and not isinstance(value, bool)
    fraction = isinstance(value, float) and 1 / MAX_STEPS <= value <= 1
    if (count and 1 <= value <= MAX_STEPS) or fraction:
        return value
    raise ConfigError(f"{key} must be a step count in [1, {MAX_STEPS}] or a fraction of "
                      f"train.steps in [{1 / MAX_STEPS:g}, 1], got {show_value(value)}")


def interval(default: Interval) -> Any:
    """A config key that is a count of steps or a fraction of the run (:func:`every`)."""
    return field(default=default, metadata={"interval": True})


@dataclass
class DataConfig:
    name: str = "ring8"  # a key of gankit.data.DATASETS
    batch_size: int = bounded(256, 1, 2**24)  # examples per D and G step
    n_eval: int = 2500  # samples for evaluation; 2,500 in PacGAN (Lin et al. 2018)
    # Image data's feature space for FID/KID/precision/recall: a name of FEATURES or a file from
    # 'gankit features fit' (*.safetensors); "" = the data set's default (digits on digit data).
    features: str = ""
    # Image data: side of the square images (0: the data set's own size; image-folder keeps
    # its images' own size, or says in one line what it fits them to), colour channels of
    # image-folder (1 grey, 3 RGB), its folder or zip archive and optional cache file.
    # Only the data sets that declare them read these (gankit.data); setting one that the
    # chosen data set ignores is an error.
    image_size: int = bounded(0, 0, 1024)
    channels: int = bounded(3, 1, 3)
    path: str = ""
    cache: str = ""
    # Reading image-folder from disk as training goes (gankit.data.streaming): "auto" streams
    # when the decoded set would exceed 2 GiB (STREAM_BUDGET), "always" / "never" decide; its
    # DataLoader worker processes decode ahead of the step (0: in the training process).
    stream: str = "auto"
    workers: int = bounded(2, 0, 64)
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
        if self.features:
            names = feature_spaces()
            if is_feature_file(self.features, names):
                self.features = _expand(self.features)
            elif self.features not in names:
                raise ConfigError(f"data.features must be {', '.join(names)}, a feature file "
                                  f"(*.safetensors, from 'gankit features fit') or '' (the "
                                  f"data's default), got {self.features!r}")
        if self.image_size and not 4 <= self.image_size <= 1024:
            raise ConfigError(f"data.image_size must be in [4, 1024] (0: the data's own size), "
                              f"got {self.image_size}")
        if self.channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (grey) or 3 (RGB), got {self.channels}")
        if self.stream not in STREAM_MODES:
            raise ConfigError(f"data.stream must be one of {', '.join(STREAM_MODES)}, got "
                              f"{show_value(self.stream)}")
        if self.stream == "always" and self.cache:
            raise ConfigError("data.cache stores the decoded set, which data.stream: always never "
                              "holds; leave one of them unset")
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
    latent_dim: int = bounded(2, 1, MAX_WIDTH)  # dimensions of z, G's input
    g_hidden: int = bounded(256, 1, MAX_WIDTH)  # G's width: units (MLP) or base channels
    g_depth: int = bounded(3, 1, 64)  # hidden layers
    d_hidden: int = bounded(256, 1, MAX_WIDTH)  # D's width: units (MLP) or base channels
    d_depth: int = bounded(3, 0, 64)  # PatchGAN: its stride-2 layers (0: PixelGAN)
    g_batchnorm: bool = False  # batch norm between G's layers (MLP, DCGAN)
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
    # R3GAN's residual networks (model r3gan; Huang et al. 2024, Sec. 4, CIFAR-10 values):
    # residual blocks per resolution, the inverted bottleneck's widening factor, and channels
    # per group of its 3x3 convolution (1536 / 96 groups)
    blocks_per_stage: int = bounded(2, 1, 64)
    expansion: int = bounded(2, 1, 64)
    channels_per_group: int = bounded(16, 1, MAX_WIDTH)
    R3GAN: ClassVar[tuple[str, ...]] = ("blocks_per_stage", "expansion", "channels_per_group")
    # Keys only the image-to-image generators (unet, resnet) read: a recipe that generates from
    # noise ignores them (gankit.configuration.unread).
    IMAGE_TO_IMAGE: ClassVar[tuple[str, ...]] = ("g_norm", "g_dropout")

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
    # The WGAN-GP penalty's lambda and WGAN's clipping c. Unset (None), each takes the chosen
    # loss's paper default (gankit.losses.LossSpec); a resolved config always holds the number.
    gp_weight: float | None = None
    clip: float | None = None
    r1_weight: float = 0.0  # gamma of R1 on real data (Mescheder et al. 2018, eq. 9); 0 = off
    r2_weight: float = 0.0  # gamma of R2, the same penalty on generated data; 0 = off
    # Target of real examples in D's log-likelihood loss: 0.9 is one-sided label smoothing
    # (Salimans et al. 2016, Sec. 3.4); only for the losses whose D outputs a logit.
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


KEEP_BEST_MODES = ("min", "max")  # train.keep_best.mode: lower is better (fid) or higher
METRIC_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class KeepBest:
    """``train.keep_best``: keep the ``k`` best checkpoints by a snapshot metric
    (:mod:`gankit.training.best`); a metric the snapshots do not measure is refused at the
    first one, naming those they do. ``mode`` defaults to the metric's direction where gankit
    knows it (max for modes, precision, ...; min for fid, w1, ...) and must be given where not."""

    metric: str = "fid"  # the snapshot metric that ranks the checkpoints
    mode: str | None = None  # min or max: which end is best; null: the metric's own
    k: int = bounded(1, 1, 1000)  # how many of the best checkpoints are kept

    def check(self) -> None:
        from gankit.training.metric_names import NOT_METRICS, default_mode

        if not METRIC_NAME.fullmatch(self.metric):
            raise ConfigError(f"train.keep_best.metric must be a metric's name (fid, modes, "
                              f"w1, ...), got {show_value(self.metric)}")
        if self.metric in NOT_METRICS:
            raise ConfigError(f"train.keep_best.metric {self.metric!r} is a setting of the "
                              f"measurement, not a metric; give one such as fid, modes or w1")
        if self.mode is None and default_mode(self.metric) is None:
            raise ConfigError(f"train.keep_best.mode must be given (min or max) for metric "
                              f"{self.metric!r}: gankit does not know whether higher is better")
        if self.mode is not None and self.mode not in KEEP_BEST_MODES:
            raise ConfigError(f"train.keep_best.mode must be min or max, got "
                              f"{show_value(self.mode)}")

    @property
    def order(self) -> str:
        """``mode``, or where it is left out (null) the metric's own direction, derived anew
        from the metric each time: a --set of another metric on resume follows it."""
        from gankit.training.metric_names import default_mode

        return self.mode or default_mode(self.metric) or "min"


@dataclass
class TrainConfig:
    steps: int = bounded(2000, 1, MAX_STEPS)  # generator steps
    # D steps per G step: k in Goodfellow et al. 2014, Alg. 1 (WGAN: 5)
    n_critic: int = bounded(1, 1, 1000)
    lr_g: float = 1e-4  # G's learning rate
    lr_d: float = 1e-4  # a different lr_d is TTUR (Heusel et al. 2017)
    # Fraction of train.steps after which both learning rates fall linearly to 0 at the end
    # (CycleGAN's schedule is 0.5, Zhu et al. 2017, Sec. 7.1); 1.0 keeps them constant. Every
    # scheduled value (beta2_final, a recipe's, e.g. r3gan.gamma_final) moves from here too.
    lr_decay_from: float = 1.0
    # The decay's shape from lr_decay_from to the end: "linear", or "cosine" (half a cosine
    # period, R3GAN's, Huang et al. 2024); and the factor both learning rates reach (0: to 0)
    decay_shape: str = "linear"
    lr_final: float = 0.0
    # Adam's beta2 at the end of the decay (R3GAN: 0.9 -> 0.99); None: beta2 stays constant
    beta2_final: float | None = None
    optimizer: str = "adam"  # of both players: adam, or rmsprop (WGAN's, Arjovsky et al. 2017)
    beta1: float = 0.5  # DCGAN's Adam beta1 (Radford et al. 2016)
    beta2: float = 0.999  # Adam's beta2 (torch's default)
    seed: int = bounded(0, *SEED_RANGE)  # of every random draw: the same seed, the same run
    device: str = "cpu"  # where the networks train
    # Steps between log records, snapshots and checkpoints: a count, or a fraction of
    # train.steps (0.1: every 10% of the run, so any length gets ten; :func:`every`). The
    # defaults are the shipped configs' fractions: a config written from scratch with
    # steps: 400 gets ten snapshots too, not one at its end.
    log_every: Interval = interval(0.01)
    plot_every: Interval = interval(0.1)
    checkpoint_every: Interval = interval(0.1)
    keep_checkpoints: int = bounded(3, 1, MAX_STEPS)  # the newest checkpoints kept on disk
    # Draw the snapshots' pictures in a separate process (gankit.storage.drawing), on another
    # core while training goes on; false: in the training process, between the steps
    draw_in_background: bool = True
    # torch's intra-op CPU threads; 0 keeps torch's default (small MLPs: use 1). 1024 is past
    # any machine's cores, below where torch.set_num_threads fails.
    threads: int = bounded(0, 0, 1024)
    # Decay beta of an exponential moving average of G's weights, used for sampling and
    # evaluation (Karras et al. 2018, Sec. A.1: 0.999; Yazici et al. 2019); 0 = off.
    g_ema: float = 0.0
    # Ramp-up of that average (StyleGAN2-ADA's ema_rampup, Karras et al. 2020: 0.05): its
    # half-life in steps is at most this fraction of the steps trained, so a short run's
    # average does not hold its random start; 0: off (beta from the first step)
    g_ema_rampup: float = 0.0
    # Speed (Sec. "Speed" of the README): bf16 autocast of the forward passes (losses stay
    # float32), channels-last memory for image networks, and one G(z) per step shared by the
    # last D step and the G step, as the PyTorch DCGAN example does (off: the G step draws a
    # fresh z, Goodfellow et al. 2014, Alg. 1). precision "auto" is bf16 where the device
    # computes it natively and fp32 where it would be emulated (gankit.training.hardware).
    precision: str = "auto"
    channels_last: bool = False
    reuse_fake: bool = False
    # A NaN or infinite loss (or weights): "stop" the run, naming the last good checkpoint, or
    # "rollback" to the last good state (the newest checkpoint, or the start of the fit) with
    # both learning rates times rollback_lr_factor, at most max_rollbacks times.
    on_nonfinite: str = "stop"
    rollback_lr_factor: float = 0.5
    max_rollbacks: int = bounded(3, 0, 100)
    # {metric: fid, mode: min, k: 2}: also keep the k best checkpoints by a snapshot metric,
    # listed in RUN/best.json and never pruned by keep_checkpoints; None: off
    keep_best: KeepBest | None = None
    # A run that goes on past train.steps (fit(N), --set train.steps=N on --resume): "stretch"
    # its learning-rate schedule over the new length (the decay restarts later), or
    # "final_lr": keep the schedule over lr_schedule_steps, the length it had, and train on at
    # the rate of its last step (gankit.training.optimization.extend_schedule).
    on_extend: str = "stretch"
    # The learning-rate schedule's length in steps (0: train.steps); going on at the final
    # rate sets it to the length the run had, stretching back to 0. It may exceed train.steps
    # (a run stopped before its decay ends) and is kept on a resume from an early checkpoint.
    lr_schedule_steps: int = bounded(0, 0, MAX_STEPS)

    def check_scheduled(self, key: str, final: float) -> None:
        """A final value of a schedule that never starts is a setting with no effect: refused,
        naming ``key`` and train.lr_decay_from, where the schedules start."""
        if self.lr_decay_from >= 1:
            raise ConfigError(f"{key} {final} never takes effect: the schedules start at "
                              f"train.lr_decay_from, 1.0 (the end); set that below 1, e.g. "
                              f"0, or leave {key} out")

    def every(self, key: str) -> int:
        """The steps between two events of interval ``key`` in this run (:func:`every`)."""
        return every(getattr(self, key), self.steps)

    def check(self) -> None:
        if self.keep_best is not None:
            self.keep_best.check()
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
        if not self.g_ema_rampup >= 0:
            raise ConfigError(f"train.g_ema_rampup must be >= 0 (0: off), "
                              f"got {self.g_ema_rampup}")
        if not 0 <= self.lr_decay_from <= 1:
            raise ConfigError(f"train.lr_decay_from must be in [0, 1], got {self.lr_decay_from}")
        if self.decay_shape not in DECAY_SHAPES:
            raise ConfigError(f"train.decay_shape must be one of {', '.join(DECAY_SHAPES)}, "
                              f"got {show_value(self.decay_shape)}")
        if not 0 <= self.lr_final <= 1:
            raise ConfigError(f"train.lr_final (the factor the learning rates decay to) must be "
                              f"in [0, 1], got {self.lr_final}")
        # a final value where no decay starts, beta2 without Adam: the unread rule
        # (gankit.configuration.unread.schedule_readers)
        if self.beta2_final is not None and not 0 <= self.beta2_final < 1:
            raise ConfigError(f"train.beta2_final must be in [0, 1) (or null: constant "
                              f"beta2), got {self.beta2_final}")
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
        if self.on_extend not in EXTEND_CHOICES:
            raise ConfigError(f"train.on_extend must be one of {', '.join(EXTEND_CHOICES)}, "
                              f"got {show_value(self.on_extend)}")


@dataclass
class AugmentConfig:
    """Differentiable augmentation of every image D sees, real and generated (DiffAugment,
    Zhao et al. 2020), with ADA's adaptive probability as an option (Karras et al. 2020,
    Sec. 3): the cure for a D that memorizes a small data set (docs/augmentation.md)."""

    # Comma-separated augmentations, applied in order, from gankit.augment.AUGMENTATIONS:
    # color (brightness, saturation, contrast), translation (up to 1/8 of the image, zero
    # padding), cutout (a square of 1/2 the image). "" = off; the paper's: color,translation,cutout
    policy: str = ""
    # Probability that each augmentation is applied to each image; with ada, where the
    # schedule starts. null (the default): DiffAugment's 1 without ada, ADA's 0 with it.
    p: float | None = None
    # Adapt p to keep r_t = E[sign(D(real))] near ada_target (ADA's overfitting heuristic, 0.6):
    # every ada_interval D steps (ADA: 4), p moves by (batch * interval) / ada_speed up or down,
    # so it can cross [0, 1] in ada_speed images (ADA: 500k; small runs want fewer).
    ada: bool = False
    ada_target: float = 0.6
    ada_interval: int = bounded(4, 1, MAX_STEPS)
    ada_speed: int = bounded(500_000, 1, 10**12)

    @property
    def start_p(self) -> float:
        """p at the start of a run: ``p`` where set, else 1 (DiffAugment) or, with ``ada``,
        0 (ADA starts unaugmented and raises p only when D overfits)."""
        return self.p if self.p is not None else (0.0 if self.ada else 1.0)

    def check(self) -> None:
        if self.p is not None and not 0 <= self.p <= 1:
            raise ConfigError(f"augment.p must be in [0, 1] (or null: 1, with ada 0), "
                              f"got {self.p}")
        if not 0 < self.ada_target < 1:
            raise ConfigError(f"augment.ada_target must be in (0, 1) (ADA: 0.6), "
                              f"got {self.ada_target}")
        if self.ada and not self.policy:
            raise ConfigError("augment.ada adapts the probability of augment.policy's "
                              "augmentations, but augment.policy is empty; set one, e.g. "
                              "'color,translation,cutout'")


@dataclass
class Config:
    recipe: str = "gan"  # a key of gankit.recipes.RECIPES
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # The recipe's own options (a dataclass it declares), read from the section named after
    # the recipe; None for a recipe without options. Filled by gankit.configuration.resolve.
    options: Any = field(default=None, metadata={"section": False})

    def check(self) -> None:
        for section in (self.data, self.model, self.loss, self.train, self.augment):
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


MAX_EVAL_SAMPLES = 10_000


def check_n_eval(n: int, what: str) -> None:
    """Exact W1 solves an n x n transport problem: n^2 float64 costs must fit in memory."""
    if not 1 <= n <= MAX_EVAL_SAMPLES:
        raise ConfigError(f"{what} must be in [1, {MAX_EVAL_SAMPLES}] (exact W1 needs n^2 memory), "
                          f"got {n}")


def _expand(path: str) -> str:
    """``~/anime`` -> ``/home/me/anime``: config paths expand ``~`` as a shell would."""
    return str(Path(path).expanduser()) if path.startswith("~") else path
