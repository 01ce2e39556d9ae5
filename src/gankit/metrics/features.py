r"""Distances between two sets of feature vectors (real vs generated), for any feature extractor.

- :func:`fid` (:func:`frechet_distance` of fitted Gaussians), Heusel et al. 2017, eq. 6:
  $\lVert\mu_1-\mu_2\rVert^2 + \mathrm{tr}(\Sigma_1+\Sigma_2-2(\Sigma_1\Sigma_2)^{1/2})$.
- :func:`kid`, Binkowski et al. 2018, Sec. 4: unbiased MMD^2 with the kernel
  $k(x,y) = (x^\top y / d + 1)^3$, averaged over random subsets.
- :func:`precision_recall`, Kynkaanniemi et al. 2019, eq. 1-2: the share of fakes inside the
  real k-NN manifold, and of reals inside the fake one.
- :func:`density_coverage`, Naeem et al. 2020, eq. 3-4: how many real k-NN balls hold each
  fake; the share of real balls that hold a fake.

Inputs are arrays [N, D] (numpy or torch); everything is computed in float64 numpy.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from gankit.divergences import to_numpy


def _features(x: object, name: str) -> np.ndarray:
    a = to_numpy(x)
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(f"{name} must be [N, D] with N >= 2, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} holds NaN or inf")
    return a


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Squared Frechet (W2) distance of two Gaussians.

    tr((S1 S2)^(1/2)) is the sum of the square roots of the eigenvalues of S1^(1/2) S2 S1^(1/2),
    a symmetric PSD matrix, so only symmetric eigendecompositions are needed (no sqrtm of a
    non-symmetric product, whose imaginary round-off other implementations have to discard).
    """
    values, vectors = np.linalg.eigh(sigma1)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T  # S1^(1/2)
    middle = root1 @ sigma2 @ root1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root)


def fid(real: object, fake: object) -> float:
    """Frechet distance between Gaussians fitted to the two feature sets (FID for Inception
    features; with other extractors the same formula, a different scale)."""
    a, b = _features(real, "real"), _features(fake, "fake")
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def kid(real: object, fake: object, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std over ``subsets`` random subsets of the unbiased
    MMD^2 estimate. Subsets shrink to the smaller set's size, so small sample counts work."""
    a, b = _features(real, "real"), _features(fake, "fake")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: real {a.shape[1]}, fake {b.shape[1]}")
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    estimates = [_mmd2_unbiased(a[rng.choice(len(a), m, replace=False)],
                                b[rng.choice(len(b), m, replace=False)]) for _ in range(subsets)]
    return float(np.mean(estimates)), float(np.std(estimates))


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    k_xx, k_yy, k_xy = ((u @ v.T / d + 1) ** 3 for u, v in ((x, x), (y, y), (x, y)))
    m = len(x)
    off = m * (m - 1)
    return float((k_xx.sum() - np.trace(k_xx)) / off + (k_yy.sum() - np.trace(k_yy)) / off
                 - 2 * k_xy.mean())


def _knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    if not 1 <= k < len(x):
        raise ValueError(f"k must be in [1, {len(x) - 1}] for {len(x)} points, got {k}")
    return np.sort(cdist(x, x), axis=1)[:, k]


def precision_recall(real: object, fake: object, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019): a sample is inside a set's
    manifold if it lies within the k-NN radius of at least one of the set's points."""
    a, b = _features(real, "real"), _features(fake, "fake")
    radii_real, radii_fake = _knn_radii(a, k), _knn_radii(b, k)
    d = cdist(a, b)  # [N_real, N_fake]
    precision = (d <= radii_real[:, None]).any(axis=0).mean()
    recall = (d <= radii_fake[None, :]).any(axis=1).mean()
    return {"precision": float(precision), "recall": float(recall)}


def density_coverage(real: object, fake: object, k: int = 5) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020): density counts, per fake, the real k-NN balls
    that hold it (divided by k; 1 on average when the distributions match, not capped);
    coverage is the share of real balls that hold at least one fake."""
    a, b = _features(real, "real"), _features(fake, "fake")
    inside = cdist(a, b) <= _knn_radii(a, k)[:, None]  # [N_real, N_fake]
    return {"density": float(inside.sum() / (k * len(b))),
            "coverage": float(inside.any(axis=1).mean())}
