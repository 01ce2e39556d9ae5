r"""CGAN, Mirza & Osindero 2014: the class y is given to both players.

$\min_G \max_D \mathbb E_{x, y} \log D(x \mid y) + \mathbb E_{z, y} \log(1 - D(G(z \mid y)
\mid y))$ (eq. 2). G takes $[z, \mathrm{onehot}(y)]$ (:mod:`gankit.models.latent_layout`), D takes
the one-hot concatenated to x (:class:`~gankit.models.conditional.LabelInput`). Any loss of
:data:`gankit.losses.LOSSES` plays the game; the D step draws its fakes with the real batch's
labels, so D compares the two sides class by class and a gradient penalty's interpolates have
one label. :class:`ClassCode`, the class as G's code, is the part every class-conditional
recipe composes (``acgan`` with D unconditional, ``projection`` with its own D);
:class:`ConditionalGAN` is what they share besides: the labelled-data check and an unpacked D.
"""

from __future__ import annotations

from torch import Tensor, nn

from gankit.configuration.schema import Config, ModelConfig
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.models.conditional import LabelInput, label_input_shape
from gankit.models.latent_layout import CLASS, Code, LatentLayout
from gankit.recipes.base import RECIPES
from gankit.recipes.gan import GAN, Conditioning


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


class ClassCode(Conditioning):
    """G takes the class as a one-hot code after the noise (latent_dim + K wide), and D sees
    the fakes under the real batch's classes; D itself judges x alone (AC-GAN, whose class
    head names the class instead)."""

    def __init__(self, n_classes: int) -> None:
        self.n_classes = n_classes

    def codes(self) -> tuple[Code, ...]:
        return (Code(CLASS, self.n_classes),)

    def fake_labels(self, layout: LatentLayout, z: Tensor) -> Tensor:
        return layout.values(z)[CLASS]

    def real_labels(self, batch: dict[str, Tensor]) -> Tensor:
        return batch["label"]

    def relabel(self, layout: LatentLayout, z: Tensor, batch: dict[str, Tensor]) -> Tensor:
        return layout.with_values(z, {CLASS: batch["label"]})


class LabelInputClass(ClassCode):
    """CGAN's D(x | y) = D([x, onehot(y)]): the registered D, built for K more input
    channels (:class:`~gankit.models.conditional.LabelInput`)."""

    labels_reach_d = True

    def input_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return label_input_shape(shape, self.n_classes)

    def wrap(self, body: nn.Module, shape: tuple[int, ...], model: ModelConfig) -> nn.Module:
        return LabelInput(body, self.n_classes)


class ConditionalGAN(GAN):
    """What the class-conditional GAN recipes share: they learn from labelled data only, and
    D judges each example under its own label, so examples are not packed."""

    UNUSED = {"model.pack": 1}
    UNUSED_WHY = "D judges each example under its own label, so examples are not packed"

    @classmethod
    def check_data(cls, spec: DataSpec, data_name: str, recipe_name: str) -> None:
        """Refuse unlabelled data (and one label per channel) at config time."""
        super().check_data(spec, data_name, recipe_name)
        class_count(spec, recipe_name)


@RECIPES.register("cgan")
class CGAN(ConditionalGAN):
    """The class as G's code and as D's input."""

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config, spec, LabelInputClass(class_count(spec, config.recipe)))
