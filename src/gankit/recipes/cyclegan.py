r"""CycleGAN, Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks": G: A -> B and F: B -> A learnt from two unpaired sets.

Adversarial losses alone make G(a) look like some b, not like the b that a should become; the
cycle-consistency loss ties each image to its translation, F(G(a)) ~ a and G(F(b)) ~ b (eq. 2):

$\mathcal L = \mathcal L_{GAN}(G, D_B) + \mathcal L_{GAN}(F, D_A) + \lambda(\mathbb E
|F(G(a)) - a|_1 + \mathbb E |G(F(b)) - b|_1)$ (eq. 3), $\lambda = 10$,

plus the identity loss $\lambda_{id} \lambda (\mathbb E |G(b) - b|_1 + \mathbb E |F(a) - a|_1)$
(Sec. 5.2, $\lambda_{id} = 0.5$), which keeps what needs no change (colours of a painting) and
needs A and B with the same channels. Settings, the reference code's by default: ResNet G
(:mod:`gankit.models.resnet`, instance norm, 9 blocks), 70x70 PatchGAN D with instance norm,
the least-squares loss, Adam 2e-4 (0.5, 0.999) with the linear decay over the second half,
and each D shown a history of 50 generated images (:mod:`gankit.recipes.history_pool`), whose state
is
checkpointed.

The least-squares objectives here carry Mao et al.'s 1/2 (:mod:`gankit.losses`): D's equals the
reference's 0.5 (MSE real + MSE fake), and G's is half the reference's MSE, so ``gan_weight``
defaults to 2, which gives G the reference's balance between its adversarial and cycle terms.
With another ``loss.name`` the 2 still doubles G's adversarial term: set the weight that loss
needs.
Each step runs G and F first (one batch: both directions, cycles, identities), then both D's
on that batch and on the pooled translations, as the reference does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses.adversarial import LOSSES
from gankit.losses.image import l1_reconstruction
from gankit.models import DISCRIMINATORS, TRANSLATORS, build_part
from gankit.recipes.base import RECIPES, OptimizerSpec, Phase, PhaseOutput, StepContext
from gankit.recipes.history_pool import HistoryPool
from gankit.recipes.translation import CompositeLosses, TranslationRecipe


@dataclass
class CycleGANOptions(CompositeLosses):
    """The ``cyclegan:`` section: the paper's weights and the pool, then the composite."""

    section: ClassVar[str] = "cyclegan"
    cycle_weight: float = 10.0  # lambda of both cycle terms (eq. 3)
    identity_weight: float = 0.5  # lambda_id, times cycle_weight; 0: off
    gan_weight: float = 2.0  # of G's and F's adversarial terms (2: the reference's MSE)
    pool_size: int = 50  # generated images each D's history holds; 0: no history

    def check(self) -> None:
        super().check()
        for key in ("cycle_weight", "identity_weight", "gan_weight"):
            if (value := getattr(self, key)) < 0:
                raise ConfigError(f"cyclegan.{key} must be >= 0, got {value}")
        if not 0 <= self.pool_size <= 10_000:
            raise ConfigError(f"cyclegan.pool_size must be in [0, 10000], got {self.pool_size}")


