"""Tests for gankit.theory.divergences against scipy, linear assignment and closed forms."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist, jensenshannon
from scipy.stats import entropy, wasserstein_distance

from gankit.theory import divergences
from gankit.theory.divergences import js, kl, wasserstein1

# Edge cases (q_i = 0, disjoint supports) must be handled explicitly, not via numpy warnings.
pytestmark = pytest.mark.filterwarnings("error")

LOG2 = math.log(2)

# --- strategies -----------------------------------------------------------------------------

# No subnormals: there scipy's own normalization underflows (e.g. its JS of p ~ q is inf).
weights = st.floats(0.0, 10.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def histogram_pairs(draw, min_size=1, max_size=12):
    """Two non-negative histograms of the same length, each with positive mass."""
    n = draw(st.integers(min_size, max_size))
    hist = arrays(np.float64, n, elements=weights).filter(lambda h: h.sum() > 0)
    return draw(hist), draw(hist)


def point_sets(n_max=6, dim=2):
    coords = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)
    return st.integers(1, n_max).flatmap(lambda n: arrays(np.float64, (n, dim), elements=coords))


# --- KL -------------------------------------------------------------------------------------


@given(histogram_pairs())
def test_kl_matches_scipy_entropy(pq):
    p, q = pq
    expected = entropy(p, q)
    if math.isinf(expected):
        assert kl(p, q) == math.inf
    else:
        assert kl(p, q) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@given(histogram_pairs())
def test_kl_nonnegative_and_zero_on_itself(pq):
    p, q = pq
    assert kl(p, q) >= 0.0
    assert kl(p, p) == 0.0


def test_kl_hand_computed():
    # p = (1/2, 1/2, 0), q = (1/4, 1/4, 1/2): the p_3 = 0 term is 0, the rest give log 2.
    assert kl([1, 1, 0], [1, 1, 2]) == pytest.approx(LOG2, rel=1e-12)
    assert kl([0.75, 0.25], [0.5, 0.5]) == pytest.approx(
        0.75 * math.log(1.5) + 0.25 * math.log(0.5), rel=1e-12
    )


def test_kl_is_inf_where_q_vanishes_under_p():
    assert kl([0.5, 0.5], [1.0, 0.0]) == math.inf
    # The converse direction is finite: p_i = 0 terms contribute nothing.
    assert kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(LOG2, rel=1e-12)


def test_kl_invariant_to_scale_and_input_type():
    p, q = np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 4.0])
    expected = entropy(p, q)
    assert kl(7.5 * p, 0.1 * q) == pytest.approx(expected, rel=1e-12)
    assert kl(p.tolist(), q.tolist()) == pytest.approx(expected, rel=1e-12)
    assert kl(torch.tensor(p, requires_grad=True), torch.tensor(q)) == pytest.approx(
        expected, rel=1e-12
    )


def test_kl_invariant_to_joint_permutation():
    rng = np.random.default_rng(0)
    p, q = rng.random(10), rng.random(10)
    perm = rng.permutation(10)
    assert kl(p[perm], q[perm]) == pytest.approx(kl(p, q), rel=1e-12)


def test_kl_multidimensional_histogram_is_one_distribution():
    rng = np.random.default_rng(1)
    p, q = rng.random((3, 4)), rng.random((3, 4))
    assert kl(p, q) == pytest.approx(entropy(p.ravel(), q.ravel()), rel=1e-12)


# --- JS -------------------------------------------------------------------------------------


@given(histogram_pairs())
def test_js_matches_scipy_jensenshannon_squared(pq):
    p, q = pq
    with np.errstate(invalid="ignore"):
        # scipy takes sqrt(JS / 2); for p ~ q its JS rounds to -1e-17 and the sqrt is NaN.
        expected = jensenshannon(p, q) ** 2
    expected = 0.0 if np.isnan(expected) else expected
    assert js(p, q) == pytest.approx(expected, rel=1e-7, abs=1e-12)


@given(histogram_pairs())
def test_js_symmetric_and_bounded(pq):
    p, q = pq
    value = js(p, q)
    assert 0.0 <= value <= LOG2
    assert js(q, p) == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert js(p, p) == pytest.approx(0.0, abs=1e-15)


def test_js_survives_subnormal_entries():
    # m_2 = (0 + 5e-324) / 2 rounds to 0; computing KL(q || m) from m would give inf.
    assert js([1.0, 0.0], [1.0, 5e-324]) == pytest.approx(0.0, abs=1e-300)


def test_js_hand_computed():
    # p = (1, 0), q = (1/2, 1/2), m = (3/4, 1/4).
    expected = 0.5 * math.log(1 / 0.75) + 0.5 * (
        0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)
    )
    assert js([1, 0], [0.5, 0.5]) == pytest.approx(expected, rel=1e-12)


# --- W1, 1-D --------------------------------------------------------------------------------


@given(
    arrays(np.float64, st.integers(1, 20), elements=st.floats(-100, 100)),
    arrays(np.float64, st.integers(1, 20), elements=st.floats(-100, 100)),
)
def test_w1_1d_matches_scipy(u, v):
    expected = wasserstein_distance(u, v)
    assert wasserstein1(u, v) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@given(st.data())
def test_w1_1d_weighted_matches_scipy(data):
    n, m = data.draw(st.integers(1, 15)), data.draw(st.integers(1, 15))
    u = data.draw(arrays(np.float64, n, elements=st.floats(-50, 50)))
    v = data.draw(arrays(np.float64, m, elements=st.floats(-50, 50)))
    wu = data.draw(arrays(np.float64, n, elements=weights).filter(lambda w: w.sum() > 0))
    wv = data.draw(arrays(np.float64, m, elements=weights).filter(lambda w: w.sum() > 0))
    expected = wasserstein_distance(u, v, wu, wv)
    assert wasserstein1(u, v, wu, wv) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_w1_1d_column_vectors_and_torch_agree_with_flat():
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=50), rng.normal(1.0, 2.0, size=70)
    expected = wasserstein_distance(u, v)
    assert wasserstein1(u[:, None], v[:, None]) == pytest.approx(expected, rel=1e-12)
    tu = torch.tensor(u, dtype=torch.float32, requires_grad=True)
    assert wasserstein1(tu, torch.tensor(v)) == pytest.approx(expected, rel=1e-5)


def test_w1_1d_point_masses_is_distance():
    assert wasserstein1([0.0], [3.5]) == pytest.approx(3.5, rel=1e-15)


# --- W1, n-D --------------------------------------------------------------------------------


def _assignment_w1(x, y):
    """W1 of two uniform samples of equal size: an optimal coupling is a permutation."""
    cost = cdist(x, y)
    rows, cols = linear_sum_assignment(cost)
    return cost[rows, cols].mean()


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_w1_nd_matches_linear_assignment(dim):
    rng = np.random.default_rng(dim)
    x, y = rng.normal(size=(40, dim)), rng.normal(0.5, 1.5, size=(40, dim))
    assert wasserstein1(x, y) == pytest.approx(_assignment_w1(x, y), rel=1e-9)


def test_w1_nd_weights_equal_repeated_points():
    # Integer weights c_i on distinct points == each point repeated c_i times, uniform.
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(5, 2))
    cx, cy = np.array([1, 3, 2, 2, 1, 1]), np.array([2, 2, 3, 1, 2])  # both total 10
    expected = _assignment_w1(np.repeat(x, cx, axis=0), np.repeat(y, cy, axis=0))
    assert wasserstein1(x, y, cx, cy) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("t", [[3.0, -4.0], [1e-3, 0.0], [100.0, 100.0]])
def test_w1_of_translated_cloud_is_translation_norm(t):
    # Lower bound from the 1-Lipschitz f(x) = <x, t/|t|>, upper bound from the shift coupling.
    x = np.random.default_rng(4).normal(size=(200, 2))
    assert wasserstein1(x, x + np.array(t)) == pytest.approx(np.linalg.norm(t), rel=1e-9)


def test_w1_of_sample_with_itself_is_zero():
    x = np.random.default_rng(5).normal(loc=1e3, size=(100, 2))
    assert wasserstein1(x, x) == 0.0


def test_w1_invariances():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2))
    base = wasserstein1(x, y)
    shift = np.array([5.0, -2.0])
    assert wasserstein1(x + shift, y + shift) == pytest.approx(base, rel=1e-9)
    assert wasserstein1(3.0 * x, 3.0 * y) == pytest.approx(3.0 * base, rel=1e-9)
    assert wasserstein1(x[rng.permutation(30)], y) == pytest.approx(base, rel=1e-9)
    rotation = np.array([[0.6, -0.8], [0.8, 0.6]])
    assert wasserstein1(x @ rotation.T, y @ rotation.T) == pytest.approx(base, rel=1e-9)


@settings(deadline=None, max_examples=50)
@given(point_sets(), point_sets())
def test_w1_nd_symmetric(x, y):
    assert wasserstein1(x, y) == pytest.approx(wasserstein1(y, x), rel=1e-9, abs=1e-12)


@settings(deadline=None, max_examples=50)
@given(point_sets(), point_sets(), point_sets())
def test_w1_nd_triangle_inequality(x, y, z):
    assert wasserstein1(x, z) <= wasserstein1(x, y) + wasserstein1(y, z) + 1e-9


@given(*[arrays(np.float64, st.integers(1, 8), elements=st.floats(-10, 10)) for _ in range(3)])
def test_w1_1d_symmetric_and_triangle_inequality(x, y, z):
    assert wasserstein1(x, y) == pytest.approx(wasserstein1(y, x), rel=1e-12, abs=1e-12)
    assert wasserstein1(x, z) <= wasserstein1(x, y) + wasserstein1(y, z) + 1e-9


# --- JS saturates, W1 does not (Arjovsky et al. 2017, Example 1) ----------------------------


def test_js_saturates_on_disjoint_point_masses_while_w1_shrinks():
    grid = np.arange(11.0)  # support points of a histogram on a 1-D grid
    p = np.zeros(11)
    p[0] = 1.0
    w1_values = []
    for theta in range(10, 0, -1):  # supports approach each other, stay disjoint
        q = np.roll(p, theta)
        assert js(p, q) == math.log(2)
        w1_values.append(wasserstein1(grid, grid, p, q))
        assert w1_values[-1] == pytest.approx(theta, rel=1e-12)
    assert np.all(np.diff(w1_values) < 0)
    assert js(p, p) == 0.0 and wasserstein1(grid, grid, p, p) == 0.0


def test_js_saturates_on_parallel_segments_while_w1_is_theta():
    # Example 1: P uniform on {0} x [0, 1], Q uniform on {theta} x [0, 1], here on a 2-D grid.
    xs, ys = np.meshgrid(np.arange(8.0), np.linspace(0.0, 1.0, 6), indexing="ij")
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)  # [48, 2]
    column = grid[:, 0]
    p = (column == 0).astype(float)
    for theta in [7, 4, 2, 1]:
        q = (column == theta).astype(float)
        assert js(p, q) == math.log(2)
        assert wasserstein1(grid, grid, p, q) == pytest.approx(theta, rel=1e-9)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "q", "match"),
    [
        ([0.5, -0.1, 0.6], [1, 1, 1], "p has negative entries"),
        ([1, 1, 1], [0.5, -0.1, 0.6], "q has negative entries"),
        ([1, 1], [1, 1, 1], "same shape"),
        ([1, np.nan], [1, 1], "p has non-finite"),
        ([1, 1], [np.inf, 1], "q has non-finite"),
        ([0, 0], [1, 1], "p sums to 0"),
        ([], [], "p is empty"),
    ],
)
@pytest.mark.parametrize("divergence", [kl, js])
def test_divergences_reject_bad_input(divergence, p, q, match):
    with pytest.raises(ValueError, match=match):
        divergence(p, q)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x": np.zeros((3, 2)), "y": np.zeros((3, 3))}, "dimension"),
        ({"x": np.zeros((0, 2)), "y": np.zeros((3, 2))}, "x has shape"),
        ({"x": np.zeros((2, 2, 2)), "y": np.zeros((3, 2))}, "x has shape"),
        ({"x": [0.0, np.nan], "y": [1.0]}, "x has non-finite"),
        ({"x": [0.0, 1.0], "y": [1.0], "x_weights": [1.0]}, "x_weights has shape"),
        ({"x": [0.0, 1.0], "y": [1.0], "y_weights": [1.0, 1.0]}, "y_weights has shape"),
        ({"x": [0.0, 1.0], "y": [1.0], "x_weights": [1.0, -1.0]}, "x_weights has negative"),
        ({"x": [0.0, 1.0], "y": [1.0], "x_weights": [0.0, 0.0]}, "x_weights sums to 0"),
    ],
)
def test_w1_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        wasserstein1(**kwargs)


def test_w1_raises_instead_of_returning_a_non_optimal_cost(monkeypatch):
    monkeypatch.setattr(divergences, "EMD_MAX_ITER", 1)
    x = np.random.default_rng(7).normal(size=(20, 2))
    with pytest.raises(RuntimeError, match="numItermax"):
        wasserstein1(x, x + 1.0)
