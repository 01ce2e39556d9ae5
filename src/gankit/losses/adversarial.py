r"""Adversarial losses as pure functions of the discriminator's outputs.

Each loss maps D's raw outputs (logits for the probabilistic losses, critic scores otherwise) to a
scalar to *minimize*; none sees a model or an optimizer. Notation: $r = D(x)$ on real data,
$f = D(G(z))$ on generated data, both of shape [N]; $\sigma$ is the logistic sigmoid, so
$-\log\sigma(t) = \mathrm{softplus}(-t)$ and $-\log(1-\sigma(t)) = \mathrm{softplus}(t)$, which is
how the log-likelihood losses stay finite for any logit.

| name | D minimizes | G minimizes | source |
|---|---|---|---|
| minimax | $-\log\sigma(r) - \log(1-\sigma(f))$ | $\log(1-\sigma(f))$ | Goodfellow 2014, eq. 1 |
| non-saturating | same | $-\log\sigma(f)$ | Goodfellow et al. 2014, Sec. 3 |
| wgan / wgan-gp | $f - r$ | $-f$ | Arjovsky et al. 2017, eq. 3; Gulrajani et al. 2017, eq. 3 |
| lsgan | $\tfrac12(r-1)^2 + \tfrac12 f^2$ | $\tfrac12(f-1)^2$ | Mao 2017, eq. 2, a=0, b=c=1 |
| hinge | $\max(0, 1-r) + \max(0, 1+f)$ | $-f$ | Lim & Ye 2017; Miyato et al. 2018, eq. 16-17 |
| f-kl, f-reverse-kl, f-pearson, f-hellinger, f-js, f-gan | :class:`FGanLoss` | | Nowozin 2016 |

All are means over the batch. Each is a :class:`LossSpec` class registered where it is defined
(``@LOSSES.register("hinge")``); another package adds one through the entry point group
``gankit.losses`` (docs/extending.md).

The WGAN critic's Lipschitz constraint is not a loss term: weight clipping is applied by the
trainer after each critic step, and the gradient penalty lives in :mod:`gankit.losses.penalties`;
the
loss spec only carries their paper defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.registry import Registry

DLoss = Callable[[Tensor, Tensor], Tensor]
GLoss = Callable[[Tensor], Tensor]


class LossSpec:
    """One adversarial objective: the two player losses plus the paper's default constraints.

    A loss is a subclass registered by the name configs use (``loss.name``); the class itself is
    the entry, its attributes the spec (``LOSSES["hinge"].d_loss(d_real, d_fake)``)::

        @LOSSES.register("hinge")
        class Hinge(LossSpec):
            probabilistic = False
            d_loss = staticmethod(hinge_d_loss)
            g_loss = staticmethod(wasserstein_g_loss)
    """

    d_loss: ClassVar[DLoss]  # (d_real [N], d_fake [N]) -> scalar
    g_loss: ClassVar[GLoss]  # (d_fake [N]) -> scalar
    probabilistic: ClassVar[bool]  # True: D's output is a logit and sigmoid(D) is a probability
    # True: E[D(x)] - E[D(G(z))] is the critic's estimate of W1 (Kantorovich-Rubinstein duality)
    estimates_w1: ClassVar[bool] = False
    default_gp_weight: ClassVar[float] = 0.0
    default_clip: ClassVar[float] = 0.0


LOSSES: Registry[type[LossSpec]] = Registry("loss", package="gankit.losses",
                                            group="gankit.losses")


def bce_d_loss(d_real: Tensor, d_fake: Tensor, real_label: float = 1.0) -> Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))]: the negated value function V(D, G).

    ``real_label`` < 1 is one-sided label smoothing (Salimans et al. 2016, Sec. 3.4): real
    examples get the target a, i.e. -E[a log D(x) + (1 - a) log(1 - D(x))]; fakes keep 0.
    """
    real = real_label * F.softplus(-d_real) + (1 - real_label) * F.softplus(d_real)
    return real.mean() + F.softplus(d_fake).mean()


def minimax_g_loss(d_fake: Tensor) -> Tensor:
    """E[log(1 - D(G(z)))]; its gradient sigma(f) vanishes as D rejects the fakes (D -> 0)."""
    return -F.softplus(d_fake).mean()


def non_saturating_g_loss(d_fake: Tensor) -> Tensor:
    """-E[log D(G(z))]; gradient -(1 - sigma(f)) -> -1 where the minimax one vanishes."""
    return F.softplus(-d_fake).mean()


