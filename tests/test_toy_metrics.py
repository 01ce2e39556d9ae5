"""Tests for gankit.metrics.mode_collapse on hand-built Gaussian-mixture cases."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import entropy

from gankit.metrics.mode_collapse import assign_modes, mode_metrics, toy_metrics
from gankit.theory.divergences import wasserstein1

pytestmark = pytest.mark.filterwarnings("error")

STD = 0.25  # a power of two, so mode + 3 * STD is exact in floating point


def ring(k=8, radius=2.0):
    angles = 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # [k, 2]


def grid(n=5, spacing=2.0):
    xs, ys = np.meshgrid(np.arange(n) * spacing, np.arange(n) * spacing, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)  # [n * n, 2]


def noisy_samples(modes, n, std, seed):
    rng = np.random.default_rng(seed)
    centers = modes[rng.integers(len(modes), size=n)]
    return centers + std * rng.normal(size=centers.shape)


# --- assign_modes ---------------------------------------------------------------------------


def test_assign_modes_nearest_and_quality():
    modes = ring()
    samples = np.concatenate([modes[[3, 0, 7]] + 0.1, [[0.0, 50.0]]])
    nearest, high_quality = assign_modes(samples, modes, STD)
    assert nearest.tolist() == [3, 0, 7, 2]  # (0, 50) is closest to the mode at (0, 2)
    assert high_quality.tolist() == [True, True, True, False]


def test_assign_modes_threshold_is_inclusive_at_three_std():
    modes = np.array([[2.0, 0.0], [-2.0, 0.0]])
    at = np.array([[2.0 + 3 * STD, 0.0]])  # 2.75, exact
    beyond = at * (1 + 1e-12)
    assert assign_modes(at, modes, STD)[1].tolist() == [True]
    assert assign_modes(beyond, modes, STD)[1].tolist() == [False]
    # The same along another direction, and for the other mode.
    assert assign_modes([[-2.0, -3 * STD]], modes, STD)[1].tolist() == [True]
    assert assign_modes([[-2.0, -3 * STD - 1e-9]], modes, STD)[1].tolist() == [False]


def test_assign_modes_is_permutation_equivariant():
    modes, samples = ring(), noisy_samples(ring(), 200, 0.5, seed=0)
    perm = np.random.default_rng(1).permutation(200)
    nearest, hq = assign_modes(samples, modes, STD)
    nearest_p, hq_p = assign_modes(samples[perm], modes, STD)
    np.testing.assert_array_equal(nearest_p, nearest[perm])
    np.testing.assert_array_equal(hq_p, hq[perm])


# --- mode_metrics ---------------------------------------------------------------------------


def test_samples_exactly_on_five_of_eight_modes():
    modes = ring(8)
    samples = np.repeat(modes[[0, 1, 3, 4, 6]], 4, axis=0)  # 20 samples, 4 per mode
    metrics = mode_metrics(samples, modes, STD)
    assert metrics["modes"] == 5
    assert metrics["high_quality"] == pytest.approx(100.0, abs=1e-12)
    # p_gen = 1/5 on five modes, u = 1/8: sum_5 (1/5) log((1/5) / (1/8)) = log(8/5).
    assert metrics["reverse_kl"] == pytest.approx(math.log(8 / 5), rel=1e-12)


def test_unbalanced_histogram_reverse_kl_by_hand():
    modes = np.array([[0.0, 0.0], [10.0, 0.0]])
    samples = modes[[0, 0, 0, 1]]  # p_gen = (3/4, 1/4), u = (1/2, 1/2)
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert mode_metrics(samples, modes, STD)["reverse_kl"] == pytest.approx(expected, rel=1e-12)


def test_balanced_over_all_modes_has_zero_reverse_kl():
    modes = grid(5)
    metrics = mode_metrics(np.repeat(modes, 3, axis=0), modes, STD)
    assert metrics["modes"] == 25
    assert metrics["high_quality"] == pytest.approx(100.0, abs=1e-12)
    assert metrics["reverse_kl"] == pytest.approx(0.0, abs=1e-15)


def test_samples_far_from_all_modes():
    modes = ring(8)
    samples = np.full((10, 2), 100.0)
    metrics = mode_metrics(samples, modes, STD)
    assert metrics["modes"] == 0
    assert metrics["high_quality"] == 0.0
    assert metrics["reverse_kl"] == math.inf


def test_low_quality_samples_do_not_enter_the_histogram():
    modes = ring(8)
    balanced = np.repeat(modes, 2, axis=0)  # 16 high-quality samples
    far = np.array([[0.0, 0.0]] * 4 + [[30.0, 0.0]] * 4)  # 8 samples nearest some mode, far off
    metrics = mode_metrics(np.concatenate([balanced, far]), modes, STD)
    assert metrics["modes"] == 8
    assert metrics["high_quality"] == pytest.approx(100.0 * 16 / 24, rel=1e-12)
    assert metrics["reverse_kl"] == pytest.approx(0.0, abs=1e-15)


def test_reverse_kl_is_log_k_minus_entropy_of_histogram():
    # Independent route: KL(p || uniform_K) = log K - H(p).
    modes = ring(8)
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(8))
    samples = modes[rng.choice(8, size=500, p=probs)] + 0.3 * rng.normal(size=(500, 2))
    nearest, hq = assign_modes(samples, modes, STD)
    counts = np.bincount(nearest[hq], minlength=8)
    expected = math.log(8) - entropy(counts)
    assert mode_metrics(samples, modes, STD)["reverse_kl"] == pytest.approx(expected, rel=1e-9)


def test_mode_metrics_invariant_to_sample_and_mode_order():
    modes, samples = grid(5), noisy_samples(grid(5), 300, 0.3, seed=3)
    rng = np.random.default_rng(4)
    base = mode_metrics(samples, modes, STD)
    shuffled = mode_metrics(samples[rng.permutation(300)], modes[rng.permutation(25)], STD)
    assert shuffled["modes"] == base["modes"]
    assert shuffled["high_quality"] == pytest.approx(base["high_quality"], rel=1e-12)
    assert shuffled["reverse_kl"] == pytest.approx(base["reverse_kl"], rel=1e-12)


def test_mode_metrics_accepts_torch():
    modes, samples = ring(), noisy_samples(ring(), 100, 0.2, seed=5)
    expected = mode_metrics(samples, modes, STD)
    got = mode_metrics(torch.tensor(samples, requires_grad=True), torch.tensor(modes), STD)
    assert got == expected


# --- toy_metrics ----------------------------------------------------------------------------


def test_toy_metrics_w1_of_sample_with_itself_is_zero():
    modes = ring()
    samples = noisy_samples(modes, 150, 0.05, seed=6)
    metrics = toy_metrics(samples, samples, modes, 0.05)
    assert set(metrics) == {"modes", "high_quality", "reverse_kl", "w1"}
    assert metrics["w1"] == pytest.approx(0.0, abs=1e-12)


def test_toy_metrics_adds_w1_to_mode_metrics():
    modes = ring()
    fake, real = noisy_samples(modes, 120, 0.1, seed=7), noisy_samples(modes, 100, 0.05, seed=8)
    metrics = toy_metrics(fake, real, modes, 0.05)
    assert metrics["w1"] == pytest.approx(wasserstein1(fake, real), rel=1e-12)
    assert {k: metrics[k] for k in ("modes", "high_quality", "reverse_kl")} == mode_metrics(
        fake, modes, 0.05
    )


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "modes", "std", "match"),
    [
        (np.zeros((4, 3)), ring(), STD, "dimension"),
        (np.zeros(4), ring(), STD, "samples has shape"),
        (np.zeros((0, 2)), ring(), STD, "samples has shape"),
        (np.zeros((4, 2)), np.zeros(2), STD, "modes has shape"),
        (np.array([[0.0, np.nan]]), ring(), STD, "samples has non-finite"),
        (np.zeros((4, 2)), ring(), 0.0, "std is 0.0"),
        (np.zeros((4, 2)), ring(), -1.0, "std is -1.0"),
        (np.zeros((4, 2)), ring(), float("nan"), "std is nan"),
    ],
)
def test_bad_input_raises(samples, modes, std, match):
    with pytest.raises(ValueError, match=match):
        mode_metrics(samples, modes, std)


def test_toy_metrics_rejects_real_samples_of_other_dimension():
    with pytest.raises(ValueError, match="dimension"):
        toy_metrics(ring(), np.zeros((5, 3)), ring(), STD)
