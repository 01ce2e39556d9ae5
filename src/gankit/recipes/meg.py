r"""MEG, Kumar et al. 2019, "Maximum Entropy Generators for Energy-Based Models": an energy
network U trained against a generator that maximizes its own entropy.

Notation (Sec. 3): the energy $U(x)$ is D's raw output (low: data); $p_\theta \propto e^{-U}$.
U minimizes $\mathcal L_U = \mathbb E_{data} U(x) - \mathbb E_z U(G(z)) + \lambda\,
\mathbb E_{data}\lVert\nabla_x U(x)\rVert_2^2$ and G minimizes $\mathcal L_G = \mathbb E_z
U(G(z)) - w\,\hat H[p_G]$, which is $KL(p_G \,\|\, p_\theta)$ up to a constant: G is trained
to sample the energy model, so the energy's negative phase needs no MCMC. The entropy
$\hat H$ is an estimate of $I(G(z); z)$ (:mod:`gankit.theory.mutual_information`), chosen by
``meg.entropy``: ``jsd`` (the paper's, a statistics network T(x, z)) or ``encoder`` (InfoGAN's
bound, an encoder E(x) -> z). $\lambda$ is ``meg.gp_weight``, $w$ ``meg.entropy_weight``.

The penalty is the squared norm of the whole input gradient of each example: the reference code
takes ``norm(2, dim=1)`` of an image gradient [N, C, H, W], a norm over channels only, averaged
over the H x W pixels, i.e. a penalty H * W times weaker than the paper's on images.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config, ModelConfig
from gankit.data.spec import DataSpec
from gankit.errors import ConfigError
from gankit.losses.penalties import gradient_norm_penalty
from gankit.models import DISCRIMINATORS, GENERATORS, build_part, check_part
from gankit.models.heads import JointCritic, WithHeads, feature_width
from gankit.recipes.base import (
    RECIPES,
    OptimizerSpec,
    Phase,
    PhaseOutput,
    StepContext,
    TwoPlayerRecipe,
)
from gankit.registry import Registry
from gankit.theory.mutual_information import gaussian_encoder_bound, jsd_mutual_information

# lambda of the paper's experiments: 10 on images, 0.1 on the 2-D toy sets (Sec. 5).
IMAGE_GP_WEIGHT, POINTS_GP_WEIGHT = 10.0, 0.1


class EntropyEstimator(ABC):
    """An estimate of H[p_G] as I(G(z); z) (:mod:`gankit.theory.mutual_information`) by a network of
    its own, which G's optimizer trains with G; chosen by ``meg.entropy``."""

    network: ClassVar[str]  # the estimator's network, as named in the recipe's ``nets``

    @abstractmethod
    def build(self, model: ModelConfig, shape: tuple[int, ...]) -> nn.Module:
        """The network for data of one example's ``shape``, on a trunk built like D (an MLP for
        points, DCGAN convolutions for images) with weights of its own."""

    @abstractmethod
    def estimate(self, net: nn.Module, z: Tensor, fake: Tensor, ctx: StepContext) -> Tensor:
        """The estimate (a scalar) on a batch of latents z [N, d] and their G(z)."""


ENTROPY_ESTIMATORS: Registry[type[EntropyEstimator]] = Registry(
    "entropy estimator", group="gankit.entropy_estimators")
"""MEG's estimators of G's entropy, by the name ``meg.entropy`` gives; another package adds
one through the entry point group ``gankit.entropy_estimators``."""


@ENTROPY_ESTIMATORS.register("jsd")
class JSDEstimator(EntropyEstimator):
    """Deep InfoMax's JSD bound with a statistics network T(x, z), the paper's."""

    network = "T"

    def build(self, model: ModelConfig, shape: tuple[int, ...]) -> nn.Module:
        trunk = build_part(DISCRIMINATORS, model, "discriminator", shape)
        return JointCritic(trunk, feature_width(trunk, shape), model.latent_dim, model.d_hidden)

    def estimate(self, net: nn.Module, z: Tensor, fake: Tensor, ctx: StepContext) -> Tensor:
        """Each x is paired with the z of another example (the marginal pairs): the batch's z
        rolled by a random nonzero shift, drawn from the run's generator. A permutation would
        leave about one x with its own z, a joint pair counted as a marginal one."""
        # Under torchrun z is this process's shard: every process draws a shift for its own
        # shard's size from the one stream, so the streams stay in step.
        g = ctx.rng
        shift = int(torch.randint(1, max(len(z), 2), (1,), generator=g, device=g.device))
        t_joint, t_marginal = net.scores(fake, z, z.roll(shift, 0))  # [N], [N]
        return jsd_mutual_information(t_joint, t_marginal)


@ENTROPY_ESTIMATORS.register("encoder")
class EncoderEstimator(EntropyEstimator):
    """InfoGAN's bound with an encoder E(x) -> z_hat (a Gaussian of unit variance around it)."""

    network = "E"

    def build(self, model: ModelConfig, shape: tuple[int, ...]) -> nn.Module:
        trunk = build_part(DISCRIMINATORS, model, "discriminator", shape)
        return WithHeads(trunk, {"z": nn.Linear(feature_width(trunk, shape), model.latent_dim)})

    def estimate(self, net: nn.Module, z: Tensor, fake: Tensor, ctx: StepContext) -> Tensor:
        return gaussian_encoder_bound(z, net(fake).heads["z"].float())