def wasserstein_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """E[D(G(z))] - E[D(x)]: minus the critic's estimate of W1 (Kantorovich-Rubinstein duality)."""
    return d_fake.mean() - d_real.mean()


def wasserstein_g_loss(d_fake: Tensor) -> Tensor:
    return -d_fake.mean()


def least_squares_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    return 0.5 * ((d_real - 1) ** 2).mean() + 0.5 * (d_fake**2).mean()


def least_squares_g_loss(d_fake: Tensor) -> Tensor:
    return 0.5 * ((d_fake - 1) ** 2).mean()


def hinge_d_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


@LOSSES.register("minimax")
class Minimax(LossSpec):
    """The original game, Goodfellow et al. 2014, eq. 1."""

    probabilistic = True
    d_loss = staticmethod(bce_d_loss)
    g_loss = staticmethod(minimax_g_loss)


@LOSSES.register("non-saturating")
class NonSaturating(Minimax):
    """G maximizes log D(G(z)) instead, Goodfellow et al. 2014, Sec. 3."""

    g_loss = staticmethod(non_saturating_g_loss)


@LOSSES.register("wgan")
class WGAN(LossSpec):
    """The Wasserstein critic with weight clipping, Arjovsky et al. 2017, eq. 3."""

    probabilistic = False
    estimates_w1 = True
    d_loss = staticmethod(wasserstein_d_loss)
    g_loss = staticmethod(wasserstein_g_loss)
    default_clip = 0.01  # c in Arjovsky et al. 2017, Alg. 1


@LOSSES.register("wgan-gp")
class WGANGP(WGAN):
    """The Wasserstein critic with a gradient penalty, Gulrajani et al. 2017, eq. 3."""

    default_clip = 0.0
    default_gp_weight = 10.0  # lambda in Gulrajani et al. 2017, Alg. 1


@LOSSES.register("lsgan")
class LSGAN(LossSpec):
    """Least squares, Mao et al. 2017, eq. 2 with a = 0, b = c = 1."""

    probabilistic = False
    d_loss = staticmethod(least_squares_d_loss)
    g_loss = staticmethod(least_squares_g_loss)


@LOSSES.register("hinge")
class Hinge(LossSpec):
    """Hinge D loss with G's Wasserstein loss, Lim & Ye 2017; Miyato et al. 2018, eq. 16-17."""

    probabilistic = False
    d_loss = staticmethod(hinge_d_loss)
    g_loss = staticmethod(wasserstein_g_loss)


@dataclass(frozen=True)
class FDivergence:
    r"""One f-GAN objective (Nowozin et al. 2016, Table 6): D's raw output v goes through the
    output activation $g_f$ into the domain of the conjugate $f^*$; ``conjugate_of_activation``
    is $f^*(g_f(v))$ written so that it stays finite. ``f`` and ``f_prime`` are the generator
    function and its derivative, kept for the checks (Fenchel-Young)."""

    activation: Callable[[Tensor], Tensor]  # g_f(v)
    conjugate_of_activation: Callable[[Tensor], Tensor]  # f*(g_f(v))
    conjugate: Callable[[Tensor], Tensor]  # f*(t) on its domain
    f: Callable[[Tensor], Tensor]
    f_prime: Callable[[Tensor], Tensor]


class FGanLoss(LossSpec):
    r"""D maximizes $\mathbb{E}_P[g_f(v)] - \mathbb{E}_Q[f^*(g_f(v))]$, a lower bound of
    $D_f(P \Vert Q)$ (Nowozin et al. 2016, eq. 6); G maximizes $\mathbb{E}_Q[g_f(v)]$, the
    non-saturating alternative of their Sec. 3.2. A subclass names its ``divergence``."""

    divergence: ClassVar[FDivergence]
    probabilistic = False

    @classmethod
    def d_loss(cls, d_real: Tensor, d_fake: Tensor) -> Tensor:
        return cls.divergence.conjugate_of_activation(d_fake).mean() - cls.divergence.activation(
            d_real).mean()

    @classmethod
    def g_loss(cls, d_fake: Tensor) -> Tensor:
        return -cls.divergence.activation(d_fake).mean()


LOG2 = math.log(2.0)


