r"""Variational estimates of the mutual information I(X; Z) between samples x and the latents z
that made them: pure functions of network outputs, as :mod:`gankit.losses` are of D's.

For samples x = G(z), $I(X; Z) = H(X) - H(X \mid Z)$ and the conditional term does not depend
on a deterministic G's parameters (Kumar et al. 2019, "Maximum Entropy Generators for
Energy-Based Models", Sec. 3), so a G that maximizes one of these estimates maximizes its own
entropy: MEG's defence against mode collapse (:mod:`gankit.recipes.meg`).

| code | symbol | meaning |
|---|---|---|
| ``t_joint`` | $T(x, z)$, $(x, z) \sim P_{XZ}$ | the statistics network on pairs (G(z), z) |
| ``t_marginal`` | $T(x, \tilde z)$, $\tilde z \sim P_Z$ | on pairs with z shuffled in the batch |
| ``z_hat`` | $\hat z = E(x)$ | an encoder's reconstruction of the latent |
"""

from __future__ import annotations

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

