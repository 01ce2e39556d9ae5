"""The GAN recipe's packing (PacGAN, Lin et al. 2018): D judges m samples jointly."""

from __future__ import annotations

import re

import pytest
import torch

from gankit.configuration.resolve import build_config
from gankit.errors import ConfigError
from gankit.recipes.base import average_beta


def test_pack_stacks_consecutive_samples(make_run):
    recipe = make_run(model={"pack": 3}, data={"batch_size": 33}).recipe
    x = torch.arange(12.0).reshape(6, 2)  # six 2-D points
    packed = recipe.pack(x)  # [2, 6]
    assert packed.shape == (2, 6)
    assert torch.equal(packed[1], torch.cat([x[3], x[4], x[5]]))


def test_packed_discriminator_sees_m_samples(make_run):
    recipe = make_run(model={"pack": 4}).recipe
    first_layer = recipe.nets["D"].body[0]
    assert first_layer.in_features == 4 * 2
    x = torch.randn(8, 2)
    assert recipe.score_packs(x).shape == (2,)
    assert recipe.critic(x).shape == (8,)
    # A point's critic value is D on a pack of m copies of it.
    copies = x[:1].repeat(4, 1).reshape(1, 8)
    with torch.no_grad():
        expected = recipe.nets["D"](copies).logits.item()
        assert recipe.critic(x)[0].item() == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("loss", ["non-saturating", "wgan-gp"])
def test_packed_training_step_changes_both_networks(make_run, loss):
    run = make_run(model={"pack": 2}, loss={"name": loss}, train={"steps": 1})
    before = {k: v.clone() for k, v in run.recipe.nets.state_dict().items()}
    run.fit()
    after = run.recipe.nets.state_dict()
    for net in ("G", "D"):
        changed = [k for k in before if k.startswith(net) and not torch.equal(before[k], after[k])]
        assert changed, f"{net} did not change"


def test_batch_must_be_a_multiple_of_the_pack(tiny):
    with pytest.raises(ConfigError, match=r"data.batch_size \(32\) must be a multiple of model"):
        build_config(tiny(model={"pack": 3}))


def test_no_weight_average_by_default(make_run):
    assert "G_ema" not in make_run().recipe.nets


# Every recipe of two players keeps the average the same way (TwoPlayerRecipe).
TWO_PLAYER_RECIPES = {"gan": {}, "meg": {"model": {"d_norm": "none"}}, "relativistic": {},
                      "began": {"model": {"d_norm": "none"}}}


@pytest.mark.parametrize("recipe", TWO_PLAYER_RECIPES)
def test_weight_average_follows_its_formula_after_each_g_step(make_run, recipe):
    """theta_ema <- beta theta_ema + (1 - beta) theta (Karras et al. 2018), written out."""
    beta = 0.9
    run = make_run(recipe=recipe, train={"steps": 2, "g_ema": beta},
                   **TWO_PLAYER_RECIPES[recipe])
    G, G_ema = run.recipe.nets["G"], run.recipe.nets["G_ema"]
    expected = [p.detach().clone() for p in G.parameters()]  # the average starts at G
    for step in (1, 2):
        run.fit(step)
        expected = [beta * e + (1 - beta) * p.detach() for e, p in zip(expected, G.parameters(),
                                                                        strict=True)]
        for e, p in zip(expected, G_ema.parameters(), strict=True):
            torch.testing.assert_close(p, e)
    assert not torch.equal(next(G.parameters()), next(G_ema.parameters()))