@LOSSES.register("f-kl")
class FKL(FGanLoss):
    """KL(P || Q)."""

    divergence = FDivergence(lambda v: v, lambda v: torch.exp(v - 1), lambda t: torch.exp(t - 1),
                             lambda u: u * torch.log(u), lambda u: 1 + torch.log(u))


@LOSSES.register("f-reverse-kl")
class FReverseKL(FGanLoss):
    """KL(Q || P)."""

    divergence = FDivergence(lambda v: -torch.exp(-v), lambda v: v - 1,
                             lambda t: -1 - torch.log(-t), lambda u: -torch.log(u),
                             lambda u: -1 / u)


@LOSSES.register("f-pearson")
class FPearson(FGanLoss):
    """Pearson chi^2."""

    divergence = FDivergence(lambda v: v, lambda v: v**2 / 4 + v, lambda t: t**2 / 4 + t,
                             lambda u: (u - 1) ** 2, lambda u: 2 * (u - 1))


@LOSSES.register("f-hellinger")
class FHellinger(FGanLoss):
    """Squared Hellinger distance."""

    divergence = FDivergence(lambda v: 1 - torch.exp(-v), torch.expm1, lambda t: t / (1 - t),
                             lambda u: (torch.sqrt(u) - 1) ** 2,
                             lambda u: 1 - 1 / torch.sqrt(u))


@LOSSES.register("f-js")
class FJS(FGanLoss):
    """Jensen-Shannon divergence."""

    divergence = FDivergence(lambda v: LOG2 - F.softplus(-v), lambda v: F.softplus(v) - LOG2,
                             lambda t: -torch.log(2 - torch.exp(t)),
                             lambda u: u * torch.log(u) - (u + 1) * torch.log((u + 1) / 2),
                             lambda u: torch.log(2 * u / (u + 1)))


@LOSSES.register("f-gan")
class FGAN(FGanLoss):
    """The GAN game's divergence, 2 JS - log 4."""

    divergence = FDivergence(lambda v: -F.softplus(-v), F.softplus,
                             lambda t: -torch.log(1 - torch.exp(t)),
                             lambda u: u * torch.log(u) - (u + 1) * torch.log(u + 1),
                             lambda u: torch.log(u / (u + 1)))


def feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    r"""$\lVert \mathbb{E}_x f(x) - \mathbb{E}_z f(G(z)) \rVert_2^2$ over D's last hidden layer f.

    G matches the statistics of real data instead of maximizing D's output (Salimans et al.
    2016, Sec. 3.1). Both inputs [N, F]; the real side carries no gradient.
    """
    return (real_features.detach().mean(0) - fake_features.mean(0)).pow(2).sum()


def pull_away_term(features: Tensor) -> Tensor:
    r"""EBGAN's repelling regularizer, Zhao et al. 2017, eq. 6.

    $f_{PT}(S) = \frac{1}{N(N-1)} \sum_i \sum_{j \ne i}
    (\frac{S_i^\top S_j}{\lVert S_i\rVert \lVert S_j\rVert})^2$ over a batch's features S [N, F]:
    squared cosine similarities, so rescaling any sample leaves it unchanged. It pushes generated
    samples apart, against mode collapse.
    """
    unit = features.flatten(1) / features.flatten(1).norm(dim=1, keepdim=True).clamp_min(1e-12)
    cosines = unit @ unit.T  # [N, N]
    n = features.shape[0]
    off_diagonal = cosines.pow(2).sum() - cosines.diagonal().pow(2).sum()
    return off_diagonal / (n * (n - 1))


def d_display(d_out: Tensor, spec: type[LossSpec]) -> Tensor:
    """D's output as shown to a person: sigmoid for logit losses, the raw score otherwise."""
    return torch.sigmoid(d_out) if spec.probabilistic else d_out


def class_loss(logits: Tensor, labels: Tensor) -> Tensor:
    r"""$-\mathbb E \log p(y \mid x)$ with $p = \mathrm{softmax}(\text{logits})$: an auxiliary
    classifier's loss (AC-GAN's $-L_C$, Odena et al. 2017, eq. 2). It takes the classifier's
    raw logits [N, K] and int labels [N]; feeding it probabilities instead (a softmax layer
    before cross-entropy, as the popular PyTorch-GAN AC-GAN did, its issue #141) applies the
    softmax twice and flattens the gradient to almost nothing."""
    return F.cross_entropy(logits.float(), labels.long())
