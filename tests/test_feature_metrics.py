"""FID, KID, precision/recall and density/coverage against independent computations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy.spatial.distance import cdist

from gankit.metrics import features
from gankit.metrics.features import (
    density_coverage,
    fid,
    frechet_distance,
    kid,
    precision_recall,
)


def test_frechet_distance_closed_form_for_diagonal_covariances():
    """Diagonal S: ||mu1 - mu2||^2 + sum (sqrt(s1) - sqrt(s2))^2."""
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(s1) - np.sqrt(s2)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)


def test_frechet_distance_against_scipy_sqrtm():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T + 0.1 * np.eye(6), b @ b.T + 0.1 * np.eye(6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real  # the usual FID code path, written here
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_fid_of_shifted_features_is_the_squared_shift():
    x = np.random.default_rng(1).normal(size=(500, 4))
    assert fid(x, x + np.array([3.0, 0, 0, 4.0])) == pytest.approx(25.0, rel=1e-9)


def mmd2_loops(x, y):
    """The unbiased estimator of Gretton et al. 2012, eq. 3, with explicit sums."""
    d = x.shape[1]

    def k(u, v):
        return (u @ v / d + 1) ** 3

    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_one_subset_of_everything_equals_the_double_sum():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(12, 3)), rng.normal(1.0, 1.0, size=(12, 3))
    mean, std = kid(x, y, subsets=1, subset_size=12)
    assert mean == pytest.approx(mmd2_loops(x, y), rel=1e-9) and std == 0.0


def test_kid_from_all_kernel_entries_equals_the_per_subset_loops(monkeypatch):
    """40 points, 20 subsets of 20: building the kernel matrices once is the cheaper path; its
    estimates are the double sums over the subsets that the same seed draws."""
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(40, 8)), rng.normal(0.5, 1.0, size=(40, 8))

    def refuse(*args):
        raise AssertionError("expected the kernel-matrix path for these sizes")

    monkeypatch.setattr(features, "_mmd2_unbiased", refuse)
    mean, std = kid(x, y, subsets=20, subset_size=20, seed=7)
    draws = np.random.default_rng(7)
    expected = [mmd2_loops(x[draws.choice(40, 20, replace=False)],
                           y[draws.choice(40, 20, replace=False)]) for _ in range(20)]
    assert mean == pytest.approx(np.mean(expected), rel=1e-9)
    assert std == pytest.approx(np.std(expected), rel=1e-9)


def test_kid_subset_estimates_agree_between_the_two_paths():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(90, 5)), rng.normal(0.3, 1.2, size=(70, 5))
    index_x = np.stack([rng.choice(90, 30, replace=False) for _ in range(6)])
    index_y = np.stack([rng.choice(70, 30, replace=False) for _ in range(6)])
    at_once = features._mmd2_subsets(x, y, index_x, index_y)
    one_by_one = [features._mmd2_unbiased(x[i], y[j]) for i, j in zip(index_x, index_y,
                                                                        strict=True)]
    np.testing.assert_allclose(at_once, one_by_one, rtol=1e-10)


def test_kid_is_near_zero_for_one_distribution_and_works_on_few_samples():
    rng = np.random.default_rng(3)
    same = kid(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)), subsets=20, subset_size=100)
    far = kid(rng.normal(size=(30, 8)), rng.normal(2.0, 1.0, size=(30, 8)), subsets=20)
    assert abs(same[0]) < 0.05 < far[0]


def test_precision_recall_extremes():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(200, 2))
    assert precision_recall(real, real.copy()) == {"precision": 1.0, "recall": 1.0}
    far = precision_recall(real, real + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0}
    # Fakes collapsed onto one real point: all precise, recall of a tiny ball only.
    collapsed = precision_recall(real, np.repeat(real[:1], 50, axis=0), k=3)
    assert collapsed["precision"] == 1.0 and collapsed["recall"] < 0.1


def test_precision_recall_by_hand_in_one_dimension():
    real = np.array([[0.0], [1.0], [2.0], [10.0]])  # 1-NN radii: 1, 1, 1, 8
    fake = np.array([[0.5], [3.5], [30.0]])  # 1-NN radii: 3, 3, 26.5
    # precision: 0.5 is in the ball of 0 (and 1); 3.5 is 1.5 from 2 (radius 1) and 6.5 from 10
    # (radius 8): inside; 30 is in none -> 2/3. recall: 0, 1, 2 are within 3 of 0.5 or 3.5;
    # 10 is 6.5 from 3.5 (radius 3) and 20 from 30 (radius 26.5): inside -> 4/4.
    assert precision_recall(real, fake, k=1) == {"precision": pytest.approx(2 / 3),
                                                 "recall": 1.0}


def test_precision_recall_match_a_loop_over_the_definition():
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(60, 3)), rng.normal(0.5, 1.2, size=(50, 3))
    k = 3

    def radius(points, i):  # distance to the k-th nearest other point
        return sorted(np.linalg.norm(points[i] - q) for j, q in enumerate(points) if j != i)[k - 1]

    def inside(x, points):
        return any(np.linalg.norm(x - p) <= radius(points, i) for i, p in enumerate(points))

    expected = {"precision": np.mean([inside(x, real) for x in fake]),
                "recall": np.mean([inside(x, fake) for x in real])}
    assert precision_recall(real, fake, k=k) == pytest.approx(expected)


def test_density_and_coverage_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [10.0]])  # 1-NN radii: 1, 1, 1, 8
    fake = np.array([[0.5], [20.0]])
    # 0.5 lies in the balls of 0, 1 (and of 10? |10-0.5| = 9.5 > 8: no) -> 2 balls; 20 in none.
    assert density_coverage(real, fake, k=1) == {"density": pytest.approx(2 / 2),
                                                 "coverage": pytest.approx(2 / 4)}


def test_density_and_coverage_match_a_loop_over_the_definition():
    rng = np.random.default_rng(9)
    real, fake = rng.normal(size=(60, 3)), rng.normal(0.5, 1.2, size=(50, 3))
    k = 5
    radii = np.sort(cdist(real, real), axis=1)[:, k]  # column 0: the point itself
    balls = [[np.linalg.norm(f - r) <= radius for f in fake]
             for r, radius in zip(real, radii, strict=True)]
    expected = {"density": sum(map(sum, balls)) / (k * len(fake)),
                "coverage": np.mean([any(row) for row in balls])}
    assert density_coverage(real, fake, k=k) == pytest.approx(expected)


def test_knn_radii_are_the_sorted_distances():
    x = np.random.default_rng(10).normal(size=(80, 6))
    expected = np.sort(cdist(x, x), axis=1)[:, 4]
    got = features._knn_radii(torch.from_numpy(x), 4).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_results_do_not_depend_on_the_block_size(monkeypatch):
    """Row blocks bound the memory; blocks of 1 to 3 rows give the same numbers."""
    rng = np.random.default_rng(11)
    real, fake = rng.normal(size=(70, 4)), rng.normal(0.3, 1.1, size=(60, 4))
    index_real = np.stack([rng.choice(70, 20, replace=False) for _ in range(5)])
    index_fake = np.stack([rng.choice(60, 20, replace=False) for _ in range(5)])

    def everything():
        return (precision_recall(real, fake), density_coverage(real, fake),
                features._mmd2_subsets(real, fake, index_real, index_fake))

    whole = everything()
    monkeypatch.setattr(features, "BLOCK_ENTRIES", 200)
    assert features._row_blocks(70, 70)[0] == slice(0, 2)
    blocked = everything()
    assert blocked[:2] == whole[:2]
    assert blocked[2] == pytest.approx(whole[2], rel=1e-10)


def test_bad_feature_arrays_are_clear_errors():
    with pytest.raises(ValueError, match=r"has shape \(5,\); expected \[N, d\] with N >= 2"):
        fid(np.zeros(5), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="k must be in"):
        precision_recall(np.zeros((3, 2)), np.zeros((3, 2)), k=5)
