"""Toy distributions: the published protocols' constants, sample statistics, seeded sampling."""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS, GaussianMixture
from gankit.errors import ConfigError


def dataset(name):
    return DATASETS[name](DataConfig())


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


# name -> (number of modes, std) of the protocol
MIXTURES = {
    "ring8": (8, 0.01),  # PacGAN (Lin et al. 2018), after VEEGAN
    "grid25": (25, 0.05),
    "wgangp-ring8": (8, 0.02 / 1.414),  # WGAN-GP's released toy code, data divided by 1.414
    "wgangp-grid25": (25, 0.05 / 2.828),
    "gaussian-1d": (1, 0.5),  # Goodfellow et al. 2014, Fig. 1
}


def test_ring8_is_8_modes_on_the_unit_circle_with_std_0_01():
    data = dataset("ring8")
    assert isinstance(data, GaussianMixture) and data.dim == 2
    assert data.mode_std == 0.01 and data.modes.shape == (8, 2)
    radii = data.modes.norm(dim=1)
    torch.testing.assert_close(radii, torch.ones(8), rtol=0, atol=1e-6)
    angles = torch.atan2(data.modes[:, 1], data.modes[:, 0]) % (2 * math.pi)
    expected = torch.tensor([k * math.pi / 4 for k in range(8)])
    torch.testing.assert_close(angles.sort().values, expected, rtol=0, atol=1e-5)


def test_grid25_is_the_5x5_grid_with_std_0_05():
    data = dataset("grid25")
    assert data.dim == 2 and data.mode_std == 0.05 and data.modes.shape == (25, 2)
    expected = set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
    assert {tuple(c) for c in data.modes.tolist()} == expected


def test_wgangp_ring8_is_radius_2_std_0_02_scaled_by_1_over_1_414():
    data = dataset("wgangp-ring8")
    assert data.mode_std == pytest.approx(0.02 / 1.414, rel=1e-12)
    assert data.modes.shape == (8, 2) and data.modes.dtype == torch.float32
    radius = torch.full((8,), 2.0 / 1.414)
    torch.testing.assert_close(data.modes.norm(dim=1), radius, rtol=0, atol=1e-6)


def test_wgangp_grid25_is_the_grid_scaled_by_1_over_2_828():
    data = dataset("wgangp-grid25")
    scaled = {tuple(round(v / 2.828, 6) for v in c)
              for c in itertools.product([-4, -2, 0, 2, 4], repeat=2)}
    assert {tuple(round(v, 6) for v in c) for c in data.modes.tolist()} == scaled
    assert data.mode_std == pytest.approx(0.05 / 2.828, rel=1e-12)


def test_gaussian_1d_is_n_4_0_5():
    data = dataset("gaussian-1d")
    assert data.dim == 1 and data.mode_std == 0.5
    assert data.modes.tolist() == [[4.0]]
    x = data.points(100_000, seeded())
    assert x.mean().item() == pytest.approx(4.0, abs=5 * 0.5 / math.sqrt(1e5))
    assert x.std().item() == pytest.approx(0.5, rel=5 / math.sqrt(2e5))


@pytest.mark.parametrize("name", list(MIXTURES))
def test_mixture_sample_statistics(name):
    """Each sample's nearest mode is its own (modes are > 10 std apart); per mode, the count is
    n/K (chi-square), the mean is the center and each coordinate's std is the declared std."""
    k, std = MIXTURES[name]
    data = dataset(name)
    assert (len(data.modes), data.mode_std) == (k, pytest.approx(std))
    n = 4000 * k
    x = data.points(n, seeded(1)).double()  # [n, dim]
    assert x.shape == (n, data.dim)
    centers = data.modes.double()
    nearest = torch.cdist(x, centers).argmin(1)
    counts = torch.bincount(nearest, minlength=k)
    if k > 1:
        assert chisquare(counts.numpy()).pvalue > 1e-4  # equally likely modes
        assert (counts > 0).all()
    for j in range(k):
        points = x[nearest == j]
        m = len(points)
        # two-sided, about 5 standard errors each way
        torch.testing.assert_close(points.mean(0), centers[j], rtol=0, atol=5 * std / math.sqrt(m))
        emp = points.std(0)
        assert ((emp / std - 1).abs() < 5 / math.sqrt(2 * m)).all(), (j, emp, std)
    # Nothing strays: all within 6 std of a mode (probability of failure ~1e-7 per sample).
    assert torch.cdist(x, centers).min(1).values.max().item() < 6 * std * math.sqrt(data.dim)


def test_samples_are_float32_on_the_requested_device():
    x = dataset("ring8").points(10, seeded(), device="cpu")
    assert x.dtype == torch.float32 and x.device.type == "cpu" and x.shape == (10, 2)


# every source of examples x; a user's folder needs a path, and the translation sources
# (pairs a, b) have their own test of seeded sampling (test_translation_data.py)
TRANSLATION = {"paired-folder", "unpaired-folder", "edges2digits", "thin2thick", "grey2colour"}


@pytest.mark.parametrize("name", [n for n in DATASETS.names()  # files: tested below
                                  if n not in ("image-folder", "points-file", *TRANSLATION)])
