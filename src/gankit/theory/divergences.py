r"""Divergences and distances between distributions, computed exactly from arrays.

Definitions (natural logarithm throughout):

- Kullback-Leibler divergence (Kullback & Leibler 1951), for discrete p, q:

  .. math:: \mathrm{KL}(p \,\|\, q) = \sum_i p_i \log \frac{p_i}{q_i},

  with :math:`0 \log(0/q) = 0` and :math:`\mathrm{KL} = \infty` if some :math:`q_i = 0 < p_i`.

- Jensen-Shannon divergence (Lin 1991, with weights 1/2), :math:`m = (p + q)/2`:

  .. math:: \mathrm{JS}(p, q) = \tfrac12 \mathrm{KL}(p \,\|\, m) + \tfrac12 \mathrm{KL}(q \,\|\, m)
            \in [0, \log 2].

- Wasserstein-1 (earth mover's) distance (Villani 2008, Def. 6.1; Arjovsky et al. 2017, eq. 1):

  .. math:: W_1(P, Q) = \inf_{\gamma \in \Pi(P, Q)} \mathbb{E}_{(x, y) \sim \gamma} \|x - y\|_2,

  here between weighted empirical distributions, where it is a finite linear program. In 1-D it
  has the closed form :math:`W_1 = \int_{\mathbb{R}} |F_P(t) - F_Q(t)| \, dt` (Vallender 1973),
  with F the cumulative distribution functions.

Why GANs care (Arjovsky et al. 2017, Example 1): when the supports of P and Q are disjoint,
JS(P, Q) = log 2 whatever the distance between them, so it gives a generator no signal to move
closer; W1 keeps measuring that distance (two parallel segments theta apart have W1 = |theta|).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from gankit.metrics.arrays import as_matrix, to_numpy

# Network-simplex iteration cap; POT's default (1e5) stops short of the optimum for
# 4,000 vs 4,000 points in 2-D.
EMD_MAX_ITER = 10_000_000
_EMD_OPTIMAL = 1  # POT's result code for an optimal solution


def _probabilities(p: Any, name: str) -> np.ndarray:
    """Validate non-negative finite weights and normalize them to sum 1 (like scipy's entropy)."""
    arr = to_numpy(p)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; a distribution needs at least one entry")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite entries (NaN or inf); entries must be finite")
    if arr.min() < 0:
        raise ValueError(
            f"{name} has negative entries (min {arr.min():.3g}); probabilities must be >= 0"
        )
    total = arr.sum()
    if total <= 0:
        raise ValueError(f"{name} sums to 0; at least one entry must be > 0")
    return arr / total


def _pair(p: Any, q: Any) -> tuple[np.ndarray, np.ndarray]:
    p_arr, q_arr = _probabilities(p, "p"), _probabilities(q, "q")
    if p_arr.shape != q_arr.shape:
        raise ValueError(
            f"p and q have shapes {p_arr.shape} and {q_arr.shape}; they must have the same shape"
        )
    return p_arr, q_arr


def _kl_normalized(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p||q) for normalized arrays; inf where q_i = 0 < p_i, terms with p_i = 0 are 0."""
    support = p > 0
    if np.any(q[support] == 0):
        return math.inf
    p_s, q_s = p[support], q[support]
    # log p - log q, not log(p / q): the ratio can overflow when q_i is tiny.
    value = float(np.sum(p_s * (np.log(p_s) - np.log(q_s))))
    return max(value, 0.0)  # KL >= 0 (Gibbs); clip rounding below 0


def kl(p: Any, q: Any) -> float:
    """Kullback-Leibler divergence KL(p||q) in nats (Kullback & Leibler 1951).

    ``p`` and ``q`` are array-likes (list, numpy, torch) of the same shape holding non-negative
    weights; each is normalized to sum 1 and treated as one distribution over all its entries.
    Returns ``math.inf`` where some q_i = 0 < p_i; entries with p_i = 0 contribute 0.
    Equals ``scipy.stats.entropy(p, q)`` for 1-D inputs.
    """
    p_arr, q_arr = _pair(p, q)
    return _kl_normalized(p_arr.ravel(), q_arr.ravel())


def _kl_to_midpoint(p: np.ndarray, both: np.ndarray) -> float:
    """KL(p || m) with m = both / 2, where both = p + q >= p; always finite."""
    # log m = log(p + q) - log 2: halving a subnormal p_i + q_i can round m_i to 0.
    support = p > 0
    p_s = p[support]
    return float(np.sum(p_s * (np.log(p_s) - np.log(both[support]) + math.log(2))))


def js(p: Any, q: Any) -> float:
    """Jensen-Shannon divergence in nats (Lin 1991, with weights pi_1 = pi_2 = 1/2).

    JS(p, q) = KL(p||m)/2 + KL(q||m)/2 with m = (p + q)/2, after normalizing p and q as in `kl`.
    Always finite and in [0, log 2]; equals log 2 exactly iff the supports are disjoint.
    Equals ``scipy.spatial.distance.jensenshannon(p, q) ** 2``.
    """
    p_arr, q_arr = _pair(p, q)
    p_arr, q_arr = p_arr.ravel(), q_arr.ravel()
    if not np.any((p_arr > 0) & (q_arr > 0)):
        # Disjoint supports: the value is log 2; return it exactly, not up to rounding.
        return math.log(2)
    both = p_arr + q_arr  # = 2m
    value = 0.5 * _kl_to_midpoint(p_arr, both) + 0.5 * _kl_to_midpoint(q_arr, both)
    return min(max(value, 0.0), math.log(2))


def _sample_weights(weights: Any | None, n: int, name: str) -> np.ndarray:
    """Uniform 1/n if None, else validated non-negative weights of length n, summing to 1."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = _probabilities(weights, name)
    if w.shape != (n,):
        raise ValueError(f"{name} has shape {w.shape}; expected ({n},), one weight per sample")
    return w


