r"""BEGAN, Berthelot et al. 2017: an auto-encoder D and a proportional control of the balance.

Notation (Sec. 3.3-3.4): $\mathcal{L}(v) = |v - D(v)|$ the auto-encoder loss,
$\mathcal{L}_D = \mathcal{L}(x) - k_t \mathcal{L}(G(z_D))$, $\mathcal{L}_G = \mathcal{L}(G(z_G))$,
$k_{t+1} = \mathrm{clip}_{[0,1]}(k_t + \lambda_k(\gamma\mathcal{L}(x) - \mathcal{L}(G(z_G))))$,
and the global convergence measure $M = \mathcal{L}(x) + |\gamma\mathcal{L}(x) -
\mathcal{L}(G(z_G))|$, logged as ``convergence_m``. $\gamma$ (the diversity ratio) is
``began.gamma``; $\lambda_k$ is ``began.lambda_k`` (the recipe's own config section).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.models import AUTOENCODERS, GENERATORS, build_part, check_part
from gankit.recipes.base import RECIPES, Phase, PhaseOutput, StepContext, TwoPlayerRecipe
from gankit.training import distributed


class EquilibriumControl(nn.Module):
    """Holds k_t as a buffer, so checkpoints carry it and resume stays exact."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("k", torch.zeros(()))  # k_0 = 0 (Sec. 3.4)


@dataclass
class BEGANOptions:
    """The ``began:`` section of a config."""

    gamma: float = 0.5  # diversity ratio gamma = E L(G(z)) / E L(x); 0.5 is one of Sec. 4's
    lambda_k: float = 0.001  # learning rate of k_t (Sec. 3.4: 0.001)

    def check(self) -> None:
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"began.gamma must be in (0, 1], got {self.gamma}")
        if self.lambda_k < 0:
            raise ConfigError(f"began.lambda_k must be >= 0, got {self.lambda_k}")


@RECIPES.register("began")
class BEGAN(TwoPlayerRecipe):
    Options = BEGANOptions
    augments = True
    # BEGAN's D is an auto-encoder trained on its own energies: options of the classifier D,
    # of the adversarial losses and of the GAN recipe's loop have no effect there.
    UNUSED = {
        "model.spectral_norm": False, "model.pack": 1, "model.minibatch_discrimination": 0,
        "model.minibatch_stddev": False, "model.d_norm": "none", "loss.gp_weight": None,
        "loss.clip": None, "loss.r1_weight": 0.0, "loss.r2_weight": 0.0,
        "loss.real_label": 1.0, "loss.feature_matching": 0.0, "loss.pull_away": 0.0,
        "train.reuse_fake": False, "augment.ada": False,
    }
    UNUSED_WHY = "its D is an auto-encoder trained on reconstruction energies"

    @classmethod
    def check_config(cls, config: Config) -> None:
        check_part(AUTOENCODERS, config.model, "discriminator")  # a bad name: one line now

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config)
        model = config.model
        generator = build_part(GENERATORS, model, "generator", spec.shape)
        autoencoder = build_part(AUTOENCODERS, model, "discriminator", spec.shape)
        self.nets = nn.ModuleDict({"G": generator, "D": autoencoder,
                                   "balance": EquilibriumControl()})
        self.keep_generator_average()
        self.keep_augmentation(config, spec.shape)
        self.gamma, self.lambda_k = config.options.gamma, config.options.lambda_k

    headline = ("d_loss", "g_loss", "k", "convergence_m")

    def energy(self, x: Tensor) -> Tensor:
        """L(x) [N]: D's reconstruction error per example."""
        return self.nets["D"](x).logits

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        G, k = self.nets["G"], self.nets["balance"].k
        z = ctx.draw(self.latent)
        if phase.name == "d":
            real = ctx.real_batch()
            with torch.no_grad():
                fake = G(z)
            (real,), (fake,) = self.seen_by_d(ctx, real), self.seen_by_d(ctx, fake)
            real_loss, fake_loss = self.energy(real).mean(), self.energy(fake).mean()
            ctx.carry["real_energy"] = real_loss.detach()  # L(x), for the G phase's k and M
            return PhaseOutput({"d_loss": real_loss - k * fake_loss},
                               {"ae_real": real_loss.detach(), "ae_fake": fake_loss.detach()})
        fake_loss = self.energy(*self.seen_by_d(ctx, G(z))).mean()
        if "real_energy" in ctx.carry:  # the step's last D repeat
            real_loss = ctx.carry["real_energy"]
        else:  # a G step run alone: L(x) of a batch of its own
            with torch.no_grad():
                real_loss = self.energy(*self.seen_by_d(ctx, ctx.real_batch())).mean()
        # k_t follows the global batch: under torchrun every process updates it from the
        # energies averaged over all shards, so k_t stays the same everywhere (and as on 1).
        means = distributed.average({"real": real_loss, "fake": fake_loss.detach()},
                                    ctx.world_size)
        balance = self.gamma * means["real"] - means["fake"]
        stats = {"k": k.clone(), "convergence_m": means["real"] + balance.abs()}
        with torch.no_grad():  # k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)
            k.copy_((k + self.lambda_k * balance).clamp(0, 1))  # G's loss does not read k
        return PhaseOutput({"g_loss": fake_loss}, stats)

    def landscape(self, x: Tensor) -> tuple[Tensor, str]:
        return self.energy(x), "auto-encoder loss L(x)"