def test_a_ramped_average_has_the_half_life_of_the_steps_trained(make_run):
    """StyleGAN2-ADA's ema_rampup: beta_t = 0.5 ** (1 / min(h, rampup (t + 1))), h the
    half-life of train.g_ema in steps; with rampup 0.5 and beta 0.99 (h = 69 steps) the first
    three steps average with half-lives 0.5, 1 and 1.5 steps."""
    run = make_run(train={"steps": 3, "g_ema": 0.99, "g_ema_rampup": 0.5})
    G, G_ema = run.recipe.nets["G"], run.recipe.nets["G_ema"]
    expected = [p.detach().clone() for p in G.parameters()]
    for step, half_life in ((1, 0.5), (2, 1.0), (3, 1.5)):
        run.fit(step)
        beta = 0.5 ** (1 / half_life)
        expected = [beta * e + (1 - beta) * p.detach() for e, p in zip(expected, G.parameters(),
                                                                        strict=True)]
        for e, p in zip(expected, G_ema.parameters(), strict=True):
            torch.testing.assert_close(p, e)
    assert average_beta(0.99, 0.5, 10_000) == 0.99  # ramped up: the configured beta
    assert average_beta(0.99, 0.0, 0) == 0.99  # off


def test_a_negative_rampup_is_one_line(make_run):
    with pytest.raises(ConfigError, match=r"train.g_ema_rampup must be >= 0 \(0: off\), got -1"):
        make_run(train={"g_ema": 0.9, "g_ema_rampup": -1.0})


@pytest.mark.parametrize("recipe", TWO_PLAYER_RECIPES)
def test_samples_come_from_the_weight_average(make_run, recipe):
    run = make_run(recipe=recipe, train={"steps": 2, "g_ema": 0.5}, **TWO_PLAYER_RECIPES[recipe])
    run.fit()
    z = run.recipe.latent(5, torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = run.recipe.nets["G_ema"](z)
    torch.testing.assert_close(run.recipe.sample(5, torch.Generator().manual_seed(3)), expected)


def test_weight_average_decay_must_be_below_one(tiny):
    with pytest.raises(ConfigError, match=r"train.g_ema must be in \[0, 1\)"):
        build_config(tiny(train={"g_ema": 1.0}))


def test_r1_and_r2_terms_are_half_gamma_times_the_gradient_norm(make_run):
    from gankit.losses.penalties import gradient_norm_penalty
    from gankit.recipes import Phase, StepContext

    run = make_run(loss={"name": "non-saturating", "r1_weight": 10.0, "r2_weight": 4.0})
    recipe, data = run.recipe, run.data

    def ctx():
        return StepContext(data, 32, torch.device("cpu"), torch.Generator().manual_seed(7))

    terms = recipe.run_phase(Phase("d", "d"), ctx()).terms
    # The same draws as run_phase: latents first, then the real batch.
    replay = ctx()
    z = recipe.latent(32, replay.rng)
    real = replay.real_batch()
    with torch.no_grad():
        fake = recipe.nets["G"](z)

    def critic(x):
        return recipe.nets["D"](x).logits

    torch.testing.assert_close(terms["d_r1"], 5.0 * gradient_norm_penalty(critic, real))
    torch.testing.assert_close(terms["d_r2"], 2.0 * gradient_norm_penalty(critic, fake))


@pytest.mark.parametrize(("loss", "label", "words"), [
    ("hinge", 0.9, "log-likelihood"), ("non-saturating", 0.3, "(0.5, 1]")])
def test_label_smoothing_only_where_it_means_something(tiny, loss, label, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        build_config(tiny(loss={"name": loss, "real_label": label}))


@pytest.mark.parametrize(("option", "term"), [("feature_matching", "g_fm"), ("pull_away", "g_pt")])
def test_generator_feature_terms(make_run, option, term):
    from gankit.recipes import Phase, StepContext

    run = make_run(loss={option: 0.5}, train={"steps": 1})
    ctx = StepContext(run.data, 32, torch.device("cpu"), torch.Generator().manual_seed(1))
    terms = run.recipe.run_phase(Phase("g", "g"), ctx).terms
    assert set(terms) == {"g_loss", term} and terms[term].item() >= 0
    before = [p.detach().clone() for p in run.recipe.nets["G"].parameters()]
    run.fit()
    assert any(not torch.equal(b, p) for b, p in zip(before, run.recipe.nets["G"].parameters(),
                                                      strict=True))
