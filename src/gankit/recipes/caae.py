r"""CAAE, Zhang, Song & Qi 2017, "Age Progression/Regression by Conditional Adversarial
Autoencoder": a latent that keeps identity while the condition changes.

An encoder E maps x to $z = E(x) \in [-1, 1]^d$ (tanh) and a decoder G rebuilds x from z and
the condition l (one-hot; the paper's age, here the class): $\hat x = G(E(x), l)$. Two
discriminators shape the two sides (Sec. 3.2, eq. 5): $D_z$ tells E's codes from the uniform
prior $U(-1, 1)^d$, so the codes fill it and any prior draw decodes to an image; $D_{img}$ tells
real pairs (x, l) from (G(E(x), l), l), so reconstructions look real for their condition. E and G
minimize

$\lambda_{rec} |x - G(E(x), l)|_1 + \lambda_{tv} TV(G(E(x), l)) + \lambda_z L_G(D_z(E(x))) +
\lambda_{img} L_G(D_{img}(G(E(x), l), l))$,

with $L_G$ the configured loss's G objective (non-saturating by default), and the
discriminators minimize its D objective. Because z is pushed to a prior shared by every
condition, the condition carries what the class decides and z what it does not (style, stroke,
slant); :meth:`CAAE.recondition` decodes one x's z under every other class (the paper's age
progression). The weights are the ``caae:`` section.

That division is what the losses hope for, not what they force: nothing stops E from putting
the class into z as well, and on digits it does, so G reconstructs from z alone and ignores l.
Two options, off by default and on in the shipped preset, make l matter:
``caae.z_given_label`` lets D_z see the label beside z (a z that reveals its class is then
unlike the prior's, which is independent of l), and ``caae.recondition_weight`` adds D_img's
verdict on digits re-drawn as a random other class (G(E(x), l'), l'). The preset also sets
``caae.z_weight`` to 0.05, five times the paper's: with D_z seeing the label, that weight is
what makes E leave the class to l (README, Conditional and structured GANs).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses.adversarial import LOSSES
from gankit.losses.image import l1_reconstruction, total_variation
from gankit.models import DISCRIMINATORS, GENERATORS, build_part, check_part
from gankit.models.conditional import LabelInput, label_input_shape
from gankit.models.heads import WithHeads, feature_width
from gankit.models.latent_layout import CLASS, Code, LatentLayout
from gankit.models.mlp import MLPDiscriminator
from gankit.recipes.base import RECIPES, OptimizerSpec, Phase, PhaseOutput, Recipe, StepContext
from gankit.recipes.cgan import class_count


@dataclass
class CAAEOptions:
    """The ``caae:`` section of a config: the weights of E and G's loss terms."""

    rec_weight: float = 1.0  # lambda_rec of the L1 reconstruction
    z_weight: float = 0.01  # lambda_z of E's adversarial term against D_z
    img_weight: float = 0.01  # lambda_img of G's adversarial term against D_img
    tv_weight: float = 0.0  # lambda_tv of the total variation (images only)
    z_hidden: int = 64  # width of D_z's two hidden layers (the paper's: 64, 32, 16)
    # Two additions to the paper, off by default (the shipped preset turns them on): on
    # digits the paper's losses let E encode the class in z and G ignore l, so re-drawing a
    # digit as another class changes nothing (README, Conditional and structured GANs).
    # z_given_label: D_z judges (z, l) pairs, the real ones z ~ U(-1, 1)^d beside the batch's
    # labels, so a code that carries the class is told apart and E is pushed to leave it to l.
    z_given_label: bool = False
    # recondition_weight: D_img also judges each example re-drawn as a random other class,
    # (G(E(x), l'), l'), as a fake of class l', and G gets this weight times its G loss there.
    recondition_weight: float = 0.0

    def check(self) -> None:
        for key in ("rec_weight", "z_weight", "img_weight", "tv_weight", "recondition_weight"):
            if (value := getattr(self, key)) < 0:
                raise ConfigError(f"caae.{key} must be >= 0, got {value}")
        if not 1 <= self.z_hidden <= 2**16:
            raise ConfigError(f"caae.z_hidden must be in [1, 2^16], got {self.z_hidden}")


