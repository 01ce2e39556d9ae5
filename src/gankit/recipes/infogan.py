r"""InfoGAN, Chen et al. 2016: codes that G must keep recoverable, found without labels.

G takes $[z, c]$ with codes $c$ drawn from their priors, and both players add
$-\lambda L_I(G, Q)$, $L_I = \mathbb E_{c, x \sim G(z, c)} \log Q(c \mid x) + H(c) \le I(c;
G(z, c))$ (eq. 4-6), to their losses: D's shared body with the Q head (:class:`QHead`,
Sec. 5: "Q and D share all convolutional layers") in the D phase on detached fakes, G in the G
phase, as openai/InfoGAN does. Codes are recipe options: ``infogan.categorical`` (the class
counts of any number of Cat(K) codes, named cat0, cat1, ...) and ``infogan.continuous`` (how many
U(-1, 1) codes, cont0, ...), with the weights $\lambda$ of each kind. Q models a categorical code
by its logits and a continuous one by a Gaussian of unit variance
(:mod:`gankit.theory.mutual_information`). The MNIST setting of the reference code: noise U(-1, 1)
of
62 dimensions, one Cat(10), two U(-1, 1), lambda 1, G lr 1e-3, D lr 2e-4 (``presets/infogan``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gankit.configuration.reading import MAX_LIST
from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.data.transforms import random_similarity
from gankit.errors import ConfigError
from gankit.models.heads import mlp_head
from gankit.models.latent_layout import NOISES, Code
from gankit.recipes.base import RECIPES, PhaseOutput
from gankit.recipes.gan import GAN, DHead, Judged
from gankit.theory.mutual_information import categorical_code_bound, continuous_code_bound


@dataclass
class InfoGANOptions:
    """The ``infogan:`` section of a config."""

    categorical: tuple[int, ...] = (10,)  # K of each categorical code (MNIST: one Cat(10))
    continuous: int = 2  # how many U(-1, 1) codes (MNIST: two)
    categorical_weight: float = 1.0  # lambda of the categorical codes' L_I (1, Sec. 7)
    continuous_weight: float = 1.0  # lambda of the continuous codes' L_I
    noise: str = "uniform"  # the noise's prior: uniform U(-1, 1) (the reference) or normal
    # lambda of the categorical codes' L_I read from a randomly rotated, zoomed and shifted
    # G(z, c) (gankit.data.transforms); 0: the paper's InfoGAN. Images only.
    invariance_weight: float = 0.0

    def check(self) -> None:
        for i, classes in enumerate(self.categorical):
            if not 2 <= classes <= 2**16:
                raise ConfigError(f"infogan.categorical[{i}] must be in [2, 2^16] (classes of "
                                  f"a code), got {classes}")
        if not 0 <= self.continuous <= MAX_LIST:
            raise ConfigError(f"infogan.continuous must be in [0, {MAX_LIST}], "
                              f"got {self.continuous}")
        if not self.categorical and not self.continuous:
            raise ConfigError("infogan needs at least one code: infogan.categorical is empty and "
                              "infogan.continuous is 0")
        for key in ("categorical_weight", "continuous_weight", "invariance_weight"):
            if (value := getattr(self, key)) < 0:
                raise ConfigError(f"infogan.{key} must be >= 0, got {value}")
        if self.noise not in NOISES:
            raise ConfigError(f"infogan.noise must be one of {', '.join(NOISES)}, "
                              f"got {self.noise!r}")


class QHead(DHead):
    """Q(c | x) on D's features (``DOutput.heads["q"]``): the logits of each categorical code,
    then the mean of each continuous one; its terms are -lambda L_I for both players, and the
    invariance term where ``options.invariance_weight`` > 0."""

    def __init__(self, options: InfoGANOptions) -> None:
        self.options = options
        codes = [Code(f"cat{i}", k) for i, k in enumerate(options.categorical)]
        self.codes = (*codes, *(Code(f"cont{i}") for i in range(options.continuous)))

    def build(self, width: int) -> dict[str, nn.Module]:
        return {"q": mlp_head(width, sum(code.width for code in self.codes))}

    def information(self, q: Tensor, codes: dict[str, Tensor]) -> PhaseOutput:
        """-lambda L_I of the ``codes`` G was given from Q's outputs q, with the bound and the
        categorical codes' accuracy (Q's guess of the code G was given) as diagnostics."""
        start, total, bound, hits = 0, q.new_zeros(()), q.new_zeros(()), []
        for code in self.codes:
            part = q[:, start:start + code.width]
            start += code.width
            if code.categorical:
                term = categorical_code_bound(part, codes[code.name])
                total = total + self.options.categorical_weight * term
                hits.append((part.argmax(1) == codes[code.name]).float().mean())
            else:
                term = continuous_code_bound(part[:, 0], codes[code.name])
                total = total + self.options.continuous_weight * term
            bound = bound + term
        stats = {"info_bound": bound.detach()}
        if hits:
            stats["code_acc"] = torch.stack(hits).mean().detach()
        return PhaseOutput({"info": -total}, stats)

    def invariance(self, judged: Judged) -> Tensor:
        r"""$-\lambda_{inv} \sum_{cat} L_I$ of the categorical codes from Q's reading of a
        random rotation, zoom and shift of each G(z, c) (:func:`gankit.data.transforms.
        random_similarity`). The paper's term lets a code mean "slanted" as well as "a 7"; this
        one makes a categorical code pay for anything such a view destroys, so slant and size
        go to the noise and the continuous codes (which it leaves out: a rotation is what a
        continuous code may mean). After Elastic-InfoGAN (Ojha et al. 2020), which asks the
        same invariance of Q on real images."""
        q = judged.D(random_similarity(judged.fake)).heads["q"]
        start, total = 0, q.new_zeros((), dtype=torch.float32)
        for code in self.codes:
            if code.categorical:
                total = total + categorical_code_bound(q[:, start:start + code.width],
                                                       judged.codes[code.name])
            start += code.width
        return -self.options.invariance_weight * total

    def d_terms(self, judged: Judged) -> PhaseOutput:
        # the fakes are detached: Q and D's body learn
        out = self.information(judged.out_fake.heads["q"], judged.codes)
        terms = {"d_info": out.terms["info"]}
        if self.options.invariance_weight > 0:
            terms["d_invariance"] = self.invariance(judged)
        return PhaseOutput(terms, out.stats)

    def g_terms(self, judged: Judged) -> PhaseOutput:
        out = self.information(judged.out_fake.heads["q"], judged.codes)
        terms = {"g_info": out.terms["info"]}
        if self.options.invariance_weight > 0:
            terms["g_invariance"] = self.invariance(judged)
        return PhaseOutput(terms)


@RECIPES.register("infogan")
class InfoGAN(GAN):
    """The unconditional GAN with the Q head, its codes drawn after the noise."""

    Options = InfoGANOptions
    headline = ("d_loss", "g_loss", "info_bound", "code_acc")
    UNUSED = {"model.pack": 1}
    UNUSED_WHY = "it reads each sample's codes back from it, so samples are not packed"

    def __init__(self, config: Config, spec: DataSpec) -> None:
        options = config.options
        if options.invariance_weight > 0 and len(spec.shape) != 3:
            raise ConfigError(f"infogan.invariance_weight rotates and zooms images; data "
                              f"{config.data.name} has examples of shape {tuple(spec.shape)}")
        super().__init__(config, spec, heads=[QHead(options)], noise=options.noise)

    def infer_codes(self, x: Tensor, discriminator: nn.Module | None = None
                    ) -> dict[str, Tensor]:
        """Q's reading of examples x [N, ...]: the most likely value [N] of each categorical
        code, the mean [N] of each continuous one (an unsupervised classifier of real data).
        ``discriminator``: another copy of D to read with (e.g. with its batch-norm statistics
        recomputed on real data); D itself by default."""
        q = (discriminator or self.nets["D"])(x).heads["q"].float()
        return self.layout.values(torch.cat([q.new_zeros(len(q), self.layout.noise_dim), q], 1))
