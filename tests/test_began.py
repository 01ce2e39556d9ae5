"""BEGAN (Berthelot et al. 2017): the auto-encoder energy, the k_t control and M, by hand."""

from __future__ import annotations

import pytest
import torch

from gankit.recipes import Phase, StepContext


@pytest.fixture
def began(make_run):
    return make_run(recipe="began", began={"gamma": 0.7, "lambda_k": 0.5},
                    train={"steps": 2})


def test_energy_is_the_mean_absolute_reconstruction_error(began):
    D = began.recipe.nets["D"]
    x = torch.randn(5, 2)
    with torch.no_grad():
        expected = (x - D.decoder(D.encoder(x))).abs().mean(1)
        torch.testing.assert_close(began.recipe.energy(x), expected)


def test_k_follows_the_proportional_control_and_stays_in_0_1(began):
    recipe = began.recipe
    ctx = StepContext(began.data, 32, torch.device("cpu"), torch.Generator().manual_seed(0))
    real = recipe.run_phase(Phase("d", "d"), ctx).stats["ae_real"]
    state = ctx.rng.get_state()
    out = recipe.run_phase(Phase("g", "g"), ctx)  # L(x) handed on in ctx.carry; k updated
    ctx.rng.set_state(state)
    with torch.no_grad():
        fake = recipe.energy(recipe.nets["G"](ctx.draw(recipe.latent))).mean()
    expected = min(max(0.0, 0.5 * (0.7 * real.item() - fake.item())), 1.0)
    assert recipe.nets["balance"].k.item() == pytest.approx(expected, abs=1e-7)
    m = real + (0.7 * real - fake).abs()
    torch.testing.assert_close(out.stats["convergence_m"], m)
    assert out.stats["k"].item() == 0  # k_t of this step, before the update


def test_a_g_step_alone_measures_l_x_on_a_batch_of_its_own(began):
    """The browser view's lone G step: no D phase handed L(x) on, so it draws a real batch."""
    recipe = began.recipe
    ctx = StepContext(began.data, 32, torch.device("cpu"), torch.Generator().manual_seed(0))
    state = ctx.rng.get_state()
    out = recipe.run_phase(Phase("g", "g"), ctx)
    ctx.rng.set_state(state)
    with torch.no_grad():
        fake = recipe.energy(recipe.nets["G"](ctx.draw(recipe.latent))).mean()
        real = recipe.energy(ctx.real_batch()).mean()
    torch.testing.assert_close(out.stats["convergence_m"], real + (0.7 * real - fake).abs())


def test_d_loss_uses_k(began):
    recipe = began.recipe
    recipe.nets["balance"].k.fill_(0.25)
    ctx = StepContext(began.data, 16, torch.device("cpu"), torch.Generator().manual_seed(1))
    out = recipe.run_phase(Phase("d", "d"), ctx)
    expected = out.stats["ae_real"] - 0.25 * out.stats["ae_fake"]
    torch.testing.assert_close(out.terms["d_loss"].detach(), expected)


def test_began_trains_logs_m_and_resumes_exactly(make_run, tmp_path):
    sections = dict(recipe="began", train={"steps": 4})
    straight = make_run(**sections)
    history = straight.fit()
    assert {"k", "convergence_m", "d_loss", "g_loss"} <= history[-1].keys()
    first = make_run(run_dir=tmp_path, **sections)
    first.fit(2)
    resumed = make_run(run_dir=tmp_path, **sections).restore()
    resumed.fit()
    for (name, a), b in zip(straight.recipe.nets.state_dict().items(),
                            resumed.recipe.nets.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
