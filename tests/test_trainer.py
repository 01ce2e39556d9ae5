"""The training loop: bit-exact resume, TTUR, n_critic, clipping, determinism, failures, signals."""

import json
import os
import pickle
import signal

import pytest
import torch

from conftest import all_tensors, assert_identical
from gankit.errors import CheckpointError, NonFiniteLossError
from gankit.training.checkpoint import (
    checkpoint_dir,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
)
from gankit.training.trainer import TrainingInterrupted

N = 4  # steps per half of a resumed run

# train.steps = 2N: fit(N) is the first half of a run configured for 2N steps.
RESUME_CASES = {
    "non-saturating": dict(loss={"name": "non-saturating"}, train={"steps": 2 * N}),
    "wgan-gp, n_critic 3": dict(loss={"name": "wgan-gp"}, train={"steps": 2 * N, "n_critic": 3}),
    "wgan, rmsprop": dict(loss={"name": "wgan"},
                          train={"steps": 2 * N, "n_critic": 2, "optimizer": "rmsprop"}),
    "minimax, batchnorm G": dict(loss={"name": "minimax"}, model={"g_batchnorm": True},
                                 train={"steps": 2 * N}),
    "hinge, G weight average": dict(loss={"name": "hinge"}, train={"steps": 2 * N, "g_ema": 0.9}),
    "hinge, spectral norm, batch layers": dict(
        loss={"name": "hinge"}, train={"steps": 2 * N},
        model={"spectral_norm": True, "minibatch_stddev": True, "minibatch_discrimination": 3}),
}


def record_phases(run):
    """Wrap the recipe's run_phase to log each call's phase name and the parameters before it."""
    calls, snapshots = [], []
    original = run.recipe.run_phase

    def run_phase(phase, ctx):
        calls.append(phase.name)
        snapshots.append({name: [p.detach().clone() for p in net.parameters()]
                          for name, net in run.recipe.nets.items()})
        return original(phase, ctx)

    run.recipe.run_phase = run_phase
    return calls, snapshots


def changed(a, b):
    return any(not torch.equal(x, y) for x, y in zip(a, b, strict=True))


# --- resume -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_resume_is_bit_identical_to_training_straight_through(make_run, tmp_path, case):
    sections = RESUME_CASES[case]
    straight = make_run(**sections)
    straight.fit()

    first = make_run(run_dir=tmp_path, **sections)
    first.fit(N)  # saves at its last step
    assert latest_checkpoint(tmp_path) == checkpoint_dir(tmp_path, N)

    resumed = make_run(run_dir=tmp_path, **sections).restore()
    assert resumed.step == N
    resumed.fit()
    assert resumed.step == straight.step == 2 * N
    assert_identical(all_tensors(straight), all_tensors(resumed))
    for name, opt in straight.trainer.optimizers.items():
        groups = resumed.trainer.optimizers[name].param_groups
        assert [g["lr"] for g in groups] == [g["lr"] for g in opt.param_groups]
    # The run that saved and went on in-process agrees too: saving and logging draw no randomness.
    first.fit()
    assert_identical(all_tensors(straight), all_tensors(first))


def test_snapshot_hooks_do_not_change_the_training_run(make_run, tmp_path):
    """A hook at mid-run (toy metrics in eval mode, own generator) leaves training bit-exact,
    batch-norm statistics included."""
    sections = dict(model={"g_batchnorm": True}, train={"steps": 2 * N, "plot_every": N})
    plain = make_run(**sections)
    plain.fit()
    hooked = make_run(hooks=True, **sections)
    hooked.fit()
    assert any("eval/modes" in r for r in hooked.trainer.history)
    assert_identical(all_tensors(plain), all_tensors(hooked))


