r"""Distances between two sets of feature vectors (real vs generated), for any feature extractor.

- :func:`fid` (:func:`frechet_distance` of fitted Gaussians), Heusel et al. 2017, eq. 6:
  $\lVert\mu_1-\mu_2\rVert^2 + \mathrm{tr}(\Sigma_1+\Sigma_2-2(\Sigma_1\Sigma_2)^{1/2})$.
- :func:`kid`, Binkowski et al. 2018, Sec. 4: unbiased MMD^2 with the kernel
  $k(x,y) = (x^\top y / d + 1)^3$, averaged over random subsets.
- :func:`precision_recall`, Kynkaanniemi et al. 2019, eq. 1-2: the share of fakes inside the
  real k-NN manifold, and of reals inside the fake one.
- :func:`density_coverage`, Naeem et al. 2020, eq. 3-4: how many real k-NN balls hold each
  fake; the share of real balls that hold a fake.

Inputs are arrays [N, D] (numpy or torch); everything is computed in float64 (numpy, and torch
for the pairwise kernels and distances, which are built in row blocks of at most
:data:`BLOCK_ENTRIES` entries so that memory stays bounded for any N).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from gankit.metrics.arrays import as_matrix

BLOCK_ENTRIES = 1 << 22  # pairwise entries held at once: 32 MB of float64


def _feature_tensors(real: object, fake: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Both feature sets checked ([N, D], N >= 2, finite) as float64 tensors for the k-NN code."""
    return (torch.from_numpy(as_matrix(real, "real", min_rows=2)),
            torch.from_numpy(as_matrix(fake, "fake", min_rows=2)))


