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

All are means over the batch. The WGAN critic's Lipschitz constraint is not a loss term: weight
clipping is applied by the trainer after each critic step, and the gradient penalty lives in
:mod:`gankit.penalties`; the loss spec only carries their paper defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.registry import Registry

DLoss = Callable[[Tensor, Tensor], Tensor]
GLoss = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class LossSpec:
    """One adversarial objective: the two player losses plus the paper's default constraints."""

    d_loss: DLoss  # (d_real [N], d_fake [N]) -> scalar
    g_loss: GLoss  # (d_fake [N]) -> scalar
    probabilistic: bool  # True: D's output is a logit and sigmoid(D) is a probability
    # True: E[D(x)] - E[D(G(z))] is the critic's estimate of W1 (Kantorovich-Rubinstein duality)
    estimates_w1: bool = False
    default_gp_weight: float = 0.0
    default_clip: float = 0.0


LOSSES: Registry[LossSpec] = Registry("loss")


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


LOSSES.register("minimax")(LossSpec(bce_d_loss, minimax_g_loss, probabilistic=True))
LOSSES.register("non-saturating")(LossSpec(bce_d_loss, non_saturating_g_loss, probabilistic=True))
LOSSES.register("wgan")(
    LossSpec(wasserstein_d_loss, wasserstein_g_loss, probabilistic=False, estimates_w1=True,
             default_clip=0.01)
)
LOSSES.register("wgan-gp")(
    LossSpec(wasserstein_d_loss, wasserstein_g_loss, probabilistic=False, estimates_w1=True,
             default_gp_weight=10.0)
)
LOSSES.register("lsgan")(
    LossSpec(least_squares_d_loss, least_squares_g_loss, probabilistic=False)
)
LOSSES.register("hinge")(LossSpec(hinge_d_loss, wasserstein_g_loss, probabilistic=False))


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


def d_display(d_out: Tensor, spec: LossSpec) -> Tensor:
    """D's output as shown to a person: sigmoid for logit losses, the raw score otherwise."""
    return torch.sigmoid(d_out) if spec.probabilistic else d_out