def test_the_resumed_run_checkpoints_the_same_state(make_run, tmp_path):
    """The checkpoint a resumed run writes equals the straight run's, tensor for tensor."""
    train = {"steps": 2 * N, "checkpoint_every": N}
    make_run(run_dir=tmp_path / "straight", train=train).fit()
    make_run(run_dir=tmp_path / "split", train=train).fit(N)
    make_run(run_dir=tmp_path / "split", train=train).restore().fit()
    t1, s1 = load_checkpoint(checkpoint_dir(tmp_path / "straight", 2 * N))
    t2, s2 = load_checkpoint(checkpoint_dir(tmp_path / "split", 2 * N))
    assert_identical(t1, t2)
    assert s1["optimizers"] == s2["optimizers"] and s1["step"] == s2["step"] == 2 * N


def test_restore_takes_the_configs_learning_rates(make_run, tmp_path):
    make_run(run_dir=tmp_path).fit(2)
    resumed = make_run(run_dir=tmp_path, train={"lr_d": 4e-4, "lr_g": 5e-5}).restore()
    assert resumed.trainer.optimizers["d"].param_groups[0]["lr"] == 4e-4
    assert resumed.trainer.optimizers["g"].param_groups[0]["lr"] == 5e-5


def test_restore_into_a_different_model_is_a_checkpoint_error(make_run, tmp_path):
    make_run(run_dir=tmp_path).fit(2)
    wider = make_run(run_dir=tmp_path, model={"d_hidden": 32})
    with pytest.raises(CheckpointError) as err:
        wider.restore()
    assert "\n" not in str(err.value) and "does not match" in str(err.value)


def test_restore_never_unpickles(make_run, tmp_path, monkeypatch):
    make_run(run_dir=tmp_path).fit(2)

    def forbidden(*args, **kwargs):
        raise AssertionError("restoring a run must not unpickle")

    for module, name in ((pickle, "load"), (pickle, "loads"), (torch, "load")):
        monkeypatch.setattr(module, name, forbidden)
    assert make_run(run_dir=tmp_path).restore().step == 2


def test_restore_without_a_checkpoint(make_run, tmp_path):
    with pytest.raises(CheckpointError):
        make_run(run_dir=tmp_path).restore()


# --- optimizers and phases --------------------------------------------------------------------


def test_ttur_each_optimizer_holds_its_networks_and_learning_rate(make_run):
    run = make_run(train={"lr_d": 4e-4, "lr_g": 1e-4, "beta1": 0.0, "beta2": 0.9})
    opts = run.trainer.optimizers
    assert [g["lr"] for g in opts["d"].param_groups] == [4e-4]
    assert [g["lr"] for g in opts["g"].param_groups] == [1e-4]
    assert all(g["betas"] == (0.0, 0.9) for o in opts.values() for g in o.param_groups)
    for name, net in (("d", "D"), ("g", "G")):
        held = {id(p) for g in opts[name].param_groups for p in g["params"]}
        assert held == {id(p) for p in run.recipe.nets[net].parameters()}
    run.fit()  # and training keeps them (no schedule unless configured)
    assert [g["lr"] for g in opts["d"].param_groups] == [4e-4]
    assert [g["lr"] for g in opts["g"].param_groups] == [1e-4]


@pytest.mark.parametrize("decay_from", [1.0, 0.5])
def test_fit_past_the_configured_steps_still_trains(make_run, decay_from):
    run = make_run(train={"steps": 2, "lr_decay_from": decay_from})
    run.fit()
    before = [p.detach().clone() for p in run.recipe.parameters()]
    run.fit(4)
    assert run.step == 4 and run.config.train.steps == 4  # the schedule now spans 4 steps
    assert changed(before, list(run.recipe.parameters()))


def test_linear_decay_schedule(make_run):
    """lr_decay_from = 0.5 over 10 steps: factor 1 for steps 0-4, then (10 - s) / 5."""
    trainer = make_run(train={"steps": 10, "lr_decay_from": 0.5}).trainer
    factors = []
    for step in range(10):
        trainer.step = step
        factors.append(trainer.lr_factor())
    assert factors == pytest.approx([1, 1, 1, 1, 1, 1.0, 0.8, 0.6, 0.4, 0.2])


def test_rmsprop_when_configured(make_run):
    run = make_run(train={"optimizer": "rmsprop", "lr_d": 5e-5})
    assert isinstance(run.trainer.optimizers["d"], torch.optim.RMSprop)
    assert run.trainer.optimizers["d"].param_groups[0]["lr"] == 5e-5


