"""The GAN family: one generator, one discriminator, an adversarial loss and penalties, and the
parts that a conditional or structured GAN composes into it.

A GAN of this family differs from the plain one by two kinds of part, given to :class:`GAN`:

- a :class:`Conditioning`, how a class label reaches G and D: not at all here; as an input of D
  (CGAN) or a projection on D's features (:mod:`gankit.recipes.cgan`,
  :mod:`gankit.recipes.projection`); or only as G's class code, D judging x alone (AC-GAN);
- :class:`DHead` parts, each a head on D's features with the terms it adds to both players,
  read from the D passes the adversarial loss makes anyway (AC-GAN's class head in
  :mod:`gankit.recipes.acgan`, InfoGAN's Q head in :mod:`gankit.recipes.infogan`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config, ModelConfig
from gankit.data.spec import DataSpec
from gankit.losses.adversarial import (
    LOSSES,
    bce_d_loss,
    d_display,
    feature_matching_loss,
    pull_away_term,
)
from gankit.losses.penalties import gradient_norm_penalty, gradient_penalty
from gankit.models import DISCRIMINATORS, GENERATORS, DOutput, build_part, check_part
from gankit.models.heads import WithHeads, feature_width
from gankit.models.latent_layout import Code, LatentLayout
from gankit.recipes.base import RECIPES, Phase, PhaseOutput, StepContext, TwoPlayerRecipe

if TYPE_CHECKING:
    from gankit.sampling.energies import Energy


class Conditioning:
    """How a class label reaches G and D; this one is no condition at all: G takes noise alone
    and D judges x alone. The conditional GANs give a subclass (:mod:`gankit.recipes.cgan`)."""

    n_classes: int = 0  # classes of the label; 0: unconditional
    labels_reach_d: bool = False  # whether D's verdict on x depends on the label

    def codes(self) -> tuple[Code, ...]:
        """The codes of G's latent after its noise (the class, for a class-conditional G)."""
        return ()

    def input_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The input shape D's body is built for, from one example's ``shape``."""
        return shape

    def wrap(self, body: nn.Module, shape: tuple[int, ...], model: ModelConfig) -> nn.Module:
        """D from its body (with any heads) built for inputs of ``shape``: the body itself."""
        return body

    def judge(self, D: nn.Module, x: Tensor, labels: Tensor | None) -> DOutput:
        """D's output for inputs x as D takes them (packed) under the class ``labels``."""
        return D(x, labels) if self.labels_reach_d else D(x)

    def fake_labels(self, layout: LatentLayout, z: Tensor) -> Tensor | None:
        """The class of each G(z), which D judges it under: None without a class."""
        return None

    def real_labels(self, batch: dict[str, Tensor]) -> Tensor | None:
        """The class of each real example of ``batch``: None without a class."""
        return None

    def relabel(self, layout: LatentLayout, z: Tensor, batch: dict[str, Tensor]) -> Tensor:
        """The D step's latents given its real batch: unchanged here; a conditional GAN gives
        the fakes the real batch's labels, so both sides show D the same classes."""
        return z


@dataclass
class Judged:
    """What a D head's terms read from one phase's D passes, so that no term makes a second
    pass over the same inputs."""

    D: nn.Module  # for a term that judges another view of the fakes (InfoGAN's invariance)
    fake: Tensor  # G(z) as D saw it (augmented, if so configured): detached in the D phase
    out_fake: DOutput  # D(fake)
    codes: dict[str, Tensor]  # the value of each code of z (LatentLayout.values): G's asked class
    out_real: DOutput | None = None  # D(real), in the D phase
    labels: Tensor | None = None  # the real batch's classes, in the D phase of labelled data


class DHead(ABC):
    """A head on D's features and the loss terms it adds to both players."""

    codes: tuple[Code, ...] = ()  # codes of G's latent the head reads back (InfoGAN's)

    @abstractmethod
    def build(self, width: int) -> dict[str, nn.Module]:
        """The head's networks on D's features [N, width], by the name D's output gives them
        (``DOutput.heads``)."""

    @abstractmethod
    def d_terms(self, judged: Judged) -> PhaseOutput:
        """The head's terms and statistics in the D phase."""

    @abstractmethod
    def g_terms(self, judged: Judged) -> PhaseOutput:
        """The head's terms and statistics in the G phase."""


