r"""Pix2Pix, Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
Networks": G maps an input image a to its target b, and a conditional D judges (input, output)
pairs.

$G^* = \arg\min_G \max_D \mathcal L_{cGAN}(G, D) + \lambda \mathcal L_{L1}(G)$ (eq. 4), with
$\mathcal L_{cGAN} = \mathbb E \log D(a, b) + \mathbb E \log(1 - D(a, G(a)))$ (eq. 1) and
$\mathcal L_{L1} = \mathbb E |b - G(a)|_1$ (eq. 3), $\lambda = 100$. L1 alone gives the
blurry mean of the plausible outputs; the cGAN term alone sharp outputs that may not match the
input; together, sharp and faithful (Sec. 4.2, Table 1). Settings, those of the reference code
(junyanz/pytorch-CycleGAN-and-pix2pix) by default: U-Net G with dropout 0.5 and batch norm,
70x70 PatchGAN D (:mod:`gankit.models.patchgan`) on concat(a, b), Adam 2e-4 (0.5, 0.999), the
learning rates constant for the first half and falling linearly to 0 over the second
(``train.lr_decay_from: 0.5``), the non-saturating BCE loss, D's loss halved ("we divide the
objective by 2 while optimizing D, which slows down the rate at which D learns relative to G").

Each training step draws one batch: D's step judges it and G(a) (G's graph kept), G's step
reuses the same G(a), as the reference's one forward pass per iteration. The paper's ablations
are options: ``gan_weight: 0`` is L1 alone (D is not trained), ``pixel_weight: 0`` the cGAN
alone, ``conditional_d: false`` a D that sees the output without the input (the "GAN" rows),
``model.d_depth`` the patch size (Table 3: 0 is the 1x1 PixelGAN). The composite losses of
:mod:`gankit.recipes.translation` add to G's terms.

Test time: translation runs the networks in eval mode, so batch norm uses its running
statistics and dropout is off: one image's output does not depend on the others in its batch
and is the same every time. The paper instead keeps train mode at test time (dropout as noise,
the test batch's statistics); with batch size 1 that is instance normalization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses.adversarial import LOSSES
from gankit.models import DISCRIMINATORS, TRANSLATORS, build_part
from gankit.recipes.base import RECIPES, OptimizerSpec, Phase, PhaseOutput, StepContext
from gankit.recipes.translation import CompositeLosses, TranslationRecipe

D_LOSS_SCALE = 0.5  # "we divide the objective by 2 while optimizing D" (Sec. 3.3)


@dataclass
class Pix2PixOptions(CompositeLosses):
    """The ``pix2pix:`` section: the paper's lambda and its ablations, then the composite."""

    section: ClassVar[str] = "pix2pix"
    pixel_weight: float = 100.0  # lambda of the L1 term (eq. 4)
    gan_weight: float = 1.0  # of G's adversarial term; 0: L1 alone, D not trained
    conditional_d: bool = True  # D sees concat(a, b); false: b alone (the "GAN" ablation)

    def check(self) -> None:
        super().check()
        if self.gan_weight < 0:
            raise ConfigError(f"pix2pix.gan_weight must be >= 0, got {self.gan_weight}")
        if self.gan_weight == 0 and self.pixel_weight == 0:
            raise ConfigError("pix2pix.gan_weight and pix2pix.pixel_weight are both 0: G would "
                              "have nothing to learn from")


@RECIPES.register("pix2pix")
class Pix2Pix(TranslationRecipe):
    """G: a -> b against D(a, b); phases "d" (n_critic times) and "g"."""

    Options = Pix2PixOptions
    headline = ("d_loss", "g_gan", "g_pixel")
    defaults = {
        "model": {"name": "unet", "discriminator": "patchgan", "g_hidden": 64, "d_hidden": 64,
                  "d_depth": 3, "g_norm": "batch", "d_norm": "batch", "g_dropout": 0.5},
        "loss": {"name": "non-saturating"},
        "train": {"lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "lr_decay_from": 0.5},
    }

    @classmethod
    def check_data(cls, spec: DataSpec, data_name: str, recipe_name: str) -> None:
        super().check_data(spec, data_name, recipe_name)
        if not spec.paired:
            raise ConfigError(f"recipe pix2pix learns from pairs (b[i] the target of a[i]), but "
                              f"data {data_name} is unpaired; use recipe cyclegan")

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config, spec)
        model = config.model
        shape_a, shape_b = spec.shape, spec.shape_b
        judged = ((shape_a[0] + shape_b[0], *shape_b[1:]) if self.options.conditional_d
                  else shape_b)
        self.nets = nn.ModuleDict({
            "G": build_part(TRANSLATORS, model, "generator", shape_a, shape_b),
            "D": build_part(DISCRIMINATORS, model, "discriminator", judged),
        })
        self.keep_augmentation(config, shape_b)
        self.side = shape_a[1]
        self.loss = LOSSES[config.loss.name]

    @property
    def adversarial(self) -> bool:
        return self.options.gan_weight > 0

    def describe(self) -> list[str]:
        D = self.nets["D"]
        return [D.describe(self.side)] if hasattr(D, "describe") and self.adversarial else []

    def optimizers(self) -> dict[str, OptimizerSpec]:
        train = self.train_config
        specs = {"g": OptimizerSpec(("G",), train.lr_g)}
        if self.adversarial:
            specs["d"] = OptimizerSpec(("D",), train.lr_d)
        return specs

    def phases(self) -> list[Phase]:
        g = Phase("g", "g")
        if not self.adversarial:
            return [g]
        return [Phase("d", "d", repeats=self.train_config.n_critic, records_graph_of=("G",)), g]

    def judge(self, a: Tensor, b: Tensor, ctx: StepContext) -> Tensor:
        """D's verdicts [N, P] on output b for input a, the pair augmented by one draw (so the
        output stays aligned with its input) when the config asks for it."""
        a, b = self.seen_by_d(ctx, a, b)
        return self.nets["D"](torch.cat([a, b], 1) if self.options.conditional_d else b).logits

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        if phase.name == "d":
            batch = ctx.batch()
            a, b = batch["a"], batch["b"]
            fake = self.nets["G"](a)  # its graph is kept for the G step (records_graph_of)
            ctx.carry["translated"] = (a, b, fake)
            d_real = self.judge(a, b, ctx)
            loss = D_LOSS_SCALE * self.loss.d_loss(d_real, self.judge(a, fake.detach(), ctx))
            return PhaseOutput({"d_loss": loss}, self.observe_real_verdicts(d_real, ctx))
        if "translated" in ctx.carry:
            a, b, fake = ctx.carry["translated"]
        else:  # L1 alone, or a G step run alone: no D step drew the batch
            batch = ctx.batch()
            a, b = batch["a"], batch["b"]
            fake = self.nets["G"](a)
        terms = {}
        if self.adversarial:
            terms["g_gan"] = self.options.gan_weight * self.loss.g_loss(self.judge(a, fake, ctx))
        return PhaseOutput(terms | self.composite(fake, a, b))