@dataclass
class MEGOptions:
    """The ``meg:`` section of a config."""

    entropy: str = "jsd"  # the estimator of H[p_G]: jsd (Deep InfoMax's, the paper's) | encoder
    entropy_weight: float = 1.0  # w, the weight of -H in G's loss (1 in the paper's code)
    # lambda of the score penalty on real data; None: 10 for images, 0.1 for points (the paper's)
    gp_weight: float | None = None

    def check(self) -> None:
        if self.entropy not in ENTROPY_ESTIMATORS:
            raise ConfigError(f"meg.entropy must be one of "
                              f"{', '.join(ENTROPY_ESTIMATORS.names())}, got {self.entropy!r}")
        for key in ("entropy_weight", "gp_weight"):
            if (value := getattr(self, key)) is not None and value < 0:
                raise ConfigError(f"meg.{key} must be >= 0, got {value}")


def default_gp_weight(shape: tuple[int, ...]) -> float:
    """The paper's lambda for data of one example's ``shape``: images are [C, H, W]."""
    return IMAGE_GP_WEIGHT if len(shape) == 3 else POINTS_GP_WEIGHT


@RECIPES.register("meg")
class MEG(TwoPlayerRecipe):
    """n_critic energy phases, then one phase of G with its entropy estimator (TwoPlayerRecipe:
    the phases, the N(0, I) prior and decode)."""

    Options = MEGOptions
    headline = ("d_loss", "g_energy", "entropy")
    augments = True

    @classmethod
    def data_defaults(cls, options: MEGOptions, data_facts: dict[str, Any]) -> dict[str, Any]:
        """The paper's lambda for images or points, where the data set says which it holds."""
        if options.gp_weight is not None or "images" not in data_facts:
            return {}
        return {"gp_weight": IMAGE_GP_WEIGHT if data_facts["images"] else POINTS_GP_WEIGHT}

    # U is one energy per example with its own penalty (meg.gp_weight), and G's loss is fixed:
    # the GAN losses, their penalties and batch-coupled layers are not read.
    UNUSED = {
        "loss.name": "non-saturating", "loss.gp_weight": None, "loss.clip": None,
        "loss.r1_weight": 0.0, "loss.r2_weight": 0.0, "loss.real_label": 1.0,
        "loss.feature_matching": 0.0, "loss.pull_away": 0.0, "model.pack": 1,
        "model.minibatch_discrimination": 0, "model.minibatch_stddev": False,
        "train.reuse_fake": False, "augment.ada": False,
    }
    UNUSED_WHY = ("its D is a per-example energy with its own penalty, meg.gp_weight, and G "
                  "minimizes the energy minus an entropy estimate")

    @classmethod
    def check_config(cls, config: Config) -> None:
        """Batch norm would couple each energy to the rest of the batch."""
        if config.model.d_norm == "batch":
            raise ConfigError("recipe meg needs model.d_norm 'none' or 'layer', got 'batch': batch "
                              "norm makes each energy U(x), and its gradient penalty, depend on "
                              "the rest of the batch")
        check_part(DISCRIMINATORS, config.model, "discriminator")  # a bad name: one line now

    def __init__(self, config: Config, spec: DataSpec) -> None:
        super().__init__(config)
        options = config.options
        self.entropy_weight = options.entropy_weight
        self.gp_weight = (default_gp_weight(spec.shape) if options.gp_weight is None
                          else options.gp_weight)  # lambda
        self.estimator = ENTROPY_ESTIMATORS[options.entropy]()
        self.nets = nn.ModuleDict({
            "G": build_part(GENERATORS, config.model, "generator", spec.shape),
            "D": build_part(DISCRIMINATORS, config.model, "discriminator", spec.shape),
            self.estimator.network: self.estimator.build(config.model, spec.shape),
        })
        self.keep_generator_average()
        self.keep_augmentation(config, spec.shape)

    def optimizers(self) -> dict[str, OptimizerSpec]:
        """G's optimizer also steps T (or E), as in the paper's code: both maximize the same
        estimate, so one loss serves both (T's gradient is scaled by entropy_weight)."""
        specs = super().optimizers()
        return {**specs, "g": replace(specs["g"], networks=("G", self.estimator.network))}

    def energy(self, x: Tensor) -> Tensor:
        """U(x) [N]: D's raw output."""
        return self.nets["D"](x).logits

    def entropy_estimate(self, z: Tensor, fake: Tensor, ctx: StepContext) -> Tensor:
        """H[p_G] estimated as I(G(z); z) on this batch, by the configured estimator."""
        return self.estimator.estimate(self.nets[self.estimator.network], z, fake, ctx)

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        z = ctx.draw(self.latent)  # [N, latent_dim]
        if phase.name == "d":
            real = ctx.real_batch()
            with torch.no_grad():
                fake = self.nets["G"](z)
            (real,), (fake,) = self.seen_by_d(ctx, real), self.seen_by_d(ctx, fake)
            u_real, u_fake = self.energy(real), self.energy(fake)  # [N], [N]
            score = gradient_norm_penalty(self.energy, real)  # E ||grad_x U(x)||^2, all dims
            return PhaseOutput({"d_loss": u_real.mean() - u_fake.mean(),
                                "d_gp": self.gp_weight * score},
                               {"energy_real": u_real.mean().detach(),
                                "energy_fake": u_fake.mean().detach(),
                                "score_norm2": score.detach()})
        fake = self.nets["G"](z)
        entropy = self.entropy_estimate(z, fake, ctx)
        return PhaseOutput({"g_energy": self.energy(*self.seen_by_d(ctx, fake)).mean(),
                            "g_entropy": -self.entropy_weight * entropy},
                           {"entropy": entropy.detach()})

    def landscape(self, x: Tensor) -> tuple[Tensor, str]:
        return self.energy(x), "energy U(x)"