def _row_blocks(n_rows: int, n_cols: int) -> list[slice]:
    """Slices of rows such that [rows, n_cols] holds at most BLOCK_ENTRIES entries (>= 1 row)."""
    step = max(1, BLOCK_ENTRIES // max(n_cols, 1))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


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
    a, b = as_matrix(real, "real", min_rows=2), as_matrix(fake, "fake", min_rows=2)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def kid(real: object, fake: object, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: mean and std over ``subsets`` random subsets of the unbiased
    MMD^2 estimate. Subsets shrink to the smaller set's size, so small sample counts work.
    The value is raw MMD^2 (as torch-fidelity and StyleGAN2-ADA record it), not the x10^3
    that papers print; gankit's records and printouts keep it raw.

    The subsets of a seed are numpy's ``default_rng(seed)`` draws, real then fake for each
    subset. Each estimate comes from the kernel matrices of all samples (:func:`_mmd2_subsets`)
    when that is less work than one kernel matrix per subset (:func:`_mmd2_unbiased`, for
    large N); both give the same numbers to float rounding.
    """
    a, b = as_matrix(real, "real", min_rows=2), as_matrix(fake, "fake", min_rows=2)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: real {a.shape[1]}, fake {b.shape[1]}")
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    draws = [(rng.choice(len(a), m, replace=False), rng.choice(len(b), m, replace=False))
             for _ in range(subsets)]
    index_a, index_b = (np.stack(side) for side in zip(*draws, strict=True))  # [S, m] each
    # multiply-adds: every kernel entry once plus S quadratic forms, against S kernels of m^2
    all_pairs = len(a) ** 2 + len(b) ** 2 + len(a) * len(b)
    if all_pairs * (a.shape[1] + subsets) <= 3 * subsets * m * m * a.shape[1]:
        estimates = _mmd2_subsets(a, b, index_a, index_b)
    else:
        estimates = [_mmd2_unbiased(a[i], b[j]) for i, j in zip(index_a, index_b, strict=True)]
    return float(np.mean(estimates)), float(np.std(estimates))


def _kernel(u: Tensor | np.ndarray, v: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """KID's polynomial kernel (x.y / d + 1)^3 between the rows of u and v: [N_u, N_v]."""
    return (u @ v.T / u.shape[1] + 1) ** 3


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 of one subset pair (Gretton et al. 2012, eq. 3), the diagonal of the
    within-set kernels left out."""
    k_xx, k_yy, k_xy = _kernel(x, x), _kernel(y, y), _kernel(x, y)
    m = len(x)
    off = m * (m - 1)
    return float((k_xx.sum() - np.trace(k_xx)) / off + (k_yy.sum() - np.trace(k_yy)) / off
                 - 2 * k_xy.mean())


def _mmd2_subsets(x: np.ndarray, y: np.ndarray, index_x: np.ndarray,
                  index_y: np.ndarray) -> list[float]:
    """:func:`_mmd2_unbiased` of every subset pair (rows of ``index_x``, ``index_y`` [S, m]) at
    once. A subset's kernel sum is the quadratic form s^T K s of its 0/1 indicator s, so each
    kernel matrix is built once for all S subsets: N^2 (d + S) multiply-adds, not S m^2 d."""
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    s_x, s_y = _indicators(index_x, len(x)), _indicators(index_y, len(y))  # [S, N_x], [S, N_y]
    m = index_x.shape[1]
    off = m * (m - 1)
    within_x = (_kernel_sums(x, x, s_x, s_x) - s_x @ _kernel_diagonal(x)) / off
    within_y = (_kernel_sums(y, y, s_y, s_y) - s_y @ _kernel_diagonal(y)) / off
    between = _kernel_sums(x, y, s_x, s_y) / (m * m)
    return (within_x + within_y - 2 * between).tolist()


def _indicators(index: np.ndarray, n: int) -> Tensor:
    """Rows of distinct indices [S, m] -> 0/1 float64 indicators [S, n]."""
    s = torch.zeros(len(index), n, dtype=torch.float64)
    return s.scatter_(1, torch.from_numpy(index), 1.0)


def _kernel_sums(x: Tensor, y: Tensor, s_x: Tensor, s_y: Tensor) -> Tensor:
    """s_x[i]^T K(x, y) s_y[i] for every subset i: [S], the kernel built in row blocks."""
    total = torch.zeros(len(s_x), dtype=torch.float64)
    for rows in _row_blocks(len(x), len(y)):
        total += ((s_x[:, rows] @ _kernel(x[rows], y)) * s_y).sum(1)  # [S, N_y] -> [S]
    return total


def _kernel_diagonal(x: Tensor) -> Tensor:
    """k(x_i, x_i) for every row: [N]."""
    return (x.square().sum(1) / x.shape[1] + 1) ** 3


def _distance_blocks(x: Tensor, y: Tensor) -> Iterator[tuple[slice, Tensor]]:
    """Euclidean distances from blocks of x's rows to all of y: (rows, [B, N_y]). Beyond 25
    rows ``torch.cdist`` takes ||x||^2 - 2 x.y + ||y||^2 as a matrix product, 8x faster than
    coordinate differences (scipy's cdist) on 2,500 x 2,500 points in 128-d and off by ~1e-14,
    so only exact ties between a distance and a radius can compare differently."""
    for rows in _row_blocks(len(x), len(y)):
        yield rows, torch.cdist(x[rows], y)


def _knn_radii(x: Tensor, k: int) -> Tensor:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded:
    its own distance 0 is the first of the k + 1 smallest)."""
    if not 1 <= k < len(x):
        raise ValueError(f"k must be in [1, {len(x) - 1}] for {len(x)} points, got {k}")
    return torch.cat([d.topk(k + 1, dim=1, largest=False).values[:, k]
                      for _, d in _distance_blocks(x, x)])


def precision_recall(real: object, fake: object, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019): a sample is inside a set's
    manifold if it lies within the k-NN radius of at least one of the set's points."""
    a, b = _feature_tensors(real, fake)
    radii_real, radii_fake = _knn_radii(a, k), _knn_radii(b, k)
    fake_inside = torch.zeros(len(b), dtype=torch.bool)  # precision: in some real ball
    real_inside = torch.zeros(len(a), dtype=torch.bool)  # recall: in some fake ball
    for rows, d in _distance_blocks(a, b):  # [B, N_fake]
        fake_inside |= (d <= radii_real[rows, None]).any(0)
        real_inside[rows] = (d <= radii_fake[None, :]).any(1)
    return {"precision": fake_inside.double().mean().item(),
            "recall": real_inside.double().mean().item()}


def density_coverage(real: object, fake: object, k: int = 5) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020): density counts, per fake, the real k-NN balls
    that hold it (divided by k; 1 on average when the distributions match, not capped);
    coverage is the share of real balls that hold at least one fake."""
    a, b = _feature_tensors(real, fake)
    radii = _knn_radii(a, k)
    held, covered = 0, torch.zeros(len(a), dtype=torch.bool)
    for rows, d in _distance_blocks(a, b):
        inside = d <= radii[rows, None]  # [B, N_fake]: fake j in real ball i
        held += int(inside.sum())
        covered[rows] = inside.any(1)
    return {"density": held / (k * len(b)), "coverage": covered.double().mean().item()}
