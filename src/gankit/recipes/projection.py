r"""The projection discriminator, Miyato & Koyama 2018, "cGANs with Projection Discriminator".

D's optimal log-ratio $\log \frac{q(y|x) q(x)}{p(y|x) p(x)}$ splits, for a log-linear model of
$p(y|x)$, into a term of x alone and an inner product with a class embedding (Sec. 3):
$D(x, y) = \psi(\phi(x)) + \mathrm{embed}(y)^\top \phi(x)$ (eq. 3), with $\phi$ D's body and
$\psi$ its output unit (:class:`~gankit.models.conditional.ProjectionDiscriminator`). The
paper trains it with the hinge loss (eq. 17-18) and spectral normalization, so ``hinge`` is
this recipe's loss when a config names none; the shipped ``DATASET-projection`` configs also
set spectral norm. G is CGAN's: noise with the one-hot class (the paper conditions G's batch
norms on y; a one-hot input is the same information through G's first layer).
"""

from __future__ import annotations

from torch import nn

from gankit.configuration.schema import Config, ModelConfig
from gankit.data.spec import DataSpec
from gankit.models.conditional import ProjectionDiscriminator
from gankit.models.heads import feature_width
from gankit.recipes.base import RECIPES
from gankit.recipes.cgan import ClassCode, ConditionalGAN, class_count


class ProjectionClass(ClassCode):
    """The class as G's code and as an inner product with D's features (eq. 3)."""

    labels_reach_d = True

    def wrap(self, body: nn.Module, shape: tuple[int, ...], model: ModelConfig) -> nn.Module:
        return ProjectionDiscriminator(body, feature_width(body, shape), self.n_classes,
                                       spectral=model.spectral_norm)


@RECIPES.register("projection")
class Projection(ConditionalGAN):
    defaults = {"loss": {"name": "hinge"}}

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config, spec, ProjectionClass(class_count(spec, config.recipe)))