def _w1_1d(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """W1 in 1-D as the integral of |F_x - F_y| over the merged support (Vallender 1973)."""
    x_order, y_order = np.argsort(x), np.argsort(y)
    x_sorted, y_sorted = x[x_order], y[y_order]
    # cdf[k] = mass of the k smallest points, so cdf[searchsorted(., t, "right")] = F(t).
    x_cdf = np.concatenate([[0.0], np.cumsum(a[x_order])])
    y_cdf = np.concatenate([[0.0], np.cumsum(b[y_order])])
    knots = np.sort(np.concatenate([x, y]))  # both CDFs are constant between knots
    left = knots[:-1]
    f_x = x_cdf[np.searchsorted(x_sorted, left, side="right")]
    f_y = y_cdf[np.searchsorted(y_sorted, left, side="right")]
    return float(np.sum(np.abs(f_x - f_y) * np.diff(knots)))


def _w1_exact_ot(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """W1 in n-D by the exact network-simplex solver of POT (Bonneel et al. 2011)."""
    import ot  # 1.5 s to import (it loads scikit-learn): only where n-D W1 is computed

    # backend="scipy" computes the Euclidean cost with cdist directly; POT's default expands
    # ||x||^2 + ||y||^2 - 2<x, y>, which loses digits for far-from-origin points.
    cost = ot.dist(x, y, metric="euclidean", backend="scipy")  # [N, M]
    with warnings.catch_warnings():
        # POT only warns on a non-optimal solve; we raise instead, below.
        warnings.simplefilter("ignore", UserWarning)
        value, log = ot.emd2(a, b, cost, numItermax=EMD_MAX_ITER, log=True)
    if log["result_code"] != _EMD_OPTIMAL:
        raise RuntimeError(f"exact optimal transport failed for W1: {log['warning']}")
    return max(float(value), 0.0)


def wasserstein1(
    x: Any,
    y: Any,
    x_weights: Any | None = None,
    y_weights: Any | None = None,
) -> float:
    """Exact Wasserstein-1 distance between two weighted empirical distributions.

    W1 = min over couplings of E||x - y||_2 (Villani 2008, Def. 6.1; Arjovsky et al. 2017, eq. 1).

    Args:
        x: samples [N] or [N, d] (list, numpy or torch; tensors are detached and moved to CPU).
        y: samples [M] or [M, d], same d as ``x``.
        x_weights: non-negative weights [N], normalized to sum 1; uniform if None.
        y_weights: non-negative weights [M], normalized to sum 1; uniform if None.

    In 1-D (d = 1) the closed form integral of |F_x - F_y| is used, O((N + M) log(N + M)) and
    equal to ``scipy.stats.wasserstein_distance``. For d > 1 the linear program is solved exactly
    with ``ot.emd2`` on the Euclidean cost matrix, O(N M) memory; a few thousand points per side
    take seconds.
    """
    x_arr = as_matrix(x, "x", vector_as_column=True)  # [N, d]
    y_arr = as_matrix(y, "y", vector_as_column=True)  # [M, d]
    if x_arr.shape[1] != y_arr.shape[1]:
        raise ValueError(
            f"x has dimension {x_arr.shape[1]} and y has {y_arr.shape[1]}; they must match"
        )
    a = _sample_weights(x_weights, x_arr.shape[0], "x_weights")
    b = _sample_weights(y_weights, y_arr.shape[0], "y_weights")
    if x_arr.shape[1] == 1:
        return _w1_1d(x_arr[:, 0], y_arr[:, 0], a, b)
    return _w1_exact_ot(x_arr, y_arr, a, b)
