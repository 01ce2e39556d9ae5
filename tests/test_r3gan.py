"""The R3GAN recipe (RpGAN + R1 + R2, Huang et al. 2024) and the run's schedules (cosine decay
of the learning rates, beta2 and gamma): the terms against hand computations and closed-form
gradients, the schedules against their formulas, and the bad values refused in one line.
Exact resume and the first two steps are pinned with every recipe
(tests/test_recipe_steps_pinned.py, case r3gan-scheduled)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from conftest import one_error_line
from gankit.configuration.schema import TrainConfig
from gankit.errors import ConfigError
from gankit.losses.penalties import squared_gradient_norms
from gankit.models.base import DOutput
from gankit.recipes.base import StepContext
from gankit.training.optimization import beta2, decay_weight, lr_factor, scheduled


class QuadraticD(nn.Module):
    """D(x) = x^T A x / 2 + b . x with A symmetric: grad_x D = A x + b in closed form."""

    def __init__(self, dim: int = 2) -> None:
        super().__init__()
        m = torch.tensor([[1.5, -0.4], [0.3, 0.8]], dtype=torch.float64)[:dim, :dim]
        self.A = nn.Parameter((m + m.T).float())
        self.b = nn.Parameter(torch.tensor([0.2, -0.7])[:dim])

    def forward(self, x: torch.Tensor) -> DOutput:
        logits = 0.5 * ((x @ self.A) * x).sum(1) + x @ self.b
        return DOutput(logits, x)


def r3gan_run(make_run, gamma: float = 2.0, **sections):
    return make_run(recipe="r3gan", r3gan={"gamma": gamma}, **sections)


def phase_inputs(run, seed: int):
    """The real batch and the fakes a D phase with a generator seeded ``seed`` draws (the same
    draws in the same order: real batch, then z)."""
    ctx = StepContext(run.data, 64, torch.device("cpu"), torch.Generator().manual_seed(seed))
    real = ctx.real_batch()
    with torch.no_grad():
        fake = run.recipe.nets["G"](ctx.draw(run.recipe.latent))
    return real, fake


def phase_with_quadratic_d(run, name: str, seed: int):
    """Phase ``name`` of ``run``'s recipe with D replaced by :class:`QuadraticD`, drawing with a
    generator seeded ``seed``: its output, that D, and the real and fake batches it drew."""
    recipe = run.recipe
    recipe.nets["D"] = D = QuadraticD()
    phase = next(p for p in recipe.phases() if p.name == name)
    ctx = StepContext(run.data, 64, torch.device("cpu"), torch.Generator().manual_seed(seed))
    return (recipe.run_phase(phase, ctx), D, *phase_inputs(run, seed))


def test_the_d_terms_are_the_pairing_loss_and_gamma_half_r1_plus_r2(make_run):
    out, D, real, fake = phase_with_quadratic_d(r3gan_run(make_run, gamma=2.0), "d", seed=3)
    A, b = D.A.detach().double(), D.b.detach().double()
    x, y = real.double(), fake.double()
    d_x = 0.5 * ((x @ A) * x).sum(1) + x @ b
    d_y = 0.5 * ((y @ A) * y).sum(1) + y @ b
    loss = np.log1p(np.exp(-(d_x - d_y).numpy())).mean()  # softplus(-t) = log(1 + e^-t)
    r1 = ((x @ A + b) ** 2).sum(1).mean().item()  # ||grad D||^2 = ||A x + b||^2
    r2 = ((y @ A + b) ** 2).sum(1).mean().item()
    assert out.terms["d_loss"].item() == pytest.approx(loss, rel=1e-5)
    assert out.terms["d_r1"].item() == pytest.approx(2.0 / 2 * r1, rel=1e-5)
    assert out.terms["d_r2"].item() == pytest.approx(2.0 / 2 * r2, rel=1e-5)


def test_the_g_term_is_the_pairing_loss_the_other_way(make_run):
    out, D, real, fake = phase_with_quadratic_d(r3gan_run(make_run), "g", seed=5)
    with torch.no_grad():
        t = (D(fake).logits - D(real).logits).double().numpy()
    assert set(out.terms) == {"g_loss"}
    assert out.terms["g_loss"].item() == pytest.approx(np.log1p(np.exp(-t)).mean(), rel=1e-5)


def test_the_penalties_equal_autograd_on_a_quadratic_critic():
    D = QuadraticD()
    x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    scores = D(x).logits
    (grad,) = torch.autograd.grad(D(x).logits.sum(), x)
    closed = x.detach() @ D.A.detach() + D.b.detach()
    torch.testing.assert_close(grad, closed)
    torch.testing.assert_close(squared_gradient_norms(scores, x), closed.square().sum(1))


def test_r2_reaches_d_only_never_g(make_run):
    """R2 is taken on detached generated images: D's phase gives G no gradient."""
    run = r3gan_run(make_run)
    recipe = run.recipe
    recipe.nets.requires_grad_(True)
    ctx = StepContext(run.data, 64, torch.device("cpu"), torch.Generator().manual_seed(0))
    out = recipe.run_phase(recipe.phases()[0], ctx)
    out.terms["d_r2"].backward()
    assert all(p.grad is None for p in recipe.nets["G"].parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in recipe.nets["D"].parameters())


