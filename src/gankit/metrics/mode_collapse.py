r"""Mode-collapse metrics on Gaussian-mixture toy data (2D ring, 2D grid, ...).

The three metrics of PacGAN (Lin et al. 2018, synthetic-data experiments, Table 1), which
follow VEEGAN (Srivastava et al. 2017, mixture-of-Gaussians experiments), for generated samples
x_1..x_N and a mixture of K isotropic Gaussians with means mu_1..mu_K and common standard
deviation sigma:

- each sample is assigned to its nearest mode, :math:`k(x) = \arg\min_k \|x - \mu_k\|_2`, and is
  *high quality* if :math:`\|x - \mu_{k(x)}\|_2 \le 3\sigma`;
- ``modes``: the number of modes with at least one high-quality sample assigned;
- ``high_quality``: the percentage (0-100) of samples that are high quality;
- ``reverse_kl``: :math:`\mathrm{KL}(p_{gen} \,\|\, u)`, where :math:`p_{gen}` is the normalized
  histogram of the nearest modes of the *high-quality* samples and u is uniform over the K modes
  (the true mixtures are uniform). It equals :math:`\log K - H(p_{gen})`: 0 for a perfectly
  balanced generator, :math:`\log(K / m)` for one spread evenly over m modes.

What is implemented where the papers leave room:

- Only high-quality samples enter :math:`p_{gen}`, as in the authors' released evaluation code
  (github.com/fjxmlzn/PacGAN, ``MetricLogger``, which histograms the samples within the threshold).
- The threshold is inclusive (``<= 3 sigma``); that code uses a strict ``<``. The two differ only
  on a set of probability zero.
- With no high-quality sample, :math:`p_{gen}` is undefined (0/0) and ``reverse_kl`` is
  ``math.inf``: such a generator is worse than any that hits a mode, and log K (the value for a
  generator collapsed on one mode) would rank it as merely collapsed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist

from gankit.metrics.arrays import as_matrix, to_numpy
from gankit.theory.divergences import kl, wasserstein1

HIGH_QUALITY_STDS = 3.0  # "within three standard deviations" (VEEGAN; PacGAN)


def _validated(samples: Any, modes: Any, std: float) -> tuple[np.ndarray, np.ndarray]:
    x = as_matrix(samples, "samples")
    mu = as_matrix(modes, "modes")
    if x.shape[1] != mu.shape[1]:
        raise ValueError(
            f"samples have dimension {x.shape[1]} and modes {mu.shape[1]}; they must match"
        )
    if not (math.isfinite(std) and std > 0):
        raise ValueError(f"std is {std}; it must be a finite number > 0")
    return x, mu


def assign_modes(samples: Any, modes: Any, std: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest mode of each sample and whether it is high quality (VEEGAN; PacGAN Table 1).

    Args:
        samples: generated points [N, d] (numpy, torch or nested lists).
        modes: mixture means [K, d].
        std: standard deviation sigma of each (isotropic) mixture component.

    Returns:
        ``nearest`` int array [N], index of the mode closest in Euclidean distance (ties go to
        the lower index), and ``high_quality`` bool array [N], distance to it <= 3 * std.
    """
    x, mu = _validated(samples, modes, std)
    dist = cdist(x, mu)  # [N, K], Euclidean
    nearest = np.argmin(dist, axis=1)
    nearest_dist = dist[np.arange(len(x)), nearest]
    return nearest, nearest_dist <= HIGH_QUALITY_STDS * std


MODE_METRICS = ("modes", "high_quality", "reverse_kl")  # the keys of mode_metrics


def mode_metrics(samples: Any, modes: Any, std: float) -> dict[str, float]:
    """Modes captured, % high-quality samples and reverse KL (Lin et al. 2018, Table 1).

    Returns ``{"modes": int, "high_quality": float in [0, 100], "reverse_kl": float}``; see the
    module docstring for the exact definitions, including ``reverse_kl = inf`` when no sample is
    high quality.
    """
    nearest, high_quality = assign_modes(samples, modes, std)
    n_modes = to_numpy(modes).shape[0]
    counts = np.bincount(nearest[high_quality], minlength=n_modes)  # [K]
    if counts.sum() == 0:
        reverse_kl = math.inf
    else:
        reverse_kl = kl(counts, np.full(n_modes, 1.0 / n_modes))
    return {
        "modes": int(np.count_nonzero(counts)),
        "high_quality": 100.0 * float(np.mean(high_quality)),
        "reverse_kl": reverse_kl,
    }


def toy_metrics(samples: Any, real_samples: Any, modes: Any, std: float) -> dict[str, float]:
    """`mode_metrics` plus ``w1``, the exact Wasserstein-1 distance to ``real_samples`` [M, d]."""
    metrics = mode_metrics(samples, modes, std)
    metrics["w1"] = wasserstein1(samples, real_samples)
    return metrics
