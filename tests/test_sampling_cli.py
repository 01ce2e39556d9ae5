"""Latent samplers from the command line and the API: ``gankit sample / eval --sampler``,
their flags, the chains' report and trace, and what a draw must leave alone."""

import json

import numpy as np
import pytest
import torch
import yaml

import gankit
from conftest import tiny_dict
from gankit.commandline.cli import main
from gankit.errors import GankitError
from gankit.sampling.settings import SamplerSettings


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("sampling")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(model={"g_batchnorm": True},
                                               train={"steps": 20})))
    assert main(["train", str(config), "--out", str(root / "run"), "--no-progress"]) == 0
    return root / "run"


def sample(capsys, trained, tmp_path, *flags: str) -> tuple[np.ndarray, str]:
    out = tmp_path / "x.npy"
    status = main(["sample", str(trained), "--n", "64", "--out", str(out), "--overwrite",
                   *flags])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return np.load(out), captured.err


@pytest.mark.parametrize("flags", [
    ["--sampler", "truncation", "--threshold", "0.5"],
    ["--sampler", "langevin", "--steps", "5", "--step-size", "0.01"],
    ["--sampler", "mala", "--steps", "5", "--step-size", "0.01", "--temperature", "2"],
    ["--sampler", "mala", "--steps", "6", "--burn-in", "3", "--adapt"],
], ids=lambda flags: flags[1])
def test_each_sampler_draws_reproducibly_and_differs_from_the_prior(capsys, trained, tmp_path,
                                                                    flags):
    prior, _ = sample(capsys, trained, tmp_path)
    first, err = sample(capsys, trained, tmp_path, *flags)
    again, _ = sample(capsys, trained, tmp_path, *flags)
    assert first.shape == prior.shape == (64, 2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, prior)
    if flags[1] != "truncation":
        assert f"{flags[1]}: " in err and "mean energy" in err


def test_the_prior_sampler_is_the_default(capsys, trained, tmp_path):
    default, _ = sample(capsys, trained, tmp_path)
    prior, _ = sample(capsys, trained, tmp_path, "--sampler", "prior")
    np.testing.assert_array_equal(default, prior)


def test_mala_reports_its_acceptance_and_plots_its_trace(capsys, trained, tmp_path):
    _, err = sample(capsys, trained, tmp_path, "--sampler", "mala", "--steps", "8",
                    "--trace", str(tmp_path / "trace.png"))
    assert "acceptance" in err and "final step size 0.01" in err
    assert (tmp_path / "trace.png").stat().st_size > 1000


