"""The relativistic GAN (Jolicoeur-Martineau 2019): RSGAN, or RaSGAN with average: true."""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.models import DISCRIMINATORS, GENERATORS, build_part
from gankit.recipes.base import RECIPES, Phase, PhaseOutput, StepContext, TwoPlayerRecipe


@dataclass
class RelativisticOptions:
    """The ``relativistic:`` section of a config."""

    average: bool = False  # RaSGAN: against the other batch's mean critic value

    def check(self) -> None:
        """Every value of a bool is allowed; the schema has already checked the type."""


@RECIPES.register("relativistic")
class Relativistic(TwoPlayerRecipe):
    """Two players in alternating phases (TwoPlayerRecipe: optimizers, phases, the N(0, I)
    prior and decode come from there); only the loss terms are the relativistic ones."""

    Options = RelativisticOptions
    headline = ("d_loss", "g_loss")
    augments = True  # D judges augmented images when augment.policy is set
    UNUSED = {"model.pack": 1, "train.reuse_fake": False, "augment.ada": False,
              "loss.name": "non-saturating", "loss.gp_weight": None, "loss.clip": None,
              "loss.r1_weight": 0.0, "loss.r2_weight": 0.0, "loss.real_label": 1.0,
              "loss.feature_matching": 0.0, "loss.pull_away": 0.0}
    UNUSED_WHY = ("its loss is the relativistic pairing (r3gan: with its own penalties, "
                  "r3gan.gamma), its G phase draws its own fake batch, D sees single samples, "
                  "and only differences of critic values count (no sign for ADA's r_t)")

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config)
        self.nets = nn.ModuleDict({
            "G": build_part(GENERATORS, config.model, "generator", spec.shape),
            "D": build_part(DISCRIMINATORS, config.model, "discriminator", spec.shape),
        })
        self.keep_generator_average()
        self.keep_augmentation(config, spec.shape)
        self.average = config.options.average

    def relativistic_loss(self, c_a: Tensor, c_b: Tensor) -> Tensor:
        """-E log σ(C(a) - C(b)) (RSGAN), or its averaged two-sided form (RaSGAN); the
        player who minimizes it wants a to look more realistic than b."""
        if not self.average:
            return F.softplus(-(c_a - c_b)).mean()  # -log σ(t) = softplus(-t)
        return (F.softplus(-(c_a - c_b.mean())).mean()
                + F.softplus(c_b - c_a.mean()).mean())  # -log(1 - σ(t)) = softplus(t)

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        D = self.nets["D"]
        real = ctx.real_batch()
        fake = self.nets["G"](ctx.draw(self.latent))
        (real,), (fake,) = self.seen_by_d(ctx, real), self.seen_by_d(ctx, fake)
        if phase.name == "d":
            c_real, c_fake = D(real).logits, D(fake.detach()).logits  # [N], [N]
            return PhaseOutput({"d_loss": self.relativistic_loss(c_real, c_fake)},
                               {"d_gap": (c_real - c_fake).mean().detach()})
        c_real, c_fake = D(real).logits, D(fake).logits
        return PhaseOutput({"g_loss": self.relativistic_loss(c_fake, c_real)})