def test_gamma_zero_adds_no_penalty_terms(make_run):
    run = r3gan_run(make_run, gamma=0.0)
    ctx = StepContext(run.data, 64, torch.device("cpu"), torch.Generator().manual_seed(0))
    assert set(run.recipe.run_phase(run.recipe.phases()[0], ctx).terms) == {"d_loss"}


# --- the schedules ---------------------------------------------------------------------------

def test_the_cosine_decay_is_half_a_cosine_period_from_its_start():
    """From the first step it is R3GAN's cosine_decay_with_warmup without warm-up:
    final + (base - final) (1 + cos(pi s / L)) / 2 at step s of L."""
    train = TrainConfig(steps=101, lr_decay_from=0.0, decay_shape="cosine")
    for step in (0, 10, 50, 99, 100):
        assert decay_weight(step, train) == pytest.approx((1 + math.cos(math.pi * step / 101)) / 2)
    assert decay_weight(500, train) == decay_weight(100, train)  # past the end: the last step's
    late = TrainConfig(steps=100, lr_decay_from=0.5, decay_shape="cosine")
    assert decay_weight(49, late) == 1.0 and decay_weight(50, late) == 1.0
    assert decay_weight(75, late) == pytest.approx((1 + math.cos(math.pi * 0.5)) / 2)


def test_the_linear_decay_to_zero_is_what_it_was():
    train = TrainConfig(steps=40, lr_decay_from=0.5)
    assert [lr_factor(s, train) for s in (0, 19, 20, 30, 39, 80)] == [
        1.0, 1.0, 1.0, (40 - 30) / 20, 1 / 20, 1 / 20]


def test_values_move_from_first_to_final_by_the_decay():
    train = TrainConfig(steps=10, lr_decay_from=0.0, decay_shape="cosine", lr_final=0.25,
                        beta2=0.9, beta2_final=0.99)
    for step in range(10):
        w = decay_weight(step, train)
        assert lr_factor(step, train) == pytest.approx(0.25 + 0.75 * w)
        assert beta2(step, train) == pytest.approx(0.99 + (0.9 - 0.99) * w)
        assert scheduled(0.05, 0.005, step, train) == pytest.approx(0.005 + 0.045 * w)
    assert scheduled(0.05, None, 7, train) == 0.05
    assert beta2(3, TrainConfig(beta2=0.95)) == 0.95


def test_a_run_steps_adam_with_the_scheduled_beta2_and_logs_the_scheduled_gamma(make_run):
    run = r3gan_run(make_run, gamma=1.0, train={
        "steps": 4, "lr_decay_from": 0.0, "decay_shape": "cosine", "lr_final": 0.25,
        "beta2_final": 0.99, "log_every": 1})
    seen = []  # beta2 as each optimizer step sees it: the step's own, set before it
    for optimizer in run.trainer.optimizers.values():
        step = optimizer.step

        def spy(*args, step=step, optimizer=optimizer, **kwargs):
            seen.append(optimizer.param_groups[0]["betas"][1])
            return step(*args, **kwargs)

        optimizer.step = spy
    history = run.fit()
    train = run.config.train
    assert seen == pytest.approx([beta2(s, train) for s in range(4) for _ in "dg"])
    assert seen[-1] != train.beta2
    assert [r["lr/d"] for r in history] == pytest.approx(
        [1e-3 * lr_factor(s, train) for s in range(4)])
    assert [r["beta2"] for r in history] == pytest.approx([beta2(s, train) for s in range(4)])


def test_gamma_follows_its_schedule_step_by_step(make_run):
    run = make_run(recipe="r3gan", r3gan={"gamma": 1.0, "gamma_final": 0.1},
                   train={"steps": 5, "lr_decay_from": 0.0, "decay_shape": "cosine",
                          "log_every": 1})
    history = run.fit()
    train = run.config.train
    assert [r["gamma"] for r in history] == pytest.approx(
        [scheduled(1.0, 0.1, s, train) for s in range(5)])


@pytest.mark.parametrize("sections, words", [
    ({"r3gan": {"gamma": -0.1}}, ["r3gan.gamma", "-0.1", ">= 0"]),
    ({"r3gan": {"gamma_final": -1.0}}, ["r3gan.gamma_final", "-1.0"]),
    ({"r3gan": {"gamma_final": 0.01}}, ["r3gan.gamma_final", "never takes effect",
                                        "lr_decay_from"]),
    ({"train": {"decay_shape": "sawtooth"}}, ["train.decay_shape", "'sawtooth'", "linear",
                                              "cosine"]),
    ({"train": {"lr_final": 1.5}}, ["train.lr_final", "1.5", "[0, 1]"]),
    ({"train": {"beta2_final": 1.0, "lr_decay_from": 0.0}}, ["train.beta2_final", "1.0"]),
    ({"train": {"beta2_final": 0.99}}, ["train.beta2_final=0.99", "never start",
                                        "lr_decay_from"]),
    ({"train": {"lr_final": 0.25}}, ["train.lr_final=0.25", "never start", "lr_decay_from"]),
    ({"train": {"beta2_final": 0.99, "lr_decay_from": 0.0, "optimizer": "rmsprop"}},
     ["train.beta2_final", "Adam", "rmsprop"]),
    ({"train": {"g_ema_rampup": 0.05}}, ["train.g_ema_rampup", "train.g_ema"]),
    ({"r3gan": {"penalty_every": 0}}, ["r3gan.penalty_every", ">= 1"]),
])
def test_bad_schedule_values_are_one_line_before_any_work(tmp_path, capsys, sections, words):
    from conftest import tiny_dict

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(recipe="r3gan", **sections)))
    line = one_error_line(capsys, ["train", str(config), "--out", str(tmp_path / "run")])
    assert all(word in line for word in words), line
    assert not (tmp_path / "run").exists()


