r"""CGAN, Mirza & Osindero 2014: the class y is given to both players.

$\min_G \max_D \mathbb E_{x, y} \log D(x \mid y) + \mathbb E_{z, y} \log(1 - D(G(z \mid y)
\mid y))$ (eq. 2). G takes $[z, \mathrm{onehot}(y)]$ (:mod:`gankit.latent_layout`), D takes
the one-hot concatenated to x (:class:`~gankit.models.conditional.LabelInput`). Any loss of
:data:`gankit.losses.LOSSES` plays the game; the D step draws its fakes with the real batch's
labels, so D compares the two sides class by class and a gradient penalty's interpolates have
one label. :class:`ConditionalGAN` is what the class-conditional recipes share (``acgan``,
``projection``): the class code, the labelled-data check and the class-wise pictures.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gankit.config import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.latent_layout import CLASS, Code, LatentLayout
from gankit.losses import d_display
from gankit.models import DISCRIMINATORS, DOutput, build_part
from gankit.models.conditional import LabelInput, label_input_shape
from gankit.recipes.base import RECIPES
from gankit.recipes.gan import GAN


def class_count(spec: DataSpec, recipe: str) -> int:
    """The number of classes of a data set whose examples have one label each; a recipe that
    conditions on the class refuses other data in one line."""
    label = spec.fields.get("label")
    if not spec.n_classes or label is None:
        raise ConfigError(f"recipe {recipe} conditions on the class label, and this data has no "
                          f"labels (labelled: mnist5k, digits8, ring8, grid25 and the other "
                          f"mixtures, or your own data given as (examples, labels))")
    if label.shape != ():
        raise ConfigError(f"recipe {recipe} conditions on one class label per example, and this "
                          f"data has labels of shape {list(label.shape)} per example "
                          f"(stacked-mnist: one digit per channel)")
    return spec.n_classes


class ConditionalGAN(GAN):
    """A GAN whose G takes the class as a one-hot code after the noise (latent_dim + K wide)."""

    recipe_name = "cgan"  # the config name, for messages
    UNUSED = {"model.pack": 1}
    UNUSED_WHY = "D judges each example under its own label, so examples are not packed"

    def __init__(self, config: Config, spec: DataSpec) -> None:
        self.n_classes = class_count(spec, self.recipe_name)
        super().__init__(config, spec)

    def make_layout(self, config: Config, spec: DataSpec) -> LatentLayout:
        return LatentLayout(config.model.latent_dim, (Code(CLASS, self.n_classes),))

    def judge(self, x: Tensor, labels: Tensor | None) -> DOutput:
        """D(x, y): the conditional D takes the labels with the inputs."""
        return self.nets["D"](x, labels)

    def condition(self, z: Tensor) -> Tensor:
        return self.layout.values(z)[CLASS]

    def real_condition(self, batch: dict[str, Tensor]) -> Tensor:
        return batch["label"]

    def relabel(self, z: Tensor, batch: dict[str, Tensor]) -> Tensor:
        return self.layout.with_values(z, {CLASS: batch["label"]})

    def latent_energy(self, temperature: float = 1.0) -> None:
        """None: an energy over z would move the one-hot code with the noise."""
        return None

    def landscape(self, x: Tensor) -> tuple[Tensor, str]:
        """max over y of D(x | y): where D sees data of some class."""
        scores = torch.stack([self.judge(x, torch.full((len(x),), k, device=x.device)).logits
                              for k in range(self.n_classes)])  # [K, N]
        label = "D(x | y)" if self.loss.probabilistic else "critic D(x | y)"
        return d_display(scores.max(0).values, self.loss), f"max over y of {label}"


@RECIPES.register("cgan")
class CGAN(ConditionalGAN):
    """D(x | y) = D([x, onehot(y)]): the registered D, built for K more input channels."""

    def make_discriminator(self, config: Config, spec: DataSpec) -> nn.Module:
        shape = label_input_shape(spec.shape, self.n_classes)
        return LabelInput(build_part(DISCRIMINATORS, config.model, "discriminator", shape),
                          self.n_classes)
