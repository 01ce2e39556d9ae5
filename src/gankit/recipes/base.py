"""The contract between a recipe and the trainer.

A recipe owns its networks (``nets``), names its optimizers (which networks each one steps, at
which learning rate) and its phases (which optimizer, how many repeats per training step), and
returns each phase's loss terms as a ``dict[str, Tensor]``. The trainer sums the terms, calls
``backward()`` and ``step()`` and never needs to know what the terms mean, so recipes with more
parts (an auxiliary Q head, two generators, a statistics network) need no change to it.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from gankit.configuration.schema import Config
    from gankit.data.spec import DataSpec
    from gankit.sampling.energies import Energy
from gankit.errors import ConfigError, GankitError
from gankit.models.latent_layout import LatentLayout
from gankit.registry import Registry
from gankit.training.distributed import shard, shard_batch


@dataclass(frozen=True)
class OptimizerSpec:
    networks: tuple[str, ...]  # keys of Recipe.nets whose parameters this optimizer steps
    lr: float
    clip: float = 0.0  # > 0: clamp the weights to [-clip, clip] after each step (WGAN, Alg. 1)


@dataclass(frozen=True)
class Phase:
    name: str
    optimizer: str
    repeats: int = 1  # e.g. n_critic discriminator steps per generator step
    # Networks (besides the stepped ones) whose autograd graph this phase records for a later
    # phase: the D phase keeps G's graph when the G phase reuses its fake batch.
    records_graph_of: tuple[str, ...] = ()


@dataclass
class PhaseOutput:
    terms: dict[str, Tensor]  # scalars summed into the loss this phase minimizes
    stats: dict[str, Tensor] = field(default_factory=dict)  # detached diagnostics to log


@dataclass
class StepContext:
    """What a phase may draw on: the data, the device, the one seeded random generator, and
    what the step's earlier phases handed on (:attr:`carry`).

    The trainer makes one for each training step (:meth:`next_step`) and hands it to every
    phase of that step, so a phase writes into ``carry`` what a later phase reads (the D
    phase's fake batch for the G phase under ``train.reuse_fake``); nothing in it outlives the
    step. A phase run alone (the browser view's "one G step") finds ``carry`` empty and draws
    what it needs itself. State that must outlive a step lives in ``Recipe.nets`` instead.

    Under torchrun every process draws the global batch from the same stream and keeps its
    shard (:mod:`gankit.training.distributed`), so draws go through :meth:`draw`; a streamed
    data set (:attr:`stream`) reads only the shard's images.
    """

    data: Any  # a data source: .sample(n, generator, device) -> dict[str, Tensor], .spec
    batch_size: int  # global: summed over processes
    device: torch.device
    rng: torch.Generator  # the run's one seeded generator
    channels_last: bool = False  # image batches [N, C, H, W] in channels-last memory
    rank: int = 0
    world_size: int = 1
    carry: dict[str, Any] = field(default_factory=dict)  # this step's phases to later ones
    # A source read from disk as training goes hands this process its rows of each global
    # batch itself (gankit.data.streaming.Stream); None: draw from ``data.sample``.
    stream: Any = None
    # The generator steps already trained: what a recipe's scheduled values (R3GAN's gamma,
    # gankit.training.optimization.scheduled) are a function of, as the learning rates are.
    step: int = 0

    def next_step(self, step: int) -> StepContext:
        """The context of training step ``step``: the same data and streams, an empty carry."""
        return replace(self, carry={}, step=step)

    def draw(self, sampler: Callable[[int, torch.Generator], Tensor],
             n: int | None = None) -> Tensor:
        """This process's shard of ``sampler(n, generator)`` (n: the global batch size)."""
        return shard(sampler(n or self.batch_size, self.rng), self.rank, self.world_size)

    def batch(self) -> dict[str, Tensor]:
        """This process's shard of a global batch of named tensors (``x``, ``label``, ...:
        :mod:`gankit.data.spec`); image tensors in channels-last memory if configured. A
        stream reads only the shard; other sources draw the global batch and keep the shard."""
        if self.stream is not None:
            batch = self.stream.next_batch()
        else:
            batch = shard_batch(self.data.sample(self.batch_size, self.rng, self.device),
                                self.rank, self.world_size)
        if self.channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v
                     for k, v in batch.items()}
        return batch

    def real_batch(self) -> Tensor:
        """The examples ``x`` of :meth:`batch` (the labels are drawn too, with no extra draw)."""
        return self.batch()["x"]

    def uniform(self, n: int) -> Tensor:
        """This process's shard of n draws from U[0, 1) (n global)."""
        return self.draw(lambda k, g: torch.rand(k, generator=g, device=self.device), n)


class Recipe(nn.Module, ABC):
    """Base class: subclasses fill ``self.nets`` and implement the four methods below.

    State that must survive a resume lives in ``self.nets``: weights, and anything else as a
    buffer of a small module there (BEGAN's k_t is :class:`~gankit.recipes.began.
    EquilibriumControl`; an image pool would be a buffer of stored images). Checkpoints save
    ``nets.state_dict()`` whole, so such state needs no code in the trainer or checkpoint.
    """

    nets: nn.ModuleDict
    # The figures the progress bar shows, in order (empty: every loss term); all terms and
    # stats are logged and plotted whatever this says.
    headline: tuple[str, ...] = ()
    # The recipe's own options: a dataclass read from the config section named after the
    # recipe (``began: {gamma: 0.5}``), with a ``check()`` that raises ConfigError; it arrives
    # as ``config.options``. None: the recipe has no section.
    Options: ClassVar[type | None] = None
    # The recipe's paper settings, by section, for the keys a config leaves out (a config's
    # own value wins): the projection discriminator's hinge loss (Miyato & Koyama 2018),
    # Pix2Pix's U-Net and PatchGAN. Keys not named here take the sections' defaults.
    defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    # Shared config keys the recipe does not read, each with the value that means off, and
    # why: a person who sets one is refused in one line, while a value a data-set config set
    # for another recipe goes back to off (gankit.configuration.unread).
    UNUSED: ClassVar[dict[str, object]] = {}
    UNUSED_WHY: ClassVar[str] = ""
    # Whether the recipe maps images of one domain to another (data with ``a`` and ``b``,
    # :mod:`gankit.data.spec`) rather than generating ``x`` from noise.
    translates: ClassVar[bool] = False
    # Whether the recipe passes what its D judges through :meth:`seen_by_d`, so that it reads
    # the config's ``augment`` section (DiffAugment); a recipe that does not is refused it.
    augments: ClassVar[bool] = False
    # The parts of the generator's input z, noise and codes (:mod:`gankit.models.latent_layout`): a
    # conditional recipe's class, InfoGAN's codes. None: no generator to sample from.
    layout: LatentLayout | None = None

    @classmethod
    def check_config(cls, config: Config) -> None:
        """Refuse, with a ConfigError, settings this recipe cannot work with (keys it ignores
        are declared in :attr:`UNUSED`); called once the whole config is parsed."""

    @classmethod
    def data_defaults(cls, options: Any, data_facts: dict[str, Any]) -> dict[str, Any]:
        """Options the config left None whose paper value depends on the data, from the data
        set's registered facts (:mod:`gankit.data.sources`), so that the resolved config shows
        the value used; {} by default, and where the facts do not tell."""
        return {}

    @classmethod
    def check_data(cls, spec: DataSpec, data_name: str, recipe_name: str) -> None:
        """Refuse, in one line, data the recipe cannot learn from: a generative recipe needs
        examples ``x``; translation data holds pairs of domains (:class:`TranslationRecipe
        <gankit.recipes.translation.TranslationRecipe>` checks the other way)."""
        if spec.translation:
            raise ConfigError(f"recipe {recipe_name} generates images from noise, but data "
                              f"{data_name} holds two domains a and b for translation; use "
                              f"recipe pix2pix or cyclegan")

    def describe(self) -> list[str]:
        """Lines the run prints when training starts, about what was built (a PatchGAN's
        receptive field); none by default."""
        return []

    @property
    def batch_multiple(self) -> tuple[int, str]:
        """Each process's batch must hold whole groups of this many examples, and the config
        key that asks for it (PacGAN's packs: ``model.pack``); 1 when any size works."""
        return 1, ""

    @abstractmethod
    def optimizers(self) -> dict[str, OptimizerSpec]:
        """Optimizer name -> which networks it steps and how."""

    @abstractmethod
    def phases(self) -> list[Phase]:
        """The phases of one training step, in order."""

    @abstractmethod
    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        """Loss terms of one repeat of ``phase``; never calls backward() or step(). What a
        later phase of the step needs goes into ``ctx.carry``, not into an attribute."""

    def keep_augmentation(self, config: Config, shape: tuple[int, ...]) -> None:
        """With ``augment.policy`` set, add ``nets["augment"]``, the augmentation of what D sees
        (:class:`~gankit.augment.AugmentPipe`; its p a buffer, so resume keeps it). A recipe
        with a D on images calls this once ``nets`` is built, and passes every image D judges
        through :meth:`seen_by_d`. ``shape``: one example's, refused unless [C, H, W]."""
        if not config.augment.policy:
            return
        if len(shape) != 3:
            raise ConfigError(f"augment.policy {config.augment.policy!r} transforms images "
                              f"[C, H, W], but data {config.data.name} holds examples of shape "
                              f"{list(shape)}; set augment.policy: ''")
        from gankit.augment import AugmentPipe

        self.nets["augment"] = AugmentPipe(config.augment)

    def seen_by_d(self, ctx: StepContext, *images: Tensor) -> tuple[Tensor, ...]:
        """``images`` as D sees them: augmented with one draw (a pair stays aligned) when the
        config asks for it (:meth:`keep_augmentation`), else unchanged. Differentiable, so G's
        gradient passes through (Zhao et al. 2020)."""
        return self.nets["augment"](ctx, *images) if "augment" in self.nets else images

    def observe_real_verdicts(self, d_real: Tensor, ctx: StepContext) -> dict[str, Tensor]:
        """Feed D's raw outputs on this D step's reals to ADA's control of p; returns the
        statistics to log (p, r_t), none without ``augment.ada``."""
        return self.nets["augment"].observe(d_real, ctx) if "augment" in self.nets else {}

    def landscape(self, x: Tensor) -> tuple[Tensor, str] | None:
        """What D says at points x [N, ...], drawn under the samples in snapshots: (values [N],
        axis label), or None when the recipe has no such picture."""
        return None

    def generator_loss_at(self, x: Tensor) -> Tensor | None:
        """The generator's adversarial loss as a function of generated points x [N, ...] alone
        (a scalar): minus its gradient is where each point is pushed, GAN Lab's arrows
        (Kahng et al. 2019). None: the recipe has no such loss of the points."""
        return None

    def after_step(self, phase: Phase, step: int) -> None:
        """Called after each optimizer step of ``phase`` in training step ``step`` (0-based):
        weight averages and other bookkeeping that is not a gradient step (no backward, no
        optimizer)."""

    def latent(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` draws z [n, ...] from the prior. A recipe with an unconditional generator
        defines this and :meth:`decode`; one without (a D-only or translation recipe) leaves
        both, and has nothing for sampling and evaluation to draw."""
        raise GankitError(f"recipe {type(self).__name__} has no unconditional generator to "
                          f"sample from (it defines no latent())")

    def decode(self, z: Tensor) -> Tensor:
        """The generator used for sampling (the weight average, if kept) at latents z."""
        raise GankitError(f"recipe {type(self).__name__} has no unconditional generator to "
                          f"sample from (it defines no decode())")

    def latent_energy(self, temperature: float = 1.0) -> Energy | None:
        """An energy E(z) [N] over the prior's latents whose low values are latents the
        recipe's D (or energy network) scores as data, for MCMC in latent space
        (:mod:`gankit.sampling`); None: the recipe has no such energy."""
        return None

    def example_input(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` inputs of the network that ``gankit export`` writes, to trace it: latents
        from the prior here; a translation recipe's images of domain A."""
        return self.latent(n, generator)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` generated data points from the prior, without gradients."""
        return self.decode(self.latent(n, generator))


class TwoPlayerRecipe(Recipe):
    """A generator ``nets["G"]`` of z ~ N(0, I) against a discriminator ``nets["D"]``, in
    alternating phases: n_critic D phases, then one G phase (Goodfellow et al. 2014, Alg. 1),
    each player with its own optimizer and learning rate (TTUR, Heusel et al. 2017). What the
    GAN, BEGAN and relativistic recipes share; a subclass fills ``nets`` and writes
    :meth:`run_phase` with phases named "d" and "g".
    """

    d_clip: float = 0.0  # > 0: WGAN's clipping of D's weights after each step

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.train_config = config.train
        self.latent_dim = config.model.latent_dim
        self.layout = LatentLayout(config.model.latent_dim)  # noise only; subclasses add codes
        self.g_ema = config.train.g_ema  # beta of G's weight average; 0 = off

    def keep_generator_average(self) -> None:
        """With ``train.g_ema`` = beta > 0, add ``nets["G_ema"]``, an exponential moving average
        of G's weights that sampling and evaluation use (Yazici et al. 2019; Karras et al.
        2018): a network no optimizer steps, checkpointed with the others. A subclass calls
        this once ``nets["G"]`` is built."""
        if self.g_ema > 0:
            self.nets["G_ema"] = copy.deepcopy(self.nets["G"]).requires_grad_(False)

    def optimizers(self) -> dict[str, OptimizerSpec]:
        """"d" steps D at lr_d, "g" steps G at lr_g."""
        train = self.train_config
        return {"d": OptimizerSpec(("D",), train.lr_d, clip=self.d_clip),
                "g": OptimizerSpec(("G",), train.lr_g)}

    def phases(self) -> list[Phase]:
        """With ``train.reuse_fake`` the D phase records G's graph for the G phase."""
        train = self.train_config
        recorded = ("G",) if train.reuse_fake else ()
        return [Phase("d", "d", repeats=train.n_critic, records_graph_of=recorded),
                Phase("g", "g")]

    def latent(self, n: int, generator: torch.Generator) -> Tensor:
        """z from the layout's prior: N(0, I) noise, then any codes drawn from theirs."""
        return self.layout.draw(n, generator)

    @torch.no_grad()
    def after_step(self, phase: Phase, step: int) -> None:
        """theta_ema <- beta * theta_ema + (1 - beta) * theta after each G step
        (:func:`average_beta`); buffers (batch norm's running statistics) copied."""
        if phase.name != "g" or self.g_ema == 0:
            return
        beta = average_beta(self.g_ema, self.train_config.g_ema_rampup, step)
        G, G_ema = self.nets["G"], self.nets["G_ema"]
        for p_ema, p in zip(G_ema.parameters(), G.parameters(), strict=True):
            p_ema.lerp_(p, 1 - beta)
        for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
            b_ema.copy_(b)

    def decode(self, z: Tensor) -> Tensor:
        """The weight-averaged G when ``train.g_ema`` > 0, else G."""
        return self.nets["G_ema" if self.g_ema > 0 else "G"](z)

    def energy(self, x: Tensor) -> Tensor:
        """The energy [N] that D puts on points x [N, ...], low where D sees data: minus D's raw
        output here (the logit for log-likelihood losses), as DDLS reads a GAN (Che et al.
        2020); an energy recipe's own U(x) (MEG, BEGAN) where it has one."""
        return -self.nets["D"](x).logits.reshape(len(x))

    def generator_loss_at(self, x: Tensor) -> Tensor:
        """The mean energy of the points: what BEGAN's and MEG's generators minimize (besides
        MEG's entropy term, which is not a function of the points alone)."""
        return self.energy(x).mean()

    def latent_energy(self, temperature: float = 1.0) -> Energy:
        """The data-space energy pulled back to z: E(z) = energy(G(z)) / T + ||z||^2 / 2. With
        an energy recipe's U that is MEG's latent MCMC (Kumar et al. 2019); with a GAN's -d(x)
        it is DDLS (Che et al. 2020), the same formula."""
        from gankit.sampling.energies import meg_energy

        return meg_energy(self.decode, self.energy, temperature)


def average_beta(beta: float, rampup: float, step: int) -> float:
    """The weight average's beta after the G step of training step ``step`` (0-based):
    ``beta``, or with ``rampup`` > 0 the beta whose half-life, ln 0.5 / ln beta steps, is at
    most ``rampup`` times the steps trained (StyleGAN2-ADA's ema_rampup, Karras et al. 2020,
    training_loop.py): 0.5 ** (1 / half-life). Early on it is near 0, the average near G."""
    if rampup == 0:
        return beta
    half_life = min(math.log(0.5) / math.log(beta), rampup * (step + 1))
    return 0.5 ** (1 / half_life)


def gaussian_latent(n: int, dim: int, generator: torch.Generator) -> Tensor:
    """z ~ N(0, I) [n, dim] on the generator's device."""
    return torch.randn(n, dim, generator=generator, device=generator.device)


RECIPES: Registry[type[Recipe]] = Registry("recipe", package="gankit.recipes",
                                            group="gankit.recipes")