def test_the_api_refuses_a_negative_gamma_with_the_same_words(make_run):
    with pytest.raises(ConfigError, match=r"r3gan.gamma must be >= 0"):
        r3gan_run(make_run, gamma=-1.0)


def test_lazy_penalties_come_every_kth_step_k_times_as_heavy(make_run):
    """r3gan.penalty_every = k (StyleGAN2's lazy regularization): R1 + R2 at steps 0, k, 2k, ...
    weighted k gamma / 2, none between; the average weight over k steps is gamma / 2."""
    lazy = make_run(recipe="r3gan", r3gan={"gamma": 2.0, "penalty_every": 3})
    eager = r3gan_run(make_run, gamma=2.0)
    lazy.recipe.nets["D"] = QuadraticD()
    eager.recipe.nets["D"] = QuadraticD()
    for step in range(5):
        terms = [run.recipe.run_phase(run.recipe.phases()[0], StepContext(
            run.data, 64, torch.device("cpu"), torch.Generator().manual_seed(step), step=step)
        ).terms for run in (lazy, eager)]
        if step % 3:
            assert set(terms[0]) == {"d_loss"}
        else:
            for name in ("d_r1", "d_r2"):
                assert terms[0][name].item() == pytest.approx(3 * terms[1][name].item())


def test_a_penalty_interval_below_one_is_one_line(make_run):
    with pytest.raises(ConfigError, match=r"r3gan.penalty_every must be a step count >= 1"):
        make_run(recipe="r3gan", r3gan={"penalty_every": 0})


def test_the_recipe_trains_its_own_networks_deterministically_in_bf16_and_fp32(make_run):
    """The r3gan recipe on the r3gan family, lazy penalties and every schedule on: two steps
    change G and D, twice the same."""
    image = {"data": {"name": "digits8", "batch_size": 16, "n_eval": 50},
             "model": {"name": "r3gan", "latent_dim": 4, "g_hidden": 4, "d_hidden": 4,
                       "blocks_per_stage": 1, "channels_per_group": 4},
             "r3gan": {"gamma": 0.5, "gamma_final": 0.05, "penalty_every": 2},
             "train": {"steps": 2, "lr_decay_from": 0.0, "decay_shape": "cosine",
                       "lr_final": 0.25, "beta2_final": 0.99, "g_ema": 0.99,
                       "g_ema_rampup": 0.05, "log_every": 1}}
    for precision in ("fp32", "bf16"):
        runs = [make_run(recipe="r3gan", **{**image, "train": {**image["train"],
                                                                 "precision": precision}})
                for _ in range(2)]
        start = {name: [p.detach().clone() for p in runs[0].recipe.nets[name].parameters()]
                 for name in ("G", "D")}
        histories = [[{k: v for k, v in record.items() if k != "steps_per_s"}
                      for record in run.fit()] for run in runs]
        assert "d_r1" in histories[0][0] and "d_r1" not in histories[0][1]  # lazy: step 0 only
        assert histories[0] == histories[1]
        for name in ("G", "D"):
            trained = [list(run.recipe.nets[name].parameters()) for run in runs]
            assert all(torch.equal(a, b) for a, b in zip(*trained, strict=True))
            assert not all(torch.equal(a, b) for a, b in zip(start[name], trained[0],
                                                              strict=True))


def test_going_on_at_the_final_rate_holds_gamma_and_beta2_too(make_run):
    """on_extend final_lr keeps the schedule's length: past it every scheduled value stays at
    its last step's, gamma and beta2 with the learning rates."""
    run = make_run(recipe="r3gan", r3gan={"gamma": 1.0, "gamma_final": 0.1},
                   train={"steps": 4, "lr_decay_from": 0.0, "decay_shape": "cosine",
                          "lr_final": 0.25, "beta2_final": 0.99, "log_every": 1})
    run.fit()
    history = run.fit(7, on_extend="final_lr")
    train = run.config.train
    assert train.lr_schedule_steps == 4
    last = {"gamma": scheduled(1.0, 0.1, 3, train), "beta2": beta2(3, train),
            "lr/d": 1e-3 * lr_factor(3, train)}
    for record in history[-3:]:
        assert {k: record[k] for k in last} == pytest.approx(last)
