r"""AC-GAN, Odena et al. 2017: D also names the class, through an auxiliary classifier head.

With $L_S = \mathbb E \log P(S{=}\text{real} \mid x_{real}) + \mathbb E \log P(S{=}\text{fake}
\mid x_{fake})$ and $L_C = \mathbb E \log P(C{=}c \mid x_{real}) + \mathbb E \log P(C{=}c \mid
x_{fake})$, D maximizes $L_S + L_C$ and G maximizes $L_C - L_S$ (Sec. 3, eq. 2-3). Here
$-L_S$ is the configured adversarial loss (the paper's log-likelihood one by default), $-L_C$ the
class cross-entropy on the logits of the ``class`` head on D's features
(:func:`gankit.losses.class_loss`), weighted by ``acgan.class_weight``; both come from one D
pass. G takes the class as CGAN's does; D itself is unconditional.

The fakes' half of $L_C$ in D's loss lets the head learn to name a generated image by the class
it was asked for from whatever G puts there, even a digit of another class, and G is then
rewarded for that digit. ``acgan.classify_fakes: false`` trains the head on real examples only,
so it stays a classifier of real data that G must satisfy; G's term is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from gankit.config import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses import class_loss
from gankit.models import DISCRIMINATORS, DOutput, build_part
from gankit.models.heads import WithHeads, feature_width
from gankit.recipes.base import RECIPES, PhaseOutput
from gankit.recipes.cgan import ConditionalGAN
from gankit.recipes.gan import GAN


@dataclass
class ACGANOptions:
    """The ``acgan:`` section of a config."""

    class_weight: float = 1.0  # the weight of -L_C in both players' losses (1 in the paper)
    # whether D's class head also learns from the fakes (the paper's L_C); false: real only
    classify_fakes: bool = True

    def check(self) -> None:
        if self.class_weight < 0:
            raise ConfigError(f"acgan.class_weight must be >= 0, got {self.class_weight}")


@RECIPES.register("acgan")
class ACGAN(ConditionalGAN):
    recipe_name = "acgan"
    Options = ACGANOptions
    headline = ("d_loss", "g_loss", "d_class", "class_acc_real")

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config, spec)
        self.class_weight = config.options.class_weight
        self.classify_fakes = config.options.classify_fakes

    def make_discriminator(self, config: Config, spec: DataSpec) -> nn.Module:
        body = build_part(DISCRIMINATORS, config.model, "discriminator", spec.shape)
        return WithHeads(body, {"class": nn.Linear(feature_width(body, spec.shape),
                                                   self.n_classes)})

    def judge(self, x: Tensor, labels: Tensor | None) -> DOutput:
        """D(x) with its class head: the labels enter the loss, not D."""
        return self.nets["D"](x)

    def landscape(self, x: Tensor) -> tuple[Tensor, str]:
        return GAN.landscape(self, x)

    def d_side_terms(self, out_real: DOutput, out_fake: DOutput, batch: dict[str, Tensor],
                     z: Tensor) -> PhaseOutput:
        """-L_C on both sides (real only without ``classify_fakes``); the fakes' classes are
        the real batch's (relabel)."""
        real_logits, labels = out_real.heads["class"], batch["label"]
        loss = class_loss(real_logits, labels)
        if self.classify_fakes:
            loss = loss + class_loss(out_fake.heads["class"], self.condition(z))
        accuracy = (real_logits.argmax(1) == labels).float().mean()
        return PhaseOutput({"d_class": self.class_weight * loss},
                           {"class_acc_real": accuracy.detach()})

    def g_side_terms(self, out_fake: DOutput, z: Tensor) -> PhaseOutput:
        """-L_C on the fakes: G is rewarded when D names the class it was asked for."""
        logits, asked = out_fake.heads["class"], self.condition(z)
        return PhaseOutput({"g_class": self.class_weight * class_loss(logits, asked)},
                           {"class_acc_fake": (logits.argmax(1) == asked).float().mean().detach()})
