"""The unconditional GAN: one generator, one discriminator, an adversarial loss and penalties."""

from __future__ import annotations

import copy
from functools import partial

import torch
from torch import Tensor, nn

from gankit.config import Config
from gankit.data.spec import DataSpec
from gankit.losses import (
    LOSSES,
    bce_d_loss,
    d_display,
    feature_matching_loss,
    pull_away_term,
)
from gankit.models import DISCRIMINATORS, GENERATORS, build_part, check_part
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
        generator = build_part(GENERATORS, config.model, "generator", spec.shape)
        discriminator = build_part(DISCRIMINATORS, config.model, "discriminator", spec.shape)
        self.nets = nn.ModuleDict({"G": generator, "D": discriminator})
        self.g_ema = config.train.g_ema  # beta of the weight average; 0 = off
        if self.g_ema > 0:  # a network no optimizer steps; checkpointed with the others
            self.nets["G_ema"] = copy.deepcopy(generator).requires_grad_(False)
        self.loss = LOSSES[config.loss.name]
        # One-sided label smoothing changes only the real targets of the log-likelihood D loss.
        self.d_loss = (partial(bce_d_loss, real_label=config.loss.real_label)
                       if config.loss.real_label < 1 else self.loss.d_loss)
        self.r1_weight, self.r2_weight = config.loss.r1_weight, config.loss.r2_weight
        self.feature_matching, self.pull_away = config.loss.feature_matching, config.loss.pull_away
        self.gp_weight = config.loss.gp_weight  # lambda in WGAN-GP
        self.d_clip = config.loss.clip  # c in WGAN
        self.reuse_fake = config.train.reuse_fake
        self._fake: Tensor | None = None  # the last D step's G(z), for the G step to reuse

    headline = ("d_loss", "g_loss", "critic_w1")

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
        """D's raw output [N / m] for a batch x [N, ...] judged in packs of m."""
        return self.nets["D"](self.pack(x)).logits

    def critic(self, x: Tensor) -> Tensor:
        """D's raw output at each point of x [N, ...] -> [N] (a pack of m copies if packing)."""
        return self.score_packs(x.repeat_interleave(self.pack_size, dim=0))

    def energy(self, x: Tensor) -> Tensor:
        """Minus the raw output at each point (DDLS's energy), judged as a pack of m copies under
        PacGAN."""
        return -self.critic(x)

    def landscape(self, x: Tensor) -> tuple[Tensor, str]:
        label = "D(x)" if self.loss.probabilistic else "critic D(x)"
        return d_display(self.critic(x), self.loss), label

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        if phase.name == "d":
            return self.d_phase(ctx)
        if self._fake is not None:  # G(z) of the last D step, its graph recorded (reuse_fake)
            fake, self._fake = self._fake, None
        else:
            fake = self.nets["G"](ctx.draw(self.latent))
        out_fake = self.nets["D"](self.pack(fake))  # one D pass: logits and features
        terms = {"g_loss": self.loss.g_loss(out_fake.logits)}
        if self.feature_matching > 0:
            with torch.no_grad():
                real_features = self.nets["D"](self.pack(ctx.real_batch())).features
            terms["g_fm"] = self.feature_matching * feature_matching_loss(
                real_features, out_fake.features)
        if self.pull_away > 0:
            terms["g_pt"] = self.pull_away * pull_away_term(out_fake.features)
        return PhaseOutput(terms)

    def d_phase(self, ctx: StepContext) -> PhaseOutput:
        """D's loss on a real and a generated batch, plus the configured penalties."""
        G = self.nets["G"]
        z = ctx.draw(self.latent)  # [N, latent_dim]
        real = ctx.real_batch()
        if self.reuse_fake:  # G's graph is recorded (Phase.records_graph_of) for the G step
            self._fake = G(z)
            fake = self._fake.detach()
        else:
            with torch.no_grad():
                fake = G(z)
        d_real, d_fake = self.score_packs(real), self.score_packs(fake)  # [N/m], [N/m]
        terms = {"d_loss": self.d_loss(d_real, d_fake)}
        D = self.nets["D"]

        def packed_logits(x: Tensor) -> Tensor:  # penalties act on D's (packed) inputs
            return D(x).logits

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
        stats = {"d_real": d_real.mean(), "d_fake": d_fake.mean()}
        if self.loss.estimates_w1:
            # Kantorovich-Rubinstein: E[D(x)] - E[D(G(z))] estimates W1 for a 1-Lipschitz D.
            stats["critic_w1"] = d_real.mean() - d_fake.mean()
        return PhaseOutput(terms, {k: v.detach() for k, v in stats.items()})

    @torch.no_grad()
    def after_step(self, phase: Phase) -> None:
        """theta_ema <- beta * theta_ema + (1 - beta) * theta after each G step; buffers copied."""
        if phase.name != "g" or self.g_ema == 0:
            return
        G, G_ema = self.nets["G"], self.nets["G_ema"]
        for p_ema, p in zip(G_ema.parameters(), G.parameters(), strict=True):
            p_ema.lerp_(p, 1 - self.g_ema)
        for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
            b_ema.copy_(b)

    def decode(self, z: Tensor) -> Tensor:
        """The weight-averaged G when ``train.g_ema`` > 0, else G."""
        return self.nets["G_ema" if self.g_ema > 0 else "G"](z)
