r"""What every image-to-image recipe shares: the composite image losses and their weights, the
data check, and ``translate``.

The composite (TP-GAN, Huang et al. 2017, eq. 7:
$L = L_{pixel} + \lambda_1 L_{sym} + \lambda_2 L_{adv} + \lambda_3 L_{ip} + \lambda_4 L_{tv}$)
adds to a recipe's adversarial terms, each weighted by an option of the recipe's section
(0: off), computed on each translated batch by :mod:`gankit.losses.image`:

- ``pixel_weight``, ``pixel_scales``: L1 to the target at 1, 1/2, 1/4 ... of the resolution
  (paired data only; TP-GAN's multi-scale pixel loss, eq. 3);
- ``symmetry_weight``: L1 between the output and its mirror image (eq. 4);
- ``tv_weight``: the output's total variation (eq. 7's last term);
- ``identity_preserving_weight``: L1 between a fixed network's two deepest layers on the output
  and on the target, or on the source where the data is unpaired (eq. 6);
- ``perceptual_weight``, ``perceptual_layers``: the squared distance of the same network's
  features at several layers, against the same reference (Johnson et al. 2016, eq. 2).

The fixed network is the project's digit classifier (``feature_net``: ``mnist5k`` or
``digits8``), loaded only when a feature term is on; it is frozen, stays in eval mode and is
not part of the checkpoints (it is the shipped file's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError, GankitError
from gankit.losses.image import (
    FixedFeatures,
    identity_preserving_loss,
    perceptual_loss,
    pixel_loss,
    symmetry_loss,
    total_variation,
)
from gankit.models import DISCRIMINATORS, check_part
from gankit.recipes.base import Recipe

DIRECTIONS = ("AtoB", "BtoA")
FEATURE_NETS = ("mnist5k", "digits8")


@dataclass
class CompositeLosses:
    """The composite image losses of any translation recipe's section; 0 weights are off."""

    section: ClassVar[str] = ""  # the recipe's section, for the messages
    pixel_weight: float = 0.0  # L1 to the target (paired data; TP-GAN eq. 3)
    pixel_scales: int = 1  # resolutions of the pixel loss: 1, 1/2, ..., 1/2^(scales - 1)
    symmetry_weight: float = 0.0  # L1 between the output and its mirror image (TP-GAN eq. 4)
    tv_weight: float = 0.0  # the output's total variation (TP-GAN eq. 7)
    identity_preserving_weight: float = 0.0  # L1 of feature_net's deepest layers (TP-GAN eq. 6)
    perceptual_weight: float = 0.0  # squared feature distances (Johnson et al. 2016, eq. 2)
    perceptual_layers: tuple[str, ...] = ("block1", "block2", "feature")  # of feature_net
    feature_net: str = "mnist5k"  # the digit classifier whose features the two feature terms use

    def check(self) -> None:
        for key in ("pixel_weight", "symmetry_weight", "tv_weight",
                    "identity_preserving_weight", "perceptual_weight"):
            if (value := getattr(self, key)) < 0:
                raise ConfigError(f"{self.section}.{key} must be >= 0, got {value}")
        if not 1 <= self.pixel_scales <= 8:
            raise ConfigError(f"{self.section}.pixel_scales must be in [1, 8], "
                              f"got {self.pixel_scales}")
        if self.feature_net not in FEATURE_NETS:
            raise ConfigError(f"{self.section}.feature_net must be one of "
                              f"{', '.join(FEATURE_NETS)}, got {self.feature_net!r}")
        if self.perceptual_weight > 0 and not self.perceptual_layers:
            raise ConfigError(f"{self.section}.perceptual_weight > 0 needs at least one of "
                              f"{self.section}.perceptual_layers")


