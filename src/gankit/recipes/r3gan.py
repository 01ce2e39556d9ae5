"""R3GAN (Huang, Gokaslan, Kuleshov and Tompkin, "The GAN is dead; long live the GAN! A Modern
Baseline GAN", NeurIPS 2024): the relativistic pairing loss with both zero-centred gradient
penalties, and nothing else.

D minimizes, over pairs of a real x and a generated G(z) (Sec. 2, eq. 2 with f = softplus),

    E softplus(-(D(x) - D(G(z))))  +  gamma / 2 (E ||grad_x D(x)||^2 + E ||grad_y D(y)||^2),

the second penalty R2 taken at the generated images y = G(z) held fixed (detached): R1 alone
lets the fakes' side of D drift, R2 alone the real side; the paper proves local convergence
with both (Sec. 3, Prop. II) and shows RpGAN + R1 alone diverging. G minimizes
E softplus(-(D(G(z)) - D(x))). The loss is the relativistic recipe's RSGAN pairing
(:mod:`gankit.recipes.relativistic`), so only the penalties and gamma's schedule are new here.

The penalties reuse the forward pass of the loss (D(x) computed once, from an x that requires
grad), as the authors' code does, rather than one more pass of D per penalty. gamma follows the
run's decay (:func:`gankit.training.optimization.scheduled`): the paper's schedules decay the
learning rate, gamma and Adam's 1 - beta2 by a cosine together (``configs/presets/r3gan.yaml``).
The paper's networks are the model family ``r3gan`` (:mod:`gankit.models.r3gan`); the recipe
trains any family.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses.penalties import squared_gradient_norms
from gankit.recipes.base import RECIPES, Phase, PhaseOutput, StepContext
from gankit.recipes.relativistic import Relativistic, RelativisticOptions
from gankit.training.optimization import scheduled


@dataclass
class R3GANOptions(RelativisticOptions):
    """The ``r3gan:`` section: the pairing (``average``, from the relativistic recipe: false is
    RpGAN, the paper's) and gamma, the weight of R1 + R2, with where it decays to."""

    # gamma / 2 weighs R1 + R2; the paper's CIFAR-10 value, 0.05 decaying to 0.005 (their code's
    # schedulers; FFHQ-64: 2 -> 0.2, ImageNet-64: 1 -> 0.1: it grows with the images' scale)
    gamma: float = 0.05
    gamma_final: float | None = None  # None: constant gamma
    # R1 + R2 every k-th step, weighted k (lazy regularization, Karras et al. 2020, StyleGAN2
    # Sec. 3.1 and App. B: 16 there): the same penalty on average for fewer double backwards;
    # 1: every step, the paper's
    penalty_every: int = 1

    def check(self) -> None:
        if not self.penalty_every >= 1:
            raise ConfigError(f"r3gan.penalty_every must be a step count >= 1 (1: every step), "
                              f"got {self.penalty_every}")
        if not self.gamma >= 0:
            raise ConfigError(f"r3gan.gamma must be >= 0 (0: no R1 and R2), got {self.gamma}")
        if self.gamma_final is not None and not self.gamma_final >= 0:
            raise ConfigError(f"r3gan.gamma_final must be >= 0 (or null: constant gamma), "
                              f"got {self.gamma_final}")


@RECIPES.register("r3gan")
class R3GAN(Relativistic):
    """The relativistic recipe's networks and phases, with R1 + R2 in D's phase."""

    Options = R3GANOptions
    headline = ("d_loss", "g_loss", "d_r1")

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config, spec)
        self.gamma, self.gamma_final = config.options.gamma, config.options.gamma_final
        self.penalty_every = config.options.penalty_every

    @classmethod
    def check_config(cls, config: Config) -> None:
        """gamma_final moves only where the run's schedules start (train.lr_decay_from < 1)."""
        if config.options.gamma_final is not None:
            config.train.check_scheduled("r3gan.gamma_final", config.options.gamma_final)

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        if phase.name != "d":
            return super().run_phase(phase, ctx)
        D, every = self.nets["D"], self.penalty_every
        gamma = scheduled(self.gamma, self.gamma_final, ctx.step, self.train_config)
        penalized = gamma > 0 and ctx.step % every == 0
        # The gradients are taken at the images before any augmentation, as R3GAN's and
        # StyleGAN2-ADA's code take them (the augmentation is differentiable).
        real = ctx.real_batch().detach().requires_grad_(penalized)
        with torch.no_grad():
            fake = self.nets["G"](ctx.draw(self.latent))
        fake.requires_grad_(penalized)  # drawn without a graph: R2 trains D only
        (seen_real,), (seen_fake,) = self.seen_by_d(ctx, real), self.seen_by_d(ctx, fake)
        c_real, c_fake = D(seen_real).logits, D(seen_fake).logits  # [N], [N]
        terms = {"d_loss": self.relativistic_loss(c_real, c_fake)}
        if penalized:  # gamma / 2 (R1 + R2), Mescheder et al. 2018, eq. 9; R3GAN eq. 4
            weight = every * gamma / 2  # lazy: every k-th step, k times as heavy
            terms["d_r1"] = weight * squared_gradient_norms(c_real, real).mean()
            terms["d_r2"] = weight * squared_gradient_norms(c_fake, fake).mean()
        return PhaseOutput(terms, {"d_gap": (c_real - c_fake).mean().detach(),
                                   "gamma": torch.tensor(gamma)})

    def describe(self) -> list[str]:
        """Say gamma's schedule and the penalties' interval once, where training starts."""
        train = self.train_config
        gamma = f"gamma {self.gamma}"
        if self.gamma_final is not None:
            gamma += (f" -> {self.gamma_final} ({train.decay_shape} from "
                      f"{train.lr_decay_from:g} of the run)")
        lazy = "" if self.penalty_every == 1 else (
            f", every {self.penalty_every} steps weighted {self.penalty_every}")
        return [*super().describe(), f"r3gan: {gamma}; R1 + R2 weight gamma/2{lazy}"]
