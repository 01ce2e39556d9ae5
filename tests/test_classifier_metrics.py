"""Classifier-based scores and the memorization check on hand-built inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gankit.metrics.classifier import classifier_score, label_histogram_kl, stacked_mnist_modes
from gankit.metrics.memorization import nearest_neighbour_check


def test_classifier_score_extremes():
    confident_balanced = np.eye(10)[np.arange(1000) % 10]  # one-hot, every class equally often
    assert classifier_score(confident_balanced, splits=10)[0] == pytest.approx(10.0)
    unsure = np.full((100, 10), 0.1)
    assert classifier_score(unsure, splits=5)[0] == pytest.approx(1.0)
    collapsed = np.eye(10)[np.zeros(100, dtype=int)]  # confident, one class only
    assert classifier_score(collapsed, splits=2)[0] == pytest.approx(1.0)


def test_classifier_score_by_hand():
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    marginal = probs.mean(0)
    expected = math.exp(np.mean([sum(p * math.log(p / m) for p, m in zip(row, marginal,
                                                                          strict=True))
                                 for row in probs]))
    assert classifier_score(probs, splits=1) == (pytest.approx(expected), 0.0)


def test_label_histogram_kl():
    assert label_histogram_kl([0, 1, 2, 3] * 5, 4) == pytest.approx(0.0)
    assert label_histogram_kl([1] * 7, 4) == pytest.approx(math.log(4))


def test_stacked_mnist_modes():
    rng = np.random.default_rng(0)
    every_mode = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    full = stacked_mnist_modes(np.concatenate([every_mode] * 26))
    assert full == {"modes": 1000, "reverse_kl": pytest.approx(0.0, abs=1e-12),
                    "channel_kl": pytest.approx(0.0, abs=1e-12)}
    only_99 = stacked_mnist_modes(every_mode[rng.choice(1000, 99, replace=False)])
    assert only_99["modes"] == 99
    assert only_99["reverse_kl"] == pytest.approx(math.log(1000 / 99))


def test_stacked_channel_kl_is_the_digit_histograms_part_of_the_kl():
    """KL(triples || U) = sum of the channels' KLs + their total correlation: equal for
    channels drawn independently (an exact product histogram), larger when they depend."""
    p = np.array([3, 1, 1, 1, 1, 1, 1, 1, 1, 1])  # digit 0 drawn three times as often
    every_mode = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    weights = p[every_mode[:, 0]] * p[every_mode[:, 1]] * p[every_mode[:, 2]]
    independent = stacked_mnist_modes(np.repeat(every_mode, weights, axis=0))
    one_channel = float(np.sum(p / p.sum() * np.log(p / p.sum() * 10)))  # KL(p || U_10)
    assert independent["channel_kl"] == pytest.approx(3 * one_channel, rel=1e-12)
    assert independent["reverse_kl"] == pytest.approx(3 * one_channel, rel=1e-12)
    copies = stacked_mnist_modes(np.repeat(np.arange(10), 3).reshape(10, 3))  # d1 = d2 = d3
    assert copies["channel_kl"] == pytest.approx(0.0, abs=1e-12)
    assert copies["reverse_kl"] == pytest.approx(math.log(100))  # 10 of 1,000 cells


def test_labels_out_of_range_are_clear_errors():
    with pytest.raises(ValueError, match=r"integers in \[0, 10\)"):
        stacked_mnist_modes([[0, 1, 10]])
    with pytest.raises(ValueError, match="rows summing to 1"):
        classifier_score(np.ones((4, 3)))


def test_memorization_check_tells_copies_from_fresh_samples():
    rng = np.random.default_rng(1)
    train, held_out = rng.normal(size=(500, 5)), rng.normal(size=(200, 5))
    fresh = nearest_neighbour_check(rng.normal(size=(200, 5)), train, held_out)
    copies = nearest_neighbour_check(train[:200] + 1e-4, train, held_out)
    assert 0.8 < fresh["ratio"] < 1.25 and fresh["near_copies"] < 0.05
    assert copies["ratio"] < 0.01 and copies["near_copies"] == 1.0


def test_nearest_distances_match_a_kd_tree():
    from scipy.spatial import cKDTree

    from gankit.metrics.memorization import _nearest_distances

    rng = np.random.default_rng(2)
    train, queries = rng.normal(size=(700, 6)), rng.normal(size=(300, 6))
    expected = cKDTree(train).query(queries)[0]
    got = _nearest_distances(torch.as_tensor(queries), torch.as_tensor(train), chunk=64)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9)