@pytest.mark.parametrize("k", [1, 3])
def test_n_critic_runs_k_d_steps_per_g_step(make_run, k):
    steps = 3
    run = make_run(loss={"name": "wgan-gp"}, train={"n_critic": k, "steps": steps})
    calls, _ = record_phases(run)
    run.fit()
    assert calls == (["d"] * k + ["g"]) * steps
    # Adam's own count agrees: k * steps updates of D, steps updates of G.
    for name, expected in (("d", k * steps), ("g", steps)):
        counts = {int(s["step"]) for s in run.trainer.optimizers[name].state.values()}
        assert counts == {expected}


def test_each_phase_moves_only_its_own_network(make_run):
    run = make_run(loss={"name": "wgan-gp"}, train={"n_critic": 2, "steps": 2})
    calls, snapshots = record_phases(run)
    run.fit()
    snapshots.append({name: list(net.parameters()) for name, net in run.recipe.nets.items()})
    for i, phase in enumerate(calls):
        before, after = snapshots[i], snapshots[i + 1]
        stepped, other = ("D", "G") if phase == "d" else ("G", "D")
        assert changed(before[stepped], after[stepped]), (i, phase)
        assert not changed(before[other], after[other]), (i, phase)


def test_phases_hand_state_on_within_a_step_and_never_across_steps(make_run):
    """The trainer hands one fresh StepContext through a step's phases: what the D phase puts
    in ``ctx.carry`` (the fake batch under reuse_fake) reaches the G phase of the same step,
    the next step starts empty, and a phase run alone (the view's "one G step") finds nothing."""
    run = make_run(train={"steps": 2, "n_critic": 2, "reuse_fake": True})
    seen = []
    original = run.recipe.run_phase

    def run_phase(phase, ctx):
        seen.append((phase.name, ctx, set(ctx.carry)))
        return original(phase, ctx)

    run.recipe.run_phase = run_phase
    run.fit()
    run.trainer.train_steps(1, phase="g")
    assert [(name, keys) for name, _, keys in seen] == [
        ("d", set()), ("d", {"fake"}), ("g", {"fake"}),
        ("d", set()), ("d", {"fake"}), ("g", {"fake"}), ("g", set())]
    contexts = [ctx for _, ctx, _ in seen]
    assert contexts[0] is contexts[1] is contexts[2] and contexts[2] is not contexts[3]
    assert not run.trainer.ctx.carry  # the trainer's own context holds no step's state


def test_fit_leaves_every_network_trainable(make_run):
    """fit() switches off weight gradients of the network a phase does not step; afterwards a user
    computing D's weight gradients (a probe, fine-tuning) would silently get none."""
    run = make_run(train={"steps": 1})
    run.fit()
    assert all(p.requires_grad for p in run.recipe.parameters())


# --- WGAN weight clipping ---------------------------------------------------------------------


@pytest.mark.parametrize("clip", [None, 0.05])
def test_wgan_clipping_bounds_every_d_weight_but_no_g_weight(make_run, clip):
    loss = {"name": "wgan"} if clip is None else {"name": "wgan", "clip": clip}
    c = torch.tensor(0.01 if clip is None else clip).item()  # float32, like the weights
    run = make_run(loss=loss, train={"lr_d": 1e-2, "lr_g": 1e-2, "n_critic": 2, "steps": 3})
    run.fit()
    d_values = torch.cat([p.detach().flatten() for p in run.recipe.nets["D"].parameters()])
    g_values = torch.cat([p.detach().flatten() for p in run.recipe.nets["G"].parameters()])
    assert d_values.abs().max().item() <= c
    assert (d_values.abs() == c).any()  # the constraint is active, not trivially met
    assert g_values.abs().max().item() > 10 * c