@RECIPES.register("cyclegan")
class CycleGAN(TranslationRecipe):
    """G: a -> b and F: b -> a against D_B and D_A; phases "g" (G and F), then "d"."""

    Options = CycleGANOptions
    headline = ("d_loss", "g_gan", "g_cycle", "g_identity")
    translators = {"AtoB": "G", "BtoA": "F"}
    # one D step per G step: a second would show the history the same translations again
    UNUSED = {**TranslationRecipe.UNUSED, "train.n_critic": 1}
    defaults = {
        "model": {"name": "resnet", "discriminator": "patchgan", "g_hidden": 64, "g_depth": 9,
                  "d_hidden": 64, "d_depth": 3, "g_norm": "instance", "d_norm": "instance"},
        "loss": {"name": "lsgan"},
        "train": {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "lr_decay_from": 0.5},
    }

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config, spec)
        model, options = config.model, self.options
        shape_a, shape_b = spec.shape, spec.shape_b
        if options.identity_weight > 0 and shape_a[0] != shape_b[0]:
            raise ConfigError(f"cyclegan.identity_weight feeds B's images to G, which takes A's "
                              f"channels: A has {shape_a[0]} and B {shape_b[0]}; set "
                              f"cyclegan.identity_weight=0")
        self.nets = nn.ModuleDict({
            "G": build_part(TRANSLATORS, model, "generator", shape_a, shape_b),
            "F": build_part(TRANSLATORS, model, "generator", shape_b, shape_a),
            "D_A": build_part(DISCRIMINATORS, model, "discriminator", shape_a),
            "D_B": build_part(DISCRIMINATORS, model, "discriminator", shape_b),
            "pool_a": HistoryPool(options.pool_size, shape_a),
            "pool_b": HistoryPool(options.pool_size, shape_b),
        })
        self.keep_augmentation(config, shape_a)
        self.side = shape_a[1]
        self.loss = LOSSES[config.loss.name]

    def describe(self) -> list[str]:
        D = self.nets["D_B"]
        return [D.describe(self.side)] if hasattr(D, "describe") else []

    def optimizers(self) -> dict[str, OptimizerSpec]:
        train = self.train_config
        return {"g": OptimizerSpec(("G", "F"), train.lr_g),
                "d": OptimizerSpec(("D_A", "D_B"), train.lr_d)}

    def phases(self) -> list[Phase]:
        return [Phase("g", "g"), Phase("d", "d")]

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        if phase.name == "d":
            return self.d_phase(ctx)
        batch = ctx.batch()
        a, b = batch["a"], batch["b"]
        G, F, options = self.nets["G"], self.nets["F"], self.options
        fake_b, fake_a = G(a), F(b)
        ctx.carry["translated"] = (a, b, fake_a.detach(), fake_b.detach())  # for the D step
        paired = self.spec.paired
        (seen_b,), (seen_a,) = self.seen_by_d(ctx, fake_b), self.seen_by_d(ctx, fake_a)
        terms = {
            "g_gan": options.gan_weight * (self.loss.g_loss(self.nets["D_B"](seen_b).logits)
                                           + self.loss.g_loss(self.nets["D_A"](seen_a).logits)),
            "g_cycle": options.cycle_weight * (l1_reconstruction(a, F(fake_b))
                                               + l1_reconstruction(b, G(fake_a))),
        }
        if options.identity_weight > 0:
            terms["g_identity"] = options.identity_weight * options.cycle_weight * (
                l1_reconstruction(b, G(b)) + l1_reconstruction(a, F(a)))
        forward = self.composite(fake_b, a, b if paired else None)
        backward = self.composite(fake_a, b, a if paired else None)
        for key in forward:
            terms[key] = forward[key] + backward[key]
        return PhaseOutput(terms)

    def d_phase(self, ctx: StepContext) -> PhaseOutput:
        """Each D on the G step's real batch and on what its history shows for the new
        translations (with lsgan, the reference's 0.5 (MSE real + MSE fake) per D); a D step
        run alone draws a batch and translates it itself."""
        if "translated" in ctx.carry:
            a, b, fake_a, fake_b = ctx.carry["translated"]
        else:
            batch = ctx.batch()
            a, b = batch["a"], batch["b"]
            with torch.no_grad():
                fake_a, fake_b = self.nets["F"](b), self.nets["G"](a)
        shown_a = self.nets["pool_a"].query(fake_a, ctx)
        shown_b = self.nets["pool_b"].query(fake_b, ctx)
        # Every image each D judges is augmented by its own draws, when the config asks.
        (a,), (b,), (shown_a,), (shown_b,) = (self.seen_by_d(ctx, x)
                                              for x in (a, b, shown_a, shown_b))
        real_a, real_b = self.nets["D_A"](a).logits, self.nets["D_B"](b).logits
        d_a = self.loss.d_loss(real_a, self.nets["D_A"](shown_a).logits)
        d_b = self.loss.d_loss(real_b, self.nets["D_B"](shown_b).logits)
        adaptive = self.observe_real_verdicts(torch.cat([real_a.flatten(), real_b.flatten()]),
                                              ctx)
        return PhaseOutput({"d_a": d_a, "d_b": d_b},
                           {"d_loss": (d_a + d_b).detach(), **adaptive})