@RECIPES.register("caae")
class CAAE(Recipe):
    """E and G against D_z and D_img, in alternating phases "d" (both discriminators, n_critic
    times) and "g" (E and G)."""

    Options = CAAEOptions
    headline = ("d_loss", "g_rec", "g_img", "g_z")
    augments = True  # D_img's images; D_z judges codes

    UNUSED = {
        "loss.gp_weight": None, "loss.clip": None, "loss.r1_weight": 0.0,
        "loss.r2_weight": 0.0, "loss.real_label": 1.0, "loss.feature_matching": 0.0,
        "loss.pull_away": 0.0, "model.pack": 1, "train.g_ema": 0.0,
        "train.reuse_fake": False,
    }
    UNUSED_WHY = ("its losses are the reconstruction, the total variation and two adversarial "
                  "terms weighted by the caae section")

    @classmethod
    def check_config(cls, config: Config) -> None:
        check_part(DISCRIMINATORS, config.model, "discriminator")

    @classmethod
    def check_data(cls, spec: DataSpec, data_name: str, recipe_name: str) -> None:
        """Refuse unlabelled data (and one label per channel) at config time."""
        super().check_data(spec, data_name, recipe_name)
        class_count(spec, recipe_name)

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__()
        self.n_classes = class_count(spec, "caae")
        self.train_config, self.options = config.train, config.options
        model = config.model
        # z ~ U(-1, 1)^d with the class after it: the decoder's input and the sampling prior.
        self.layout = LatentLayout(model.latent_dim, (Code(CLASS, self.n_classes),), "uniform")
        trunk = build_part(DISCRIMINATORS, model, "discriminator", spec.shape)
        self.nets = nn.ModuleDict({
            "E": WithHeads(trunk, {"z": nn.Linear(feature_width(trunk, spec.shape),
                                                  model.latent_dim)}),
            "G": build_part(GENERATORS, replace(model, latent_dim=self.layout.width),
                            "generator", spec.shape),
            "Dz": self.code_discriminator(model.latent_dim),
            "Dimg": LabelInput(build_part(DISCRIMINATORS, model, "discriminator",
                                          label_input_shape(spec.shape, self.n_classes)),
                               self.n_classes),
        })
        self.keep_augmentation(config, spec.shape)
        self.loss = LOSSES[config.loss.name]

    def code_discriminator(self, width: int) -> nn.Module:
        """D_z: an MLP on z, or on [z, onehot(l)] with ``caae.z_given_label``."""
        if self.options.z_given_label:
            return LabelInput(MLPDiscriminator((width + self.n_classes,),
                                               self.options.z_hidden, 2), self.n_classes)
        return MLPDiscriminator((width,), self.options.z_hidden, 2)

    def judge_image(self, x: Tensor, labels: Tensor, ctx: StepContext) -> Tensor:
        """D_img's logits [N] for images x of class ``labels``, as D_img sees them (augmented
        when the config asks)."""
        (x,) = self.seen_by_d(ctx, x)
        return self.nets["Dimg"](x, labels).logits

    def judge_code(self, z: Tensor, labels: Tensor) -> Tensor:
        """D_z's logits [N] for codes z of examples of class ``labels``."""
        Dz = self.nets["Dz"]
        return (Dz(z, labels) if self.options.z_given_label else Dz(z)).logits

    def optimizers(self) -> dict[str, OptimizerSpec]:
        train = self.train_config
        return {"d": OptimizerSpec(("Dz", "Dimg"), train.lr_d),
                "g": OptimizerSpec(("E", "G"), train.lr_g)}

    def phases(self) -> list[Phase]:
        return [Phase("d", "d", repeats=self.train_config.n_critic), Phase("g", "g")]

    def encode(self, x: Tensor) -> Tensor:
        """z = E(x) in [-1, 1]^d [N, d]."""
        return torch.tanh(self.nets["E"](x).heads["z"].float())

    def with_class(self, z: Tensor, labels: Tensor) -> Tensor:
        """The decoder's input [z, onehot(l)]."""
        return torch.cat([z, self.layout.encode(self.layout.code(CLASS), labels).to(z)], 1)

    def other_classes(self, labels: Tensor, ctx: StepContext) -> Tensor:
        """For each label of the batch a different class, uniform over the other K - 1 (drawn
        for the global batch from the run's stream, this process's shard kept)."""
        shift = ctx.draw(lambda n, g: torch.randint(1, self.n_classes, (n,), generator=g,
                                                    device=g.device))
        return (labels + shift) % self.n_classes

    def recondition(self, x: Tensor, labels: Tensor) -> Tensor:
        """G(E(x), l): each x's style re-drawn as class l (its own class: the reconstruction)."""
        return self.nets["G"](self.with_class(self.encode(x), labels))

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        batch = ctx.batch()
        x, labels = batch["x"], batch["label"]
        if phase.name == "d":
            prior = ctx.draw(lambda n, g: self.layout.draw_noise(n, g))  # z* ~ U(-1, 1)^d
            with torch.no_grad():
                z = self.encode(x)
                rebuilt = self.nets["G"](self.with_class(z, labels))
            d_z = self.loss.d_loss(self.judge_code(prior, labels), self.judge_code(z, labels))
            d_real = self.judge_image(x, labels, ctx)
            d_img = self.loss.d_loss(d_real, self.judge_image(rebuilt, labels, ctx))
            terms = {"d_z": d_z, "d_img": d_img}
            if self.options.recondition_weight > 0:
                others = self.other_classes(labels, ctx)
                with torch.no_grad():
                    redrawn = self.nets["G"](self.with_class(z, others))
                terms["d_recondition"] = self.loss.d_loss(
                    self.judge_image(x, labels, ctx), self.judge_image(redrawn, others, ctx))
            return PhaseOutput(terms, {"d_loss": sum(terms.values()).detach(),
                                       **self.observe_real_verdicts(d_real, ctx)})
        z = self.encode(x)
        rebuilt = self.nets["G"](self.with_class(z, labels))
        options = self.options
        terms = {
            "g_rec": options.rec_weight * l1_reconstruction(x, rebuilt),
            "g_z": options.z_weight * self.loss.g_loss(self.judge_code(z, labels)),
            "g_img": options.img_weight * self.loss.g_loss(
                self.judge_image(rebuilt, labels, ctx)),
        }
        if options.recondition_weight > 0:
            others = self.other_classes(labels, ctx)
            redrawn = self.nets["G"](self.with_class(z, others))
            terms["g_recondition"] = options.recondition_weight * self.loss.g_loss(
                self.judge_image(redrawn, others, ctx))
        if options.tv_weight > 0 and rebuilt.dim() == 4:
            terms["g_tv"] = options.tv_weight * total_variation(rebuilt)
        return PhaseOutput(terms)

    def latent(self, n: int, generator: torch.Generator) -> Tensor:
        """[z, onehot(l)] with z from the prior D_z holds E's codes to, l uniform."""
        return self.layout.draw(n, generator)

    def decode(self, z: Tensor) -> Tensor:
        return self.nets["G"](z)