def test_no_clipping_for_other_losses(make_run):
    run = make_run(loss={"name": "wgan-gp"}, train={"steps": 2})
    run.fit()
    assert max(p.abs().max().item() for p in run.recipe.nets["D"].parameters()) > 0.1


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_same_weights_different_seed_different(make_run):
    runs = [make_run(train={"seed": seed}) for seed in (0, 0, 1)]
    for run in runs:
        run.fit()
    assert_identical(all_tensors(runs[0]), all_tensors(runs[1]))
    a, c = all_tensors(runs[0]), all_tensors(runs[2])
    assert all(not torch.equal(a[k], c[k]) for k in a if k.startswith("nets."))


def test_same_seed_same_samples(make_run):
    runs = [make_run(), make_run()]
    for run in runs:
        run.fit()
    assert torch.equal(runs[0].sample(50, seed=3), runs[1].sample(50, seed=3))
    assert not torch.equal(runs[0].sample(50, seed=3), runs[0].sample(50, seed=4))


# --- logging and checkpoints ------------------------------------------------------------------


def test_logs_and_checkpoints_at_their_intervals(make_run, tmp_path):
    run = make_run(run_dir=tmp_path, loss={"name": "wgan-gp"},
                   train={"steps": 6, "log_every": 2, "checkpoint_every": 1,
                          "keep_checkpoints": 2})
    history = run.fit()
    train_records = [r for r in history if "d_loss" in r]
    assert [r["step"] for r in train_records] == [2, 4, 6]
    assert {"d_loss", "g_loss", "d_gp", "critic_w1", "steps_per_s"} <= train_records[0].keys()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "d_loss" in r] == [2, 4, 6]
    assert list_checkpoints(tmp_path) == [checkpoint_dir(tmp_path, 5), checkpoint_dir(tmp_path, 6)]


# --- non-finite losses ------------------------------------------------------------------------


def nan_at_step(run, bad_step):
    """Make the D loss NaN during training step ``bad_step`` (1-based)."""
    original = run.recipe.d_loss

    def d_loss(d_real, d_fake):
        loss = original(d_real, d_fake)
        return loss * float("nan") if run.trainer.step + 1 == bad_step else loss

    run.recipe.d_loss = d_loss


def test_nan_loss_names_the_step_and_the_last_good_checkpoint(make_run, tmp_path):
    run = make_run(run_dir=tmp_path, train={"steps": 10, "checkpoint_every": 1})
    nan_at_step(run, 3)
    with pytest.raises(NonFiniteLossError) as err:
        run.fit()
    message = str(err.value)
    assert "\n" not in message
    assert "step 3" in message and str(checkpoint_dir(tmp_path, 2)) in message, message
    assert run.step == 2
    # The checkpoint it names is good: it loads and holds finite weights.
    good = make_run(run_dir=tmp_path).restore(checkpoint_dir(tmp_path, 2))
    assert all(torch.isfinite(p).all() for p in good.recipe.parameters())


def test_nan_loss_without_a_run_directory(make_run):
    run = make_run(train={"steps": 10})
    nan_at_step(run, 1)
    with pytest.raises(NonFiniteLossError, match=r"step 1\b.*last good checkpoint: none"):
        run.fit()


def test_the_checkpoint_named_last_good_holds_finite_weights(make_run, tmp_path):
    run = make_run(run_dir=tmp_path, train={"lr_d": 1e10, "lr_g": 1e10, "steps": 50,
                                            "checkpoint_every": 1})
    with pytest.raises(NonFiniteLossError) as err:
        run.fit()
    named = str(err.value).rpartition("last good checkpoint: ")[2]
    saved = list_checkpoints(tmp_path)
    assert named == (str(saved[-1]) if saved else "none")
    for path in saved:  # no checkpoint with non-finite weights was written at all
        tensors, _ = load_checkpoint(path)
        bad = [k for k, v in tensors.items()
               if k.startswith("nets.") and not torch.isfinite(v).all()]
        assert not bad, f"{path} holds non-finite {bad}"


def test_a_huge_learning_rate_ends_in_non_finite_loss_error(make_run):
    run = make_run(train={"lr_d": 1e30, "lr_g": 1e30, "steps": 50})
    with pytest.raises(NonFiniteLossError, match="non-finite loss"):
        run.fit()
    assert run.step < 50


