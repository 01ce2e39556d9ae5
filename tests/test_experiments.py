"""The theory experiments in their quick form: each writes its files and meets the theory."""

import json
import math

import pytest
import torch
from scipy import stats

from gankit.commandline.cli import main
from gankit.experiments import EXPERIMENTS
from gankit.experiments.optimal_discriminator import value_at_optimum
from gankit.training.runlog import to_json

LOG2 = math.log(2)


def run_quick(name, out_dir):
    """Run an experiment with quick=True; check its PNG and that its JSON holds what it returned."""
    figures = EXPERIMENTS[name](out_dir, quick=True)
    assert (out_dir / f"{name}.png").stat().st_size > 10_000
    assert json.loads((out_dir / f"{name}.json").read_text()) == json.loads(to_json(figures))
    return figures


def test_all_are_registered():
    expected = {"optimal-discriminator", "gan-1d", "js-saturation", "critic-tracks-w1",
                "mcmc-truncation", "energy-landscape"}
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


# --- energy-landscape ---------------------------------------------------------------------------


def test_an_exact_energy_correlates_perfectly_and_its_modes_are_wells():
    from gankit.data import DATASETS
    from gankit.experiments.energy_landscape import box_grid, compare

    data = DATASETS["ring8"](None)
    grid, generator = box_grid(data, 30), torch.Generator().manual_seed(0)
    exact = compare(lambda x: -data.log_pdf(x), data, grid, generator)
    assert exact["pearson_grid"] == pytest.approx(1) and exact["spearman_grid"] == pytest.approx(1)
    assert exact["pearson_near_data"] == pytest.approx(1) and exact["mode_depth"] > 0
    # an energy with the wrong sign: -1, and the modes are hills
    wrong = compare(lambda x: data.log_pdf(x), data, grid, generator)
    assert wrong["spearman_grid"] == pytest.approx(-1) and wrong["mode_depth"] < 0
    # a monotone but non-linear energy keeps Spearman's 1 and loses Pearson's
    squashed = compare(lambda x: torch.exp(-data.log_pdf(x) / 1000), data, grid, generator)
    assert squashed["spearman_grid"] > 0.9999 and squashed["pearson_grid"] < 0.9
    flat = compare(lambda x: torch.zeros(len(x)), data, grid, generator)
    assert math.isnan(flat["pearson_grid"]) and math.isnan(flat["mode_depth"])
    # the grid spans the modes' box with a quarter of it on each side
    assert grid.shape == (900, 2) and grid.min() == pytest.approx(-1.5)


def test_energy_landscape_measures_both_models_on_both_mixtures(tmp_path):
    figures = run_quick("energy-landscape", tmp_path)
    assert set(figures["results"]) == {"grid25-meg", "grid25-non-saturating", "ring8-meg",
                                       "ring8-non-saturating"}
    for result in figures["results"].values():
        for key in ("pearson_grid", "spearman_grid", "pearson_near_data"):
            assert -1 <= result[key] <= 1
        assert math.isfinite(result["mode_depth"])


def test_every_two_player_energy_is_the_one_its_latent_energy_pulls_back(make_run):
    from gankit.sampling.energies import ddls_energy

    x, z = torch.randn(6, 2), torch.randn(6, 2)
    gan = make_run().recipe
    torch.testing.assert_close(gan.energy(x), -gan.critic(x))
    torch.testing.assert_close(gan.latent_energy(3.0)(z),
                               ddls_energy(gan.decode, gan.critic, 3.0)(z))
    for recipe in ("meg", "began", "relativistic"):
        r = make_run(recipe=recipe).recipe
        expected = r.energy(r.decode(z)) / 3.0 + 0.5 * z.pow(2).sum(1)
        torch.testing.assert_close(r.latent_energy(3.0)(z), expected)
