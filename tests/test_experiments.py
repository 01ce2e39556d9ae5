"""The theory experiments in their quick form: each writes its files and meets the theory."""

import json
import math

import pytest
from scipy import stats

from gankit.cli import main
from gankit.experiments import EXPERIMENTS
from gankit.experiments.optimal_discriminator import value_at_optimum
from gankit.runlog import to_json

LOG2 = math.log(2)


def run_quick(name, out_dir):
    """Run an experiment with quick=True; check its PNG and that its JSON holds what it returned."""
    figures = EXPERIMENTS[name](out_dir, quick=True)
    assert (out_dir / f"{name}.png").stat().st_size > 10_000
    assert json.loads((out_dir / f"{name}.json").read_text()) == json.loads(to_json(figures))
    return figures


def test_all_are_registered():
    expected = {"optimal-discriminator", "gan-1d", "js-saturation", "critic-tracks-w1",
                "mcmc-truncation"}
    assert expected <= set(EXPERIMENTS.names())


# --- optimal-discriminator ------------------------------------------------------------------


def test_value_at_optimum_limits():
    # p_g = p_data: D* = 1/2 everywhere and V = 2 * 0 - 2 log 2 (Goodfellow et al. 2014, Thm. 1).
    same = stats.norm(4, 0.5)
    assert value_at_optimum(same, same) == pytest.approx(-2 * LOG2, abs=1e-10)
    # Nearly disjoint: JS -> log 2, so V -> 0 from below.
    assert -1e-6 < value_at_optimum(stats.norm(0, 0.1), stats.norm(5, 0.1)) <= 0


def test_optimal_discriminator(tmp_path):
    f = run_quick("optimal-discriminator", tmp_path)
    # V(G, D*) by adaptive quadrature against JS of the discretized densities (Thm. 1, eq. 6).
    assert 0.05 < f["js"] < LOG2
    assert f["v_identity_abs_diff"] < 1e-8
    assert f["v_optimal_d_on_grid"] == pytest.approx(f["v_optimal_d"], abs=1e-8)
    # D* maximizes V: the trained D reaches at most V(G, D*), and close to it.
    assert -1e-9 <= f["v_gap"] < 0.02
    # Bounds with room for other seeds (seeds 0-4 reach at most 0.019, 0.048 and 0.53).
    assert f["d_mean_abs_error_under_mixture"] < 0.04
    assert f["d_mean_abs_error"] < 0.08
    assert f["d_max_abs_error"] < 0.8  # the right end of the region holds few samples


# --- gan-1d -----------------------------------------------------------------------------------


def test_gan_1d_reaches_half(tmp_path):
    snapshots = run_quick("gan-1d", tmp_path)["snapshots"]
    assert len(snapshots) == 4
    first, last = snapshots[0], snapshots[-1]
    assert first["mean_abs_d_minus_half"] > 0.1  # D tells the distributions apart early on
    assert last["mean_abs_d_minus_half"] < 0.05  # and ends near 1/2 on the data
    assert first["w1"] > 1.0
    assert last["w1"] < 0.3
    assert last["p_g_mean"] == pytest.approx(4.0, abs=0.2)


# --- js-saturation ----------------------------------------------------------------------------


def test_js_saturation(tmp_path):
    f = run_quick("js-saturation", tmp_path)
    assert f["js_max_dev_from_log2_disjoint"] < 1e-9
    assert f["js_from_kl_max_dev_from_log2_disjoint"] < 1e-9  # the limit, not a shortcut
    assert f["js_max_error_overlapping"] < 1e-9  # JS = theta log 2 while they overlap
    assert f["w1_max_error"] < 1e-9  # W1 = theta throughout
    thetas = f["thetas"]
    assert max(thetas) == 3.0 and min(thetas) == 0.0
    assert sum(t >= 1 for t in thetas) > 10 and sum(t < 1 for t in thetas) > 5


# --- critic-tracks-w1 -------------------------------------------------------------------------


def test_critic_tracks_w1(tmp_path):
    f = run_quick("critic-tracks-w1", tmp_path)
    assert len(f["pairs"]) >= 10
    assert f["pearson_r"] > 0.8
    exact = [p["exact_w1"] for p in f["pairs"]]
    assert exact[-1] < 0.6 * exact[0]  # the samples improved while the critic was watched


# --- CLI --------------------------------------------------------------------------------------


def test_cli_runs_an_experiment(tmp_path, capsys):
    assert main(["experiment", "js-saturation", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "js-saturation" / "js-saturation.png").is_file()
    figures = json.loads((tmp_path / "js-saturation" / "js-saturation.json").read_text())
    assert json.loads(capsys.readouterr().out) == figures


def test_cli_lists_and_rejects_names(capsys):
    assert main(["experiment", "list"]) == 0
    assert "critic-tracks-w1" in capsys.readouterr().out.split()
    assert main(["experiment", "nope"]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err


# --- mcmc-truncation ----------------------------------------------------------------------------


def test_mcmc_truncation_measures_every_setting_on_one_model(tmp_path):
    figures = run_quick("mcmc-truncation", tmp_path)
    settings = [p["setting"] for p in figures["points"]]
    assert settings == ["prior", "truncation-t0.5", "truncation-t1", "truncation-t2",
                        "mala-k20-e0.01-T1", "mala-k20-e0.01-T0.5"]
    truncation = {p["setting"]: p for p in figures["points"] if p["sampler"] == "truncation"}
    # a lower threshold narrows the latents: fewer modes (as even or less even coverage)
    assert truncation["truncation-t0.5"]["modes"] <= truncation["truncation-t2"]["modes"]
    for point in figures["points"]:
        assert 0 <= point["high_quality"] <= 100 and point["modes"] <= 25
        if point["sampler"] == "mala":
            assert 0 < point["mcmc_acceptance"] <= 1
    assert set(figures["mala_beats_truncation"]) <= set(settings)


def test_the_truncation_curve_is_read_between_and_below_its_points():
    from gankit.experiments.mcmc_truncation import curve_at

    curve = [{"reverse_kl": 1.0, "high_quality": 50.0}, {"reverse_kl": 2.0, "high_quality": 70.0}]
    assert curve_at(curve, 1.5) == pytest.approx(60.0)
    assert curve_at(curve, 0.5) == 50.0  # more even than every threshold: the most even one
    assert curve_at(curve, 2.5) is None  # less even than every threshold: nothing to compare