# --- signals (in-process; the CLI's exit codes are tested in test_cli.py) ----------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_saves_a_checkpoint_and_stops(make_run, tmp_path, signum):
    run = make_run(run_dir=tmp_path, train={"steps": 100})
    calls, _ = record_phases(run)
    original = run.recipe.run_phase

    def run_phase(phase, ctx):
        if run.trainer.step == 2 and phase.name == "g":
            os.kill(os.getpid(), signum)  # arrives mid-step; the step is finished first
        return original(phase, ctx)

    run.recipe.run_phase = run_phase
    before = signal.getsignal(signum)
    with pytest.raises(TrainingInterrupted) as err:
        run.fit()
    assert err.value.signum == signum and run.step == 3
    assert latest_checkpoint(tmp_path) == checkpoint_dir(tmp_path, 3)
    assert str(checkpoint_dir(tmp_path, 3)) in str(err.value)
    assert signal.getsignal(signum) == before  # handlers restored
    straight = make_run(train={"steps": 5})
    straight.fit()
    resumed = make_run(run_dir=tmp_path, train={"steps": 5}).restore()
    resumed.fit()
    assert_identical(all_tensors(straight), all_tensors(resumed))


def test_the_non_finite_check_runs_once_per_step_over_all_its_phases(make_run):
    """One host sync a step (not one a phase): the check sees every repeat of every phase."""
    run = make_run(train={"steps": 4, "n_critic": 3})
    seen = []
    original = run.trainer._check_finite
    run.trainer._check_finite = lambda losses: (seen.append([name for name, _ in losses]),
                                                original(losses))[1]
    run.fit()
    assert seen == [["d", "d", "d", "g"]] * 4


def test_a_non_finite_g_loss_names_the_g_phase(make_run):
    run = make_run(train={"steps": 5})
    original = run.recipe.loss.g_loss

    def g_loss(d_fake):  # turns NaN at step 2
        value = original(d_fake)
        return value * float("nan") if run.trainer.step + 1 == 2 else value

    spec = run.recipe.loss
    run.recipe.loss = type("NaNAtStep2", (), {
        "g_loss": staticmethod(g_loss), "d_loss": staticmethod(spec.d_loss),
        "probabilistic": spec.probabilistic, "estimates_w1": spec.estimates_w1})()
    with pytest.raises(NonFiniteLossError, match=r"phase 'g' at step 2 \(g_loss=nan\)"):
        run.fit()


# --- what the trainer shows is the recipe's -----------------------------------------------------


def test_the_progress_bar_shows_the_recipes_headline_or_all_its_terms(make_run):
    run = make_run(train={"steps": 2})
    run.fit()
    record = {"d_loss": 1.0, "g_loss": 2.0, "d_real": 0.5, "critic_w1": 0.1}
    assert run.trainer._headline(record) == ["d_loss", "g_loss", "critic_w1"]
    run.recipe.headline = ()  # a recipe that names none: every loss term it returned
    assert run.trainer._headline(record) == ["d_loss", "g_loss"]


def test_training_curves_draw_whatever_the_recipe_logs(tmp_path, monkeypatch):
    from gankit.evaluation import plots

    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, **_: figures.append(fig) or path)
    records = [{"step": s, "q_loss": 1.0 / s, "gap": 0.1 * s, "steps_per_s": 9.0, "lr/d": 1e-3,
                "eval/modes": s} for s in (1, 2, 3)]
    plots.plot_training_curves(records, tmp_path / "t.png", terms={"q_loss"})
    axes = [ax for ax in figures[0].axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["losses", "statistics", "modes captured"]
    assert [line.get_label() for line in axes[0].lines] == ["q_loss"]
    assert [line.get_label() for line in axes[1].lines] == ["gap"]


def test_a_recipes_batch_multiple_is_checked_per_process():
    from gankit.errors import GankitError
    from gankit.training.distributed import check_batch

    check_batch(12, 2, 3, "model.pack")
    with pytest.raises(GankitError, match=r"processes times model.pack \(2 x 3\)"):
        check_batch(9, 2, 3, "model.pack")
    with pytest.raises(GankitError, match=r"number of processes \(2\)$"):
        check_batch(9, 2)
