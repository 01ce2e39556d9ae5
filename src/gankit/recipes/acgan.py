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

from torch import nn

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses.adversarial import class_loss
from gankit.models.latent_layout import CLASS
from gankit.recipes.base import RECIPES, PhaseOutput
from gankit.recipes.cgan import ClassCode, ConditionalGAN, class_count
from gankit.recipes.gan import DHead, Judged

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


class ClassHead(DHead):
    """The class head on D's features (``DOutput.heads["class"]``, and ``"twin"`` under
    ``tac``) and its cross-entropy terms for both players, weighted by ``weight``."""

    def __init__(self, n_classes: int, classifier: str, weight: float) -> None:
        self.n_classes, self.classifier, self.weight = n_classes, classifier, weight

    def build(self, width: int) -> dict[str, nn.Module]:
        k = self.n_classes
        heads = {"class": nn.Linear(width, 2 * k if self.classifier == "adc" else k)}
        if self.classifier == "tac":
            heads["twin"] = nn.Linear(width, k)
        return heads

    def d_terms(self, judged: Judged) -> PhaseOutput:
        """The head's cross-entropy on the real batch, and on the fakes as ``classifier``
        says; the fakes' classes are the real batch's (ClassCode.relabel)."""
        real_logits, labels = judged.out_real.heads["class"], judged.labels
        out_fake, asked = judged.out_fake, judged.codes[CLASS]
        loss = class_loss(real_logits, labels)
        terms = {}
        if self.classifier == "ac":
            loss = loss + class_loss(out_fake.heads["class"], asked)
        elif self.classifier == "adc":  # the fakes' classes are the second K outputs
            loss = loss + class_loss(out_fake.heads["class"], asked + self.n_classes)
        elif self.classifier == "tac":
            terms["d_twin"] = self.weight * class_loss(out_fake.heads["twin"], asked)
        accuracy = (real_logits[:, :self.n_classes].argmax(1) == labels).float().mean()
        return PhaseOutput({"d_class": self.weight * loss, **terms},
                           {"class_acc_real": accuracy.detach()})

    def g_terms(self, judged: Judged) -> PhaseOutput:
        """G is rewarded when the head names the class it was asked for (as a real one, y+,
        under ``adc``), and under ``tac`` when the twin cannot."""
        logits, asked = judged.out_fake.heads["class"], judged.codes[CLASS]
        g_class = class_loss(logits, asked)
        terms = {}
        if self.classifier == "adc":  # -log C(y+ | x) + log C(y- | x)
            g_class = g_class - class_loss(logits, asked + self.n_classes)
        elif self.classifier == "tac":
            terms["g_twin"] = -self.weight * class_loss(judged.out_fake.heads["twin"], asked)
        accuracy = (logits[:, :self.n_classes].argmax(1) == asked).float().mean().detach()
        return PhaseOutput({"g_class": self.weight * g_class, **terms},
                           {"class_acc_fake": accuracy})


@RECIPES.register("acgan")
class ACGAN(ConditionalGAN):
    """CGAN's class code for G, an unconditional D with the class head."""

    Options = ACGANOptions
    headline = ("d_loss", "g_loss", "d_class", "class_acc_real")

    def __init__(self, config: Config, spec: DataSpec) -> None:
        n_classes, options = class_count(spec, config.recipe), config.options
        super().__init__(config, spec, ClassCode(n_classes),
                         [ClassHead(n_classes, options.classifier, options.class_weight)])
