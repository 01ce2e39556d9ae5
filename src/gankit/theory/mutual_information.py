r"""Variational estimates of the mutual information I(X; Z) between samples x and the latents z
that made them: pure functions of network outputs, as :mod:`gankit.losses` are of D's.

For samples x = G(z), $I(X; Z) = H(X) - H(X \mid Z)$ and the conditional term does not depend
on a deterministic G's parameters (Kumar et al. 2019, "Maximum Entropy Generators for
Energy-Based Models", Sec. 3), so a G that maximizes one of these estimates maximizes its own
entropy: MEG's defence against mode collapse (:mod:`gankit.recipes.meg`). InfoGAN bounds the
information between a few codes c and G(z, c) the same way, with a Q head that reads c back
(:func:`categorical_code_bound`, :func:`continuous_code_bound`; :mod:`gankit.recipes.infogan`).

| code | symbol | meaning |
|---|---|---|
| ``t_joint`` | $T(x, z)$, $(x, z) \sim P_{XZ}$ | the statistics network on pairs (G(z), z) |
| ``t_marginal`` | $T(x, \tilde z)$, $\tilde z \sim P_Z$ | on pairs with z shuffled in the batch |
| ``z_hat`` | $\hat z = E(x)$ | an encoder's reconstruction of the latent |
| ``logits``, ``mean`` | $Q(c \mid x)$ | InfoGAN's Q: a Cat code's logits, a U(-1, 1) code's mean |
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor


def jsd_mutual_information(t_joint: Tensor, t_marginal: Tensor) -> Tensor:
    r"""The Jensen-Shannon estimator of Deep InfoMax (Hjelm et al. 2019, eq. 4):
    $\hat I_{JSD} = \mathbb{E}_{P_{XZ}}[-\mathrm{sp}(-T(x, z))]
    - \mathbb{E}_{P_X \otimes P_Z}[\mathrm{sp}(T(x, \tilde z))]$, sp the softplus.

    Maximized over T it is $2\,\mathrm{JSD}(P_{XZ} \,\|\, P_X \otimes P_Z) - 2\log 2$ (the
    discriminator objective of Goodfellow et al. 2014 between matched and shuffled pairs), so
    it lies in $[-2\log 2, 0]$: not an MI in nats but a divergence that grows with it and whose
    gradients are better behaved than the Donsker-Varadhan bound's (Hjelm et al. 2019, Sec. 3.1,
    the reason MEG uses it). ``t_joint`` [N], ``t_marginal`` [M] -> a scalar.
    """
    return -F.softplus(-t_joint).mean() - F.softplus(t_marginal).mean()


def gaussian_encoder_bound(z: Tensor, z_hat: Tensor) -> Tensor:
    r"""InfoGAN's variational lower bound with an encoder (Chen et al. 2016, Lemma 5.1; Barber
    & Agakov 2003): $I(X; Z) \ge H(Z) + \mathbb{E}\log q(z \mid x)$ with
    $q(z \mid x) = N(z; E(x), I)$ and $z \sim N(0, I_d)$, which is
    $d/2 - \mathbb{E}\lVert z - E(x)\rVert^2 / 2$ in nats ($H(Z) = \frac d2 \log 2\pi e$
    and the Gaussian's normalizer $\frac d2 \log 2\pi$ cancel to $d/2$).

    Maximizing it is minimizing the mean squared reconstruction error of z, for G and E alike.
    z, z_hat [N, d] -> a scalar. Tight only where q is the true posterior: on standard
    normals with correlation rho it is at best rho^2 / 2, below I = -log(1 - rho^2) / 2.
    """
    d = z[0].numel()
    squared_error = (z - z_hat).flatten(1).pow(2).sum(1).mean()  # E ||z - E(x)||^2
    return d / 2 - squared_error / 2



def categorical_code_bound(logits: Tensor, codes: Tensor) -> Tensor:
    r"""InfoGAN's $L_I$ for a categorical code $c \sim \mathrm{Cat}(K)$ (Chen et al. 2016,
    eq. 4): $\mathbb E \log Q(c \mid x) + H(c) = \log K - \mathrm{CE}(\text{logits}, c)$, a
    lower bound on $I(c; G(z, c))$ in nats, at most $\log K$. ``logits`` [N, K] are Q's raw
    outputs (softmax inside), ``codes`` [N] the drawn classes. The bound is a function of
    Q's output tensor itself: a copy rewrapped as a new tensor (TorchGAN's defect, its issue
    #100) would leave Q and G without a gradient."""
    return math.log(logits.shape[1]) - F.cross_entropy(logits.float(), codes.long())


def continuous_code_bound(mean: Tensor, codes: Tensor) -> Tensor:
    r"""$L_I$ for continuous codes $c \sim U(-1, 1)$ with a factored Gaussian
    $Q(c \mid x) = N(c; \mu(x), 1)$ (openai/InfoGAN's fixed standard deviation):
    $H(c) + \mathbb E \log Q = \log 2 - \tfrac12 \log 2\pi - \tfrac12 \mathbb E (c - \mu)^2$
    per code. ``mean`` and ``codes`` [N] or [N, k] (summed over the k codes)."""
    squared = (codes.float() - mean.float()).pow(2)
    per_code = math.log(2.0) - 0.5 * math.log(2 * math.pi) - 0.5 * squared
    return per_code.reshape(len(codes), -1).sum(1).mean()
