"""The unconditional GAN: one generator, one discriminator, an adversarial loss and penalties."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import torch
from torch import Tensor, nn

from gankit.config import Config
from gankit.data.spec import DataSpec
from gankit.latent_layout import LatentLayout
from gankit.losses import (
    LOSSES,
    bce_d_loss,
    d_display,
    feature_matching_loss,
    pull_away_term,
)
from gankit.models import DISCRIMINATORS, GENERATORS, DOutput, build_part, check_part
from gankit.penalties import gradient_norm_penalty, gradient_penalty
from gankit.recipes.base import RECIPES, Phase, PhaseOutput, StepContext, TwoPlayerRecipe


@RECIPES.register("gan")
class GAN(TwoPlayerRecipe):
    """Alternating D and G phases of Goodfellow et al. 2014, Algorithm 1 (k = n_critic).

    The D phase minimizes the loss's D objective (+ lambda * gradient penalty for WGAN-GP); the G
    phase minimizes the G objective. The prior is z ~ N(0, I). With ``model.pack = m`` > 1, D
    judges packs of m samples stacked along the first data axis (PacGAN, Lin et al. 2018), which
    penalizes a generator whose samples lack the data's diversity.
    """

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config)
        self.pack_size = config.model.pack
        self.layout = self.make_layout(config, spec)
        # G takes the whole latent, noise and codes: latent_dim is the noise's width.
        g_model = replace(config.model, latent_dim=self.layout.width)
        generator = build_part(GENERATORS, g_model, "generator", spec.shape)
        discriminator = self.make_discriminator(config, spec)
        self.nets = nn.ModuleDict({"G": generator, "D": discriminator})
        self.keep_generator_average()
        self.loss = LOSSES[config.loss.name]
        # One-sided label smoothing changes only the real targets of the log-likelihood D loss.
        self.d_loss = (partial(bce_d_loss, real_label=config.loss.real_label)
                       if config.loss.real_label < 1 else self.loss.d_loss)
        self.r1_weight, self.r2_weight = config.loss.r1_weight, config.loss.r2_weight
        self.feature_matching, self.pull_away = config.loss.feature_matching, config.loss.pull_away
        self.gp_weight = config.loss.gp_weight  # lambda in WGAN-GP
        self.d_clip = config.loss.clip  # c in WGAN
        self.reuse_fake = config.train.reuse_fake
        self._fake: tuple[Tensor, Tensor] | None = None  # the last D step's (z, G(z)) to reuse

    headline = ("d_loss", "g_loss", "critic_w1")

    # --- what a conditional or structured GAN changes (gankit.recipes.cgan, acgan, ...)

    def make_layout(self, config: Config, spec: DataSpec) -> LatentLayout:
        """The latent's parts: N(0, I) noise of ``model.latent_dim`` alone."""
        return self.layout

    def make_discriminator(self, config: Config, spec: DataSpec) -> nn.Module:
        """D(x) -> DOutput, from the registries (a pack of m examples under PacGAN)."""
        return build_part(DISCRIMINATORS, config.model, "discriminator", spec.shape)

    def judge(self, x: Tensor, labels: Tensor | None) -> DOutput:
        """D's output for inputs x as D takes them (packed) under the condition ``labels``
        (the class of each example; None where D is unconditional)."""
        return self.nets["D"](x)

    def condition(self, z: Tensor) -> Tensor | None:
        """The labels D judges G(z) under: None for an unconditional D."""
        return None

    def real_condition(self, batch: dict[str, Tensor]) -> Tensor | None:
        """The labels D judges a real batch under: None for an unconditional D."""
        return None

    def relabel(self, z: Tensor, batch: dict[str, Tensor]) -> Tensor:
        """The D step's latents given its real batch: unchanged here; a conditional GAN gives
        the fakes the real batch's labels, so both sides show D the same classes."""
        return z

    def d_side_terms(self, out_real: DOutput, out_fake: DOutput, batch: dict[str, Tensor],
                     z: Tensor, fake: Tensor) -> PhaseOutput:
        """Terms of D's heads (AC-GAN's class log-likelihood, InfoGAN's MI bound) in the D
        phase, from the same D passes as the adversarial loss (``fake``: G(z), detached, for
        a term that needs another view of it); none here."""
        return PhaseOutput({})

    def g_side_terms(self, out_fake: DOutput, z: Tensor, fake: Tensor) -> PhaseOutput:
        """Terms of D's heads in the G phase (``fake``: G(z) with its graph); none here."""
        return PhaseOutput({})

    @classmethod
    def check_config(cls, config: Config) -> None:
        check_part(DISCRIMINATORS, config.model, "discriminator")  # a bad name: one line now

    @property
    def batch_multiple(self) -> tuple[int, str]:
        return self.pack_size, "model.pack"

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

    def generator_loss_at(self, x: Tensor) -> Tensor:
        """The loss's generator term at D's verdicts on x (unconditional, packs of m points):
        the saturating minimax loss's arrows vanish where D is sure, the non-saturating
        loss's do not (Goodfellow et al. 2014, Sec. 3)."""
        return self.loss.g_loss(self.score_packs(x))

    def landscape(self, x: Tensor) -> tuple[Tensor, str]:
        label = "D(x)" if self.loss.probabilistic else "critic D(x)"
        return d_display(self.critic(x), self.loss), label

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        if phase.name == "d":
            return self.d_phase(ctx)
        if self._fake is not None:  # G(z) of the last D step, its graph recorded (reuse_fake)
            (z, fake), self._fake = self._fake, None
        else:
            z = ctx.draw(self.latent)
            fake = self.nets["G"](z)
        out_fake = self.judge(self.pack(fake), self.condition(z))  # one D pass: all outputs
        side = self.g_side_terms(out_fake, z, fake)
        terms = {"g_loss": self.loss.g_loss(out_fake.logits), **side.terms}
        if self.feature_matching > 0:
            with torch.no_grad():
                batch = ctx.batch()
                real_features = self.judge(self.pack(batch["x"]),
                                           self.real_condition(batch)).features
            terms["g_fm"] = self.feature_matching * feature_matching_loss(
                real_features, out_fake.features)
        if self.pull_away > 0:
            terms["g_pt"] = self.pull_away * pull_away_term(out_fake.features)
        return PhaseOutput(terms, side.stats)

    def d_phase(self, ctx: StepContext) -> PhaseOutput:
        """D's loss on a real and a generated batch, plus the configured penalties."""
        G = self.nets["G"]
        z = ctx.draw(self.latent)  # [N, layout width]
        batch = ctx.batch()
        real, z = batch["x"], self.relabel(z, batch)
        if self.reuse_fake:  # G's graph is recorded (Phase.records_graph_of) for the G step
            fake = G(z)
            self._fake = (z, fake)
            fake = fake.detach()
        else:
            with torch.no_grad():
                fake = G(z)
        labels = self.real_condition(batch)  # the fakes' too, after relabel()
        out_real = self.judge(self.pack(real), labels)
        out_fake = self.judge(self.pack(fake), self.condition(z))
        d_real, d_fake = out_real.logits, out_fake.logits  # [N/m], [N/m]
        side = self.d_side_terms(out_real, out_fake, batch, z, fake)
        terms = {"d_loss": self.d_loss(d_real, d_fake), **side.terms}

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
        stats = {"d_real": d_real.mean(), "d_fake": d_fake.mean(), **side.stats}
        if self.loss.estimates_w1:
            # Kantorovich-Rubinstein: E[D(x)] - E[D(G(z))] estimates W1 for a 1-Lipschitz D.
            stats["critic_w1"] = d_real.mean() - d_fake.mean()
        return PhaseOutput(terms, {k: v.detach() for k, v in stats.items()})