def test_seeded_sampling_is_reproducible_and_uses_only_the_generator(name):
    data = DATASETS[name](DataConfig())

    def x(n, generator):
        return data.sample(n, generator)["x"]

    torch.manual_seed(123)
    a = x(500, seeded(7))
    torch.manual_seed(456)  # the global RNG must not matter
    b = x(500, seeded(7))
    assert torch.equal(a, b)
    assert not torch.equal(a, x(500, seeded(8)))
    g = seeded(7)
    first, second = x(250, g), x(250, g)
    assert not torch.equal(first, second)  # the generator advances
    assert torch.isfinite(a).all() and a.shape == (500, *data.shape)


def test_swiss_roll_lies_in_its_annulus():
    """t in [1.5 pi, 4.5 pi] so |(t cos t, t sin t)| = t; scaled by 1/7.5 with noise 0.25/7.5."""
    x = dataset("swiss-roll").points(20_000, seeded(2))
    radius = x.norm(dim=1)
    noise = 0.25 / 7.5
    assert radius.min().item() > 1.5 * math.pi / 7.5 - 6 * noise * math.sqrt(2)
    assert radius.max().item() < 4.5 * math.pi / 7.5 + 6 * noise * math.sqrt(2)
    assert radius.min().item() < 1.5 * math.pi / 7.5 + 0.05  # the whole roll is covered
    assert radius.max().item() > 4.5 * math.pi / 7.5 - 0.05


def test_mixture_pdf_matches_the_formula():
    data = dataset("ring8")
    at_center = data.pdf(data.modes[:1].double())
    # A center is > 70 std from the others: the density is 1/8 of one Gaussian's peak.
    assert at_center.item() == pytest.approx(1 / 8 / (2 * math.pi * 0.01**2), rel=1e-6)
    one_d = dataset("gaussian-1d")
    grid = torch.linspace(0, 8, 4001, dtype=torch.float64)[:, None]
    assert torch.trapezoid(one_d.pdf(grid), grid[:, 0]).item() == pytest.approx(1.0, abs=1e-6)


def test_mixture_log_pdf_matches_scipy_and_stays_finite_far_away():
    from scipy.stats import multivariate_normal

    data = dataset("grid25")
    x = torch.tensor([[0.0, 0.0], [1.0, 1.03], [4.1, -3.9], [0.7, 2.2]], dtype=torch.float64)
    expected = np.log(np.mean([multivariate_normal(c, 0.05**2 * np.eye(2)).pdf(x.numpy())
                               for c in data.modes.double().numpy()], axis=0))
    np.testing.assert_allclose(data.log_pdf(x).numpy(), expected, rtol=1e-9)
    far = data.log_pdf(torch.tensor([[40.0, 40.0]]))  # pdf underflows to 0 here, log_pdf does not
    assert data.pdf(torch.tensor([[40.0, 40.0]])).item() == 0 and torch.isfinite(far).all()


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(ConfigError) as err:
        DATASETS["ring9"]
    assert "ring8" in str(err.value) and "grid25" in str(err.value)


def test_a_mixture_batch_holds_x_and_its_component_and_matches_its_spec():
    data = dataset("grid25")
    batch = data.sample(64, seeded(4))
    assert set(batch) == {"x", "label"} and torch.equal(batch["x"], data.points(64, seeded(4)))
    data.spec.check(batch)
    assert data.spec.shape == (2,) and data.spec.n_classes == 25


def test_a_distribution_without_components_has_no_labels():
    data = dataset("swiss-roll")
    batch = data.sample(8, seeded(4))
    assert set(batch) == {"x"} and data.spec.n_classes == 0
    data.spec.check(batch)


# ----------------------------------------------------------------------------- points files
def points_file(path) -> object:
    return DATASETS["points-file"](DataConfig(name="points-file", path=str(path)))


def test_a_points_file_is_read_as_csv_or_npy(tmp_path):
    points = np.array([[0.5, -1.25], [2.0, 3.0], [1e-3, 7.5]], dtype=np.float32)
    np.savetxt(tmp_path / "p.csv", points, delimiter=",", header="x,y")
    np.save(tmp_path / "p.npy", points)
    (tmp_path / "spaced.csv").write_text("0.5 -1.25\n2 3\n0.001 7.5\n")
    for name in ("p.csv", "p.npy", "spaced.csv"):
        data = points_file(tmp_path / name)
        assert data.dim == 2 and np.allclose(data.values.numpy(), points)
        drawn = data.points(50, seeded(1))
        assert all(any(torch.equal(row, kept) for kept in data.values) for row in drawn)


def test_the_views_save_format_reads_back_exactly(tmp_path):
    from gankit.data.user import save_points

    points = torch.randn(100, 2, generator=seeded(3))
    save_points(points, tmp_path / "points.csv")
    assert torch.equal(points_file(tmp_path / "points.csv").values, points)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("p.txt", "1 2\n", "must end in .csv or .npy"),
    ("missing.csv", None, "is not a file"),
    ("bad.csv", "1,2\n3,x\n", "cannot be read as points"),
    ("ragged.csv", "1,2\n3\n", "cannot be read as points"),
    ("nan.csv", "1,2\nnan,3\n", "at least 2 finite examples"),
    ("one.csv", "1,2\n", "at least 2 finite examples"),
])
def test_a_bad_points_file_is_one_line(tmp_path, name, content, message):
    if content is not None:
        (tmp_path / name).write_text(content)
    with pytest.raises(ConfigError) as err:
        points_file(tmp_path / name)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_points_file_never_unpickles(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, {"b": 2}], dtype=object))
    with pytest.raises(ConfigError, match="cannot be read as points"):
        points_file(tmp_path / "objects.npy")