def test_eval_with_a_sampler_records_it_beside_eval_json(capsys, trained):
    before = (trained / "eval.json").read_text()
    assert main(["eval", str(trained), "--n", "200", "--sampler", "mala", "--steps", "4"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["sampler"] == "mala-k4-e0.01-T1"
    assert 0 <= record["mcmc_acceptance"] <= 1 and "mcmc_energy_end" in record
    written = trained / "eval-none-n200-seed20140610-mala-k4-e0.01-T1.json"
    assert json.loads(written.read_text()) == record
    assert (trained / "eval.json").read_text() == before


@pytest.mark.parametrize("flags, message", [
    (["--steps", "3"], "--steps does not apply to --sampler prior (its flags: none)"),
    (["--sampler", "mala", "--threshold", "1"], "--threshold does not apply to --sampler mala"),
    (["--sampler", "truncation", "--steps", "2"], "--steps does not apply to --sampler truncation"),
    (["--sampler", "mala", "--steps", "0"], "argument --steps: must be >= 1, got 0"),
    (["--sampler", "mala", "--step-size", "-1"], "must be a number in [1.1754944e-38, "),
    (["--sampler", "mala", "--temperature", "0"], "(it is used in float32), got 0.0"),
    (["--sampler", "langevin", "--step-size", "nan"], "got nan"),
    (["--sampler", "truncation", "--trace", "t.png"], "--trace plots MCMC chains"),
    (["--sampler", "langevin", "--burn-in", "2"], "--burn-in does not apply to --sampler langevin"),
    (["--sampler", "langevin", "--target-acceptance", "0.5"],
     "--target-acceptance does not apply to --sampler langevin"),
    (["--sampler", "mala", "--steps", "4", "--burn-in", "4"], "burn_in"),
])
def test_bad_sampler_flags_are_one_line(capsys, trained, tmp_path, flags, message):
    status = main(["sample", str(trained), "--out", str(tmp_path / "x.npy"), *flags])
    err = capsys.readouterr().err
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gankit: error: ") and message in lines[0], err


def test_a_recipe_without_a_latent_energy_is_one_line(capsys, trained, tmp_path, monkeypatch):
    from gankit.recipes.gan import GAN

    monkeypatch.setattr(GAN, "latent_energy", lambda self, temperature=1.0: None)
    status = main(["sample", str(trained), "--out", str(tmp_path / "x.npy"),
                   "--sampler", "mala"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err == ("gankit: error: recipe GAN has no latent energy to run mala chains on; use "
                   "--sampler prior or truncation")


@pytest.mark.parametrize("coupling", [{"minibatch_discrimination": 4},
                                      {"minibatch_stddev": True}], ids=str)
def test_chains_refuse_a_d_that_couples_the_batch(make_run, coupling):
    from gankit.sampling.paths import chain_paths
    from gankit.sampling.settings import sampler_source

    run = make_run(model=coupling)
    for name in ("mala", "langevin"):
        with pytest.raises(GankitError, match=f"^{name} needs each chain's energy to be "
                                                     "its own, and this run's D mixes"):
            sampler_source(run.recipe, SamplerSettings(name))
    assert chain_paths(run.recipe) is None  # the snapshot draws no chains
    # the prior and truncation draw no energy, so they still work
    sampler_source(run.recipe, SamplerSettings("truncation"))


def test_chain_paths_decode_each_step_of_mala_chains(make_run):
    from gankit.sampling.paths import chain_paths

    run = make_run()
    paths = chain_paths(run.recipe, n=3, steps=7, seed=4)
    assert paths.shape == (3, 8, 2) and torch.isfinite(paths).all()
    assert torch.equal(paths, chain_paths(run.recipe, n=3, steps=7, seed=4))  # seeded
    start = run.recipe.latent(3, torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(paths[:, 0], run.recipe.decode(start))
    assert not torch.equal(paths[:, 0], paths[:, -1])  # the chains moved


def test_chains_run_in_eval_mode_and_leave_the_networks_as_they_were():
    """G has batch norm: a chain in train mode would update its running statistics and couple
    the chains through the batch's statistics."""
    run = gankit.build(tiny_dict(model={"g_batchnorm": True}, train={"steps": 5}),
                       progress=False, snapshots=False)
    run.fit()
    run.recipe.train()
    before = {k: v.clone() for k, v in run.recipe.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in run.recipe.parameters()]
    source = run.sampler(SamplerSettings("mala", steps=5))
    run.sample(8, seed=3, latents=source)
    assert run.recipe.training
    assert all(torch.equal(before[k], v) for k, v in run.recipe.state_dict().items())
    for p, grad in zip(run.recipe.parameters(), grads, strict=True):  # the last step's
        assert (p.grad is None and grad is None) or torch.equal(p.grad, grad)
    # in eval mode a chain's energy is its own: the batch's other chains do not change it
    run.recipe.eval()
    energy, z = run.recipe.latent_energy(), torch.randn(64, 2)
    torch.testing.assert_close(energy(z)[:8], energy(z[:8]))


def test_the_latent_energy_of_each_shipped_recipe(make_run):
    for sections in ({}, {"recipe": "began"}, {"recipe": "relativistic"},
                     {"model": {"pack": 2}}):
        run = make_run(**sections)
        z = torch.randn(5, 2)
        energy = run.recipe.latent_energy(2.0)(z)
        assert energy.shape == (5,) and torch.isfinite(energy).all()
        prior_part = 0.5 * z.pow(2).sum(1)
        assert not torch.allclose(energy, prior_part)  # the network's term is there


def test_chains_in_groups_report_one_trace_over_all_of_them(make_run):
    from gankit.evaluation.latents import PriorLatents
    from gankit.sampling.sources import InEvalMode, MALALatents

    run = make_run()
    chains = MALALatents(run.recipe.latent_energy(), PriorLatents(run.recipe), 4, 0.01)
    grouped = InEvalMode(chains, run.recipe, chunk=3)
    z = grouped.draw(7, torch.Generator().manual_seed(0))  # groups of 3, 3 and 1
    trace = grouped.last_trace
    assert z.shape == (7, 2) and trace.acceptance.shape == (7,)
    assert trace.energy.shape == (5,) and trace.step_acceptance.shape == (4,)
    torch.testing.assert_close(trace.step_size, torch.full((4,), 0.01))


def test_each_setting_of_a_draw_is_in_its_name():
    assert SamplerSettings().describe() is None
    assert SamplerSettings("truncation", threshold=0.5).describe() == "truncation-t0.5"
    assert SamplerSettings("langevin", steps=3).describe() == "langevin-k3-e0.01-T1"
    adapted = SamplerSettings("mala", burn_in=5, adapt=True)
    assert adapted.describe() == "mala-k100-e0.01-T1-b5-adapt"
    other_target = SamplerSettings("mala", burn_in=5, adapt=True, target_acceptance=0.8)
    assert other_target.describe() == "mala-k100-e0.01-T1-b5-adapt-a0.8"
    # a burn-in changes which steps the acceptance counts, adapted or not
    assert SamplerSettings("mala", burn_in=5).describe() == "mala-k100-e0.01-T1-b5"