@RECIPES.register("gan")
class GAN(TwoPlayerRecipe):
    """Alternating D and G phases of Goodfellow et al. 2014, Algorithm 1 (k = n_critic).

    The D phase minimizes the loss's D objective (+ lambda * gradient penalty for WGAN-GP); the G
    phase minimizes the G objective. The prior is z ~ N(0, I) (``noise``: U(-1, 1), InfoGAN's),
    then the codes of the ``conditioning`` and the ``heads``. With ``model.pack = m`` > 1, D
    judges packs of m samples stacked along the first data axis (PacGAN, Lin et al. 2018), which
    penalizes a generator whose samples lack the data's diversity.
    """

    headline = ("d_loss", "g_loss", "critic_w1")
    augments = True

    def __init__(self, config: Config, spec: DataSpec, conditioning: Conditioning | None = None,
                 heads: Sequence[DHead] = (), noise: str = "normal") -> None:
        super().__init__(config)
        self.conditioning = conditioning or Conditioning()
        self.d_heads = tuple(heads)
        codes = self.conditioning.codes() + tuple(c for head in self.d_heads for c in head.codes)
        self.layout = LatentLayout(config.model.latent_dim, codes, noise)
        self.pack_size = config.model.pack
        # G takes the whole latent, noise and codes: latent_dim is the noise's width.
        g_model = replace(config.model, latent_dim=self.layout.width)
        generator = build_part(GENERATORS, g_model, "generator", spec.shape)
        discriminator = self.build_discriminator(config.model, spec.shape)
        self.nets = nn.ModuleDict({"G": generator, "D": discriminator})
        self.keep_generator_average()
        self.keep_augmentation(config, spec.shape)
        self.loss = LOSSES[config.loss.name]
        # One-sided label smoothing changes only the real targets of the log-likelihood D loss.
        self.d_loss = (partial(bce_d_loss, real_label=config.loss.real_label)
                       if config.loss.real_label < 1 else self.loss.d_loss)
        self.r1_weight, self.r2_weight = config.loss.r1_weight, config.loss.r2_weight
        self.feature_matching, self.pull_away = config.loss.feature_matching, config.loss.pull_away
        self.gp_weight = config.loss.gp_weight  # lambda in WGAN-GP
        self.d_clip = config.loss.clip  # c in WGAN
        self.reuse_fake = config.train.reuse_fake

    def build_discriminator(self, model: ModelConfig, shape: tuple[int, ...]) -> nn.Module:
        """D(x) -> DOutput from the registries (a pack of m examples under PacGAN), for the
        inputs the conditioning gives it, with the heads' networks on its features."""
        inputs = self.conditioning.input_shape(shape)
        D = build_part(DISCRIMINATORS, model, "discriminator", inputs)
        if self.d_heads:
            width = feature_width(D, inputs)
            D = WithHeads(D, {name: net for head in self.d_heads
                              for name, net in head.build(width).items()})
        return self.conditioning.wrap(D, inputs, model)

    @classmethod
    def check_config(cls, config: Config) -> None:
        check_part(DISCRIMINATORS, config.model, "discriminator")  # a bad name: one line now

    @property
    def batch_multiple(self) -> tuple[int, str]:
        return self.pack_size, "model.pack"

    def judge(self, x: Tensor, labels: Tensor | None) -> DOutput:
        """D's output for inputs x as D takes them (packed) under the class ``labels``."""
        return self.conditioning.judge(self.nets["D"], x, labels)

    def pack(self, x: Tensor) -> Tensor:
        """[N, C, ...] -> [N / m, m * C, ...]: m consecutive samples become one input of D."""
        return x.reshape(x.shape[0] // self.pack_size, self.pack_size * x.shape[1], *x.shape[2:])

    def score_packs(self, x: Tensor) -> Tensor:
        """D's raw output [N / m] for a batch x [N, ...] judged in packs of m (unconditional D:
        a conditional recipe draws its own landscape and has no data-space energy)."""
        return self.judge(self.pack(x), None).logits

    def critic(self, x: Tensor) -> Tensor:
        """D's raw output at each point of x [N, ...] -> [N] (a pack of m copies if packing)."""
        return self.score_packs(x.repeat_interleave(self.pack_size, dim=0))

    def energy(self, x: Tensor) -> Tensor:
        """Minus the raw output at each point (DDLS's energy), judged as a pack of m copies under
        PacGAN."""
        return -self.critic(x)

    def latent_energy(self, temperature: float = 1.0) -> Energy | None:
        """None where z holds codes (a class, InfoGAN's): an energy over z would move the codes
        with the noise."""
        return None if self.layout.codes else super().latent_energy(temperature)

    def generator_loss_at(self, x: Tensor) -> Tensor:
        """The loss's generator term at D's verdicts on x (unconditional, packs of m points):
        the saturating minimax loss's arrows vanish where D is sure, the non-saturating
        loss's do not (Goodfellow et al. 2014, Sec. 3)."""
        return self.loss.g_loss(self.score_packs(x))

    def landscape(self, x: Tensor) -> tuple[Tensor, str]:
        """D(x); where D judges under a class, max over y of D(x | y): where D sees data of some
        class."""
        critic = "" if self.loss.probabilistic else "critic "
        if not self.conditioning.labels_reach_d:
            return d_display(self.critic(x), self.loss), f"{critic}D(x)"
        scores = torch.stack([self.judge(x, torch.full((len(x),), k, device=x.device)).logits
                              for k in range(self.conditioning.n_classes)])  # [K, N]
        return d_display(scores.max(0).values, self.loss), f"max over y of {critic}D(x | y)"

    def head_terms(self, judged: Judged, phase: str) -> PhaseOutput:
        """The terms and statistics of every D head in ``phase`` ("d" or "g"), in order."""
        terms, stats = {}, {}
        for head in self.d_heads:
            out = head.d_terms(judged) if phase == "d" else head.g_terms(judged)
            terms |= out.terms
            stats |= out.stats
        return PhaseOutput(terms, stats)

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        return self.d_phase(ctx) if phase.name == "d" else self.g_phase(ctx)

    def g_phase(self, ctx: StepContext) -> PhaseOutput:
        """G's loss at D's verdicts on G(z), plus the heads' and the feature terms."""
        if "fake" in ctx.carry:  # the step's last D repeat's G(z), its graph recorded
            z, fake = ctx.carry["fake"]
        else:
            z = ctx.draw(self.latent)
            fake = self.nets["G"](z)
        (fake,) = self.seen_by_d(ctx, fake)  # differentiable: G's gradient passes through
        out_fake = self.judge(self.pack(fake), self.conditioning.fake_labels(self.layout, z))
        terms = {"g_loss": self.loss.g_loss(out_fake.logits)}  # one D pass: all outputs
        side = PhaseOutput({})
        if self.d_heads:
            side = self.head_terms(Judged(self.nets["D"], fake, out_fake,
                                          self.layout.values(z)), "g")
            terms |= side.terms
        if self.feature_matching > 0:
            with torch.no_grad():
                batch = ctx.batch()
                (real,) = self.seen_by_d(ctx, batch["x"])
                real_features = self.judge(self.pack(real),
                                           self.conditioning.real_labels(batch)).features
            terms["g_fm"] = self.feature_matching * feature_matching_loss(
                real_features, out_fake.features)
        if self.pull_away > 0:
            terms["g_pt"] = self.pull_away * pull_away_term(out_fake.features)
        return PhaseOutput(terms, side.stats)

    def d_phase(self, ctx: StepContext) -> PhaseOutput:
        """D's loss on a real and a generated batch, plus the heads' terms and the configured
        penalties."""
        G, conditioning = self.nets["G"], self.conditioning
        z = ctx.draw(self.latent)  # [N, layout width]
        batch = ctx.batch()
        real, z = batch["x"], conditioning.relabel(self.layout, z, batch)
        if self.reuse_fake:  # G's graph is recorded (Phase.records_graph_of) for the G step
            fake = G(z)
            ctx.carry["fake"] = (z, fake)
            fake = fake.detach()
        else:
            with torch.no_grad():
                fake = G(z)
        labels = conditioning.real_labels(batch)  # the fakes' too, after relabel()
        # Each side augmented by its own draws; the penalties then act on what D saw (the
        # augmented images; the r3gan recipe takes them before augmentation, as StyleGAN2-ADA).
        (real,), (fake,) = self.seen_by_d(ctx, real), self.seen_by_d(ctx, fake)
        out_real = self.judge(self.pack(real), labels)
        out_fake = self.judge(self.pack(fake), conditioning.fake_labels(self.layout, z))
        d_real, d_fake = out_real.logits, out_fake.logits  # [N/m], [N/m]
        terms = {"d_loss": self.d_loss(d_real, d_fake)}
        side = PhaseOutput({})
        if self.d_heads:
            side = self.head_terms(Judged(self.nets["D"], fake, out_fake, self.layout.values(z),
                                          out_real, labels), "d")
            terms |= side.terms

        def packed_logits(x: Tensor) -> Tensor:  # penalties act on D's (packed) inputs
            return self.judge(x, labels).logits

        if self.r1_weight > 0:  # gamma / 2 * E||grad D||^2 (Mescheder et al. 2018, eq. 9)
            terms["d_r1"] = self.r1_weight / 2 * gradient_norm_penalty(
                packed_logits, self.pack(real))
        if self.r2_weight > 0:
            terms["d_r2"] = self.r2_weight / 2 * gradient_norm_penalty(
                packed_logits, self.pack(fake))
        if self.gp_weight > 0:
            eps = ctx.uniform(ctx.batch_size // self.pack_size)  # one per (packed) example
            gp = gradient_penalty(packed_logits, self.pack(real), self.pack(fake), eps=eps)
            terms["d_gp"] = self.gp_weight * gp
        stats = {"d_real": d_real.mean(), "d_fake": d_fake.mean(), **side.stats,
                 **self.observe_real_verdicts(d_real, ctx)}
        if self.loss.estimates_w1:
            # Kantorovich-Rubinstein: E[D(x)] - E[D(G(z))] estimates W1 for a 1-Lipschitz D.
            stats["critic_w1"] = d_real.mean() - d_fake.mean()
        return PhaseOutput(terms, {k: v.detach() for k, v in stats.items()})
