r"""AC-GAN, Odena et al. 2017: D also names the class, through an auxiliary classifier head,
with the two later fixes of its low intra-class diversity.

With $L_S = \mathbb E \log P(S{=}\text{real} \mid x_{real}) + \mathbb E \log P(S{=}\text{fake}
\mid x_{fake})$ and $L_C = \mathbb E \log P(C{=}c \mid x_{real}) + \mathbb E \log P(C{=}c \mid
x_{fake})$, D maximizes $L_S + L_C$ and G maximizes $L_C - L_S$ (Sec. 3, eq. 2-3). Here
$-L_S$ is the configured adversarial loss (the paper's log-likelihood one by default), $-L_C$ the
class cross-entropy on the logits of the ``class`` head on D's features
(:func:`gankit.losses.class_loss`), weighted by ``acgan.class_weight``; every term comes from
one D pass. G takes the class as CGAN's does; D itself is unconditional.

``acgan.classifier`` says what the head learns from the fakes:

- ``ac``, the paper's: the fakes' half of $L_C$ too. The head then learns to name a generated
  image by the class it was asked for from whatever G puts there, even a digit of another
  class, and G is rewarded for that digit.
- ``real``: real examples only, so the head stays a classifier $C \approx P(y \mid x)$ of real
  data that G must satisfy. G's term is unchanged. Minimizing $\mathbb E_Q[-\log P(y \mid x)]$
  is $\mathrm{KL}(Q_{XY} \| P_{XY}) - \mathrm{KL}(Q_X \| P_X) + H_Q(Y \mid X)$, and the last
  term is why AC-GAN's classes lose diversity: G gains by drawing only what is unambiguous
  (the decomposition behind TAC-GAN: Gong et al. 2019, "Twin Auxiliary Classifiers GAN").
- ``tac``, TAC-GAN's twin classifier on the ``real`` head: a second head $C^{mi}$ that D trains
  to name the class of the fakes, $C^{mi} \approx Q(y \mid x)$; G maximizes its cross-entropy,
  $H_Q(Y \mid X)$ at the optimum, which cancels the entropy term above.
- ``adc``, ADC-GAN (Hou et al. 2022, "Conditional GANs with Auxiliary Discriminative
  Classifier"): one 2K-way head that names the class and the source together, a real
  x of class y as $y^+$ and a fake one as $y^-$; G minimizes $-\log C(y^+ \mid x) + \log
  C(y^- \mid x)$, which is $\log q(x, y) / p(x, y)$ at the optimal head: in expectation
  $\mathrm{KL}(Q_{XY} \| P_{XY})$, so G is driven toward the joint distribution, not away
  from the classes' boundaries.
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

# acgan.classifier: what the class head learns from (the module docstring has each one's math)
CLASSIFIERS = ("ac", "real", "tac", "adc")


@dataclass
class ACGANOptions:
    """The ``acgan:`` section of a config."""

    class_weight: float = 1.0  # the weight of the class terms in both players' losses (1)
    classifier: str = "ac"  # one of CLASSIFIERS: the paper's head, or one of its fixes

    def check(self) -> None:
        if self.class_weight < 0:
            raise ConfigError(f"acgan.class_weight must be >= 0, got {self.class_weight}")
        if self.classifier not in CLASSIFIERS:
            raise ConfigError(f"acgan.classifier must be one of {', '.join(CLASSIFIERS)}, "
                              f"got {self.classifier!r}")


@RECIPES.register("acgan")
class ACGAN(ConditionalGAN):
    recipe_name = "acgan"
    Options = ACGANOptions
    headline = ("d_loss", "g_loss", "d_class", "class_acc_real")

    def __init__(self, config: Config, spec: DataSpec) -> None:
        self.classifier = config.options.classifier  # make_discriminator reads it
        super().__init__(config, spec)
        self.class_weight = config.options.class_weight

    def make_discriminator(self, config: Config, spec: DataSpec) -> nn.Module:
        body = build_part(DISCRIMINATORS, config.model, "discriminator", spec.shape)
        width = feature_width(body, spec.shape)
        k = self.n_classes
        heads = {"class": nn.Linear(width, 2 * k if self.classifier == "adc" else k)}
        if self.classifier == "tac":
            heads["twin"] = nn.Linear(width, k)
        return WithHeads(body, heads)

    def judge(self, x: Tensor, labels: Tensor | None) -> DOutput:
        """D(x) with its class head: the labels enter the loss, not D."""
        return self.nets["D"](x)

    def landscape(self, x: Tensor) -> tuple[Tensor, str]:
        return GAN.landscape(self, x)

    def d_side_terms(self, out_real: DOutput, out_fake: DOutput, batch: dict[str, Tensor],
                     z: Tensor, fake: Tensor) -> PhaseOutput:
        """The head's cross-entropy on the real batch, and on the fakes as ``classifier``
        says; the fakes' classes are the real batch's (relabel)."""
        real_logits, labels, asked = out_real.heads["class"], batch["label"], self.condition(z)
        loss = class_loss(real_logits, labels)
        terms = {}
        if self.classifier == "ac":
            loss = loss + class_loss(out_fake.heads["class"], asked)
        elif self.classifier == "adc":  # the fakes' classes are the second K outputs
            loss = loss + class_loss(out_fake.heads["class"], asked + self.n_classes)
        elif self.classifier == "tac":
            terms["d_twin"] = self.class_weight * class_loss(out_fake.heads["twin"], asked)
        accuracy = (real_logits[:, :self.n_classes].argmax(1) == labels).float().mean()
        return PhaseOutput({"d_class": self.class_weight * loss, **terms},
                           {"class_acc_real": accuracy.detach()})

    def g_side_terms(self, out_fake: DOutput, z: Tensor, fake: Tensor) -> PhaseOutput:
        """G is rewarded when the head names the class it was asked for (as a real one, y+,
        under ``adc``), and under ``tac`` when the twin cannot."""
        logits, asked = out_fake.heads["class"], self.condition(z)
        g_class = class_loss(logits, asked)
        terms = {}
        if self.classifier == "adc":  # -log C(y+ | x) + log C(y- | x)
            g_class = g_class - class_loss(logits, asked + self.n_classes)
        elif self.classifier == "tac":
            terms["g_twin"] = -self.class_weight * class_loss(out_fake.heads["twin"], asked)
        accuracy = (logits[:, :self.n_classes].argmax(1) == asked).float().mean().detach()
        return PhaseOutput({"g_class": self.class_weight * g_class, **terms},
                           {"class_acc_fake": accuracy})