class TranslationRecipe(Recipe):
    """Base class: a subclass fills ``nets``, names its :attr:`translators` and returns its
    composite terms through :meth:`composite`."""

    translates = True
    augments = True  # each subclass passes what its D judges through seen_by_d
    # direction -> the network of nets that maps it (Pix2Pix: AtoB only)
    translators: ClassVar[dict[str, str]] = {"AtoB": "G"}
    UNUSED: ClassVar[dict[str, object]] = {
        "loss.gp_weight": None, "loss.clip": None, "loss.r1_weight": 0.0,
        "loss.r2_weight": 0.0, "loss.real_label": 1.0, "loss.feature_matching": 0.0,
        "loss.pull_away": 0.0, "model.pack": 1, "model.latent_dim": 2,
        "model.minibatch_discrimination": 0, "model.minibatch_stddev": False,
        "model.g_batchnorm": False,
        "train.g_ema": 0.0, "train.reuse_fake": False}
    UNUSED_WHY = ("an image-to-image recipe has no latent, no weight average and no gradient "
                  "penalty; its losses are those of its own section")

    @classmethod
    def check_config(cls, config: Config) -> None:
        check_part(DISCRIMINATORS, config.model, "discriminator")

    @classmethod
    def check_data(cls, spec: DataSpec, data_name: str, recipe_name: str) -> None:
        if not spec.translation:
            raise ConfigError(f"recipe {recipe_name} translates images of a domain A to a "
                              f"domain B, but data {data_name} holds single examples x; use "
                              f"translation data (edges2digits, thin2thick, grey2colour, "
                              f"paired-folder, unpaired-folder)")

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__()
        self.train_config, self.options, self.spec = config.train, config.options, spec
        options = self.options
        if options.pixel_weight > 0 and not spec.paired:
            raise ConfigError(f"{config.recipe}.pixel_weight compares each output with its "
                              f"target, which unpaired data has not; set it to 0")
        side = spec.shape[-1]
        if options.pixel_weight > 0 and 2 ** (options.pixel_scales - 1) > side:
            raise ConfigError(f"{config.recipe}.pixel_scales {options.pixel_scales} halves "
                              f"{side} px images below one pixel; at most {side.bit_length()}")
        self.features: nn.Module | None = None  # not in nets: the shipped file's, not trained
        if options.identity_preserving_weight > 0 or options.perceptual_weight > 0:
            # its default layers, the two deepest, are the identity-preserving term's (TP-GAN
            # compares the last two layers of its recognition network)
            self.features = FixedFeatures.digits(options.feature_net)

    def composite(self, output: Tensor, source: Tensor, target: Tensor | None
                  ) -> dict[str, Tensor]:
        """The weighted composite terms of one translated batch; the feature terms compare
        with ``target``, or with ``source`` where there is none (unpaired)."""
        options, terms = self.options, {}
        reference = source if target is None else target
        if options.pixel_weight > 0:
            terms["g_pixel"] = options.pixel_weight * pixel_loss(output, target,
                                                                 options.pixel_scales)
        if options.symmetry_weight > 0:
            terms["g_sym"] = options.symmetry_weight * symmetry_loss(output)
        if options.tv_weight > 0:
            terms["g_tv"] = options.tv_weight * total_variation(output)
        if options.identity_preserving_weight > 0:
            terms["g_ip"] = options.identity_preserving_weight * identity_preserving_loss(
                self.features, output, reference)
        if options.perceptual_weight > 0:
            terms["g_perceptual"] = options.perceptual_weight * perceptual_loss(
                self.features, output, reference, options.perceptual_layers)
        return terms

    def translator(self, direction: str) -> nn.Module:
        """The network that maps ``direction`` ("AtoB", "BtoA")."""
        if direction not in DIRECTIONS:
            raise GankitError(f"direction must be AtoB or BtoA, got {direction!r}")
        if direction not in self.translators:
            raise GankitError(f"recipe {type(self).__name__} translates "
                              f"{' and '.join(self.translators)} only, not {direction}")
        return self.nets[self.translators[direction]]

    def translate(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        """The translation of images x [N, C, S, S] in [-1, 1] (with gradients, in the
        networks' current mode; :func:`gankit.evaluation.image_to_image.translate_images` is the
        evaluation's, in eval mode)."""
        return self.translator(direction)(x)

    def example_input(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` input images of domain A's shape, uniform in [-1, 1] (to trace an export)."""
        return torch.rand(n, *self.spec.shape, generator=generator) * 2 - 1
