"""Intervals that follow the run, and going on past its end (issue 29).

``train.log_every`` / ``plot_every`` / ``checkpoint_every`` take a count or a fraction of
``train.steps``; a run that goes on past ``train.steps`` stretches its learning-rate schedule
or keeps it and trains on at its final rate (``train.on_extend``); the periodic toy W1 is
measured on a subsample, the final one on all points.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import yaml

import gankit
from conftest import all_tensors, assert_identical, one_error_line, tiny_dict
from gankit.commandline.cli import main
from gankit.configuration.resolve import build_config
from gankit.configuration.schema import every
from gankit.errors import ConfigError
from gankit.evaluation.plan import EVAL_SEED
from gankit.evaluation.points import SNAPSHOT_W1_N
from gankit.theory.divergences import wasserstein1
from gankit.training.checkpoint import latest_checkpoint, load_checkpoint

# --- resolving an interval ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "steps", "expected"), [
    (0.1, 600, 60), (0.1, 12000, 1200), (0.25, 10, 3),  # 2.5 rounds half up
    (0.1, 15, 2), (0.1, 14, 1), (0.001, 100, 1),  # at least 1
    (1.0, 600, 600), (1, 600, 1), (50, 600, 50), (700, 600, 700)])
def test_an_interval_is_a_count_or_a_rounded_fraction_of_the_run(value, steps, expected):
    assert every(value, steps) == expected


@pytest.mark.parametrize("value", [0, 1.5, -0.1, 0.0, "often", True, None, 10**10])
@pytest.mark.parametrize("key", ["log_every", "plot_every", "checkpoint_every"])
def test_an_interval_outside_a_count_or_a_fraction_is_one_line(key, value):
    with pytest.raises(ConfigError) as err:
        build_config(tiny_dict(train={key: value}))
    message = str(err.value)
    assert message.startswith(f"train.{key} must be a step count in [1, 1000000000] or a "
                              f"fraction of train.steps in [1e-09, 1], got ")
    assert "\n" not in message


def test_a_bad_fraction_on_the_command_line_is_one_line(capsys):
    line = one_error_line(capsys, ["train", "ring8", "--set", "train.plot_every=1.5"])
    assert "train.plot_every must be a step count" in line and line.endswith("got 1.5")


# --- what a run does with them --------------------------------------------------------------


def _counting(run):
    """Make ``run``'s snapshot hook record the step of each snapshot instead."""
    seen: list[int] = []
    run.trainer.hooks = [lambda trainer: seen.append(trainer.step)]
    return seen


@pytest.mark.parametrize("steps", [20, 50])
def test_a_fractional_plot_every_gives_ten_snapshots_at_any_length(make_run, steps):
    run = make_run(train={"steps": steps, "plot_every": 0.1})
    seen = _counting(run)
    run.fit()
    assert seen == [steps // 10 * k for k in range(1, 11)]


def test_fractional_log_and_checkpoint_intervals(make_run, tmp_path):
    run = make_run(tmp_path / "run", train={"steps": 20, "log_every": 0.25,
                                            "checkpoint_every": 0.5, "keep_checkpoints": 9})
    run.fit()
    assert [r["step"] for r in run.trainer.history] == [5, 10, 15, 20]
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == [
        "step-0000010", "step-0000020"]


def test_fractions_follow_the_run_when_it_goes_on(make_run):
    run = make_run(train={"steps": 20, "plot_every": 0.1})
    seen = _counting(run)
    run.fit()
    run.fit(40)  # every 10% of 40 steps: 4
    assert seen[10:] == [24, 28, 32, 36, 40]


# --- going on past train.steps ----------------------------------------------------------------


def _rates(run, target, on_extend=None):
    """The learning rate of each step of ``run.fit(target)``: (step trained, lr_g, lr_d)."""
    rates: list[tuple[int, float, float]] = []
    run.trainer.hooks = [lambda t: rates.append((t.step - 1, t.last_lr["g"], t.last_lr["d"]))]
    run.fit(target, on_extend=on_extend)
    return rates


# 8 steps, the decay from step 4 (lr_decay_from 0.5) to 0 at step 8: a step s >= 4 trains at
# lr (8 - s) / 4, so the last (s = 7) at lr / 4.
FIRST = [1, 1, 1, 1, 1, 0.75, 0.5, 0.25]
# On to 12 steps. final_lr: the last step's rate on. stretch: the decay from step 6 to 0 at
# step 12, (12 - s) / 6 for s = 8..11.
GOING_ON = {"final_lr": [0.25, 0.25, 0.25, 0.25], "stretch": [4 / 6, 3 / 6, 2 / 6, 1 / 6]}


@pytest.mark.parametrize("choice", ["final_lr", "stretch"])
def test_going_on_stretches_or_keeps_the_schedule_step_by_step(make_run, choice):
    run = make_run(train={"steps": 8, "lr_decay_from": 0.5, "lr_g": 2e-3, "lr_d": 1e-3,
                          "plot_every": 1})
    first = _rates(run, None)
    going_on = _rates(run, 12, choice)
    expected = FIRST + GOING_ON[choice]
    assert [s for s, _, _ in first + going_on] == list(range(12))
    assert [g for _, g, _ in first + going_on] == pytest.approx([2e-3 * f for f in expected])
    assert [d for _, _, d in first + going_on] == pytest.approx([1e-3 * f for f in expected])
    assert run.config.train.steps == 12
    assert run.config.train.lr_schedule_steps == (8 if choice == "final_lr" else 0)


def test_a_constant_schedule_is_the_same_either_way(make_run):
    runs = {choice: make_run(train={"steps": 4}) for choice in ("stretch", "final_lr")}
    for choice, run in runs.items():
        run.fit()
        run.fit(8, on_extend=choice)
    assert_identical(all_tensors(runs["stretch"]), all_tensors(runs["final_lr"]))


def _readme_example(overrides):
    """README, Python API: ring8 (its learning rates decay over the second half) for 300
    steps, then loaded and trained on to 600, with every warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = gankit.build("ring8", overrides=["train.steps=300", *overrides],
                           run_dir="runs/api-demo", progress=False)
        run.fit()
        again = gankit.load("runs/api-demo", progress=False)
        again.fit(600)
    assert again.step == 600 and again.config.train.on_extend == "stretch"
    return again


def test_the_readme_example_goes_on_without_a_warning(tmp_path, monkeypatch):
    """The example's schedule on small networks with one snapshot a fit (the example as it
    is: the slow test below)."""
    monkeypatch.chdir(tmp_path)
    again = _readme_example(["model.g_hidden=16", "model.d_hidden=16", "data.batch_size=64",
                             "data.n_eval=200", "train.plot_every=1.0"])
    assert again.config.train.steps == 600


@pytest.mark.slow
def test_the_readme_example_as_it_is_goes_on_without_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _readme_example([]).config.train.steps == 600


def test_the_choice_is_recorded_and_a_resumed_run_keeps_it(make_run, tmp_path):
    decaying = {"steps": 8, "lr_decay_from": 0.5, "checkpoint_every": 2}
    straight = make_run(train=decaying)
    straight.fit()
    straight.fit(12, on_extend="final_lr")
    stopped = make_run(tmp_path / "run", train=decaying)
    stopped.fit()
    stopped.fit(10, on_extend="final_lr")
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]
    saved = load_checkpoint(latest_checkpoint(tmp_path / "run"))[1]["config"]["train"]
    for recorded in (written, saved):
        assert (recorded["on_extend"], recorded["lr_schedule_steps"], recorded["steps"]) == (
            "final_lr", 8, 10)
    again = gankit.load(tmp_path / "run", progress=False)
    again.trainer.hooks = []
    again.fit(12)  # no argument: the recorded choice
    assert again.config.train.lr_schedule_steps == 8
    assert_identical(all_tensors(straight), all_tensors(again))


def test_the_command_line_goes_on_at_the_final_rate(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(train={"steps": 4, "lr_decay_from": 0.5})))
    assert main(["train", str(config), "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "r"), "--set", "train.steps=8",
                 "--continue-at-final-lr", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "schedule" not in err and "warning" not in err  # asked for: nothing to say
    written = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["train"]
    assert (written["steps"], written["on_extend"], written["lr_schedule_steps"]) == (
        8, "final_lr", 4)


@pytest.mark.parametrize(("train", "message"), [
    ({"on_extend": "restart"}, "train.on_extend must be one of stretch, final_lr, got "
                               "'restart'")])
def test_bad_continuation_keys_are_one_line(train, message):
    with pytest.raises(ConfigError, match=None) as err:
        build_config(tiny_dict(train=train))
    assert str(err.value).startswith(message)


def test_fit_refuses_an_unknown_choice_before_training(make_run):
    run = make_run(train={"steps": 4})
    with pytest.raises(ConfigError, match="on_extend must be one of stretch, final_lr, got 'x'"):
        run.fit(8, on_extend="x")
    assert run.step == 0 and run.config.train.steps == 4


# --- the periodic W1 on a subsample -----------------------------------------------------------


def test_the_periodic_w1_is_exact_on_a_subsample_and_the_final_on_all(make_run):
    run = make_run(data={"n_eval": 2500}, train={"steps": 1})
    device = torch.device("cpu")
    periodic = run.plan.measure(2500, EVAL_SEED, None, device, False)
    handed = run.plan.measure(2500, EVAL_SEED, None, device, True)
    # the full W1 is left for after the pictures are handed to the drawing process
    assert "w1" not in handed.metrics and handed.curve == periodic.metrics
    full = handed.complete()
    assert full.rest is None and full.curve == periodic.metrics
    fake, real = full.fake, full.real
    assert periodic.metrics["w1_n"] == SNAPSHOT_W1_N == 300 and "w1_n" not in full.metrics
    assert periodic.metrics["w1"] == pytest.approx(
        wasserstein1(fake[:SNAPSHOT_W1_N], real[:SNAPSHOT_W1_N]), rel=1e-12)
    assert full.metrics["w1"] == pytest.approx(wasserstein1(fake, real), rel=1e-12)
    assert periodic.metrics["w1"] == pytest.approx(full.metrics["w1"], rel=0.1)
    # the mode metrics cost little and stay over all points
    for key in ("modes", "high_quality", "reverse_kl"):
        assert periodic.metrics[key] == full.metrics[key]


def test_the_final_snapshot_measures_as_gankit_eval_does(make_run):
    run = make_run(hooks=True, data={"n_eval": 1500}, train={"steps": 4, "plot_every": 2})
    run.fit()
    logged = [r for r in run.trainer.history if "eval/w1" in r]
    # every point of the curve, the final one too, is the W1 over the same first 300 points
    # (like with like for the curves and keep_best), while the result is over all of them
    assert [r["eval/w1_n"] for r in logged] == [SNAPSHOT_W1_N] * 2
    full = run.plan.measure(1500, EVAL_SEED, None, torch.device("cpu"), True).complete()
    assert logged[-1]["eval/w1"] == full.curve["w1"] != full.metrics["w1"]
    assert run.trainer.last_curve["w1"] == logged[-1]["eval/w1"]
    assert run.result == run.eval_record() and "w1_n" not in run.result


def test_a_config_written_from_scratch_snapshots_ten_times_like_the_shipped_ones():
    """Issue 29: the defaults are fractions, so a YAML with only ``steps: 400`` gets ten
    snapshots and checkpoints and a log every 1%, not one snapshot at its end (the old 500)."""
    from gankit.configuration.resolve import load_config

    config = build_config({"data": {"name": "ring8"}, "train": {"steps": 400}})
    keys = ("log_every", "plot_every", "checkpoint_every")
    assert [config.train.every(key) for key in keys] == [4, 40, 40]
    shipped = load_config("grid25").train
    assert [getattr(config.train, key) for key in keys] == [getattr(shipped, key) for key in keys]


# --- review of issue 29: where the schedule's note is said ----------------------------------


def _four_then_eight(tmp_path, *flags: str) -> None:
    """A run of 4 steps (its decay from step 2) gone on to 8 by the CLI with ``flags``, in
    tmp_path / "r", checkpoints 2..8."""
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_dict(train={"steps": 4, "lr_decay_from": 0.5,
                                                      "checkpoint_every": 2,
                                                      "keep_checkpoints": 10})))
    assert main(["train", str(config), "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    assert main(["train", "--resume", str(tmp_path / "r"), "--set", "train.steps=8", *flags,
                 "--no-progress"]) == 0


def _extended(tmp_path, capsys):
    """:func:`_four_then_eight` stretching the schedule, which is said once."""
    _four_then_eight(tmp_path)
    err = capsys.readouterr().err
    assert "gankit: train.steps 4 -> 8 stretches the learning-rate schedule" in err
    assert 'fit(on_extend="final_lr") or --continue-at-final-lr' in err
    return tmp_path / "r"


def test_reading_an_older_checkpoint_of_an_extended_run_says_nothing_of_the_schedule(
        tmp_path, capsys, caplog):
    run_dir = _extended(tmp_path, capsys)
    assert main(["sample", str(run_dir), "--checkpoint", "4", "--n", "2", "--out",
                 str(tmp_path / "s.npy")]) == 0
    assert "schedule" not in capsys.readouterr().err
    caplog.set_level("INFO", logger="gankit")
    caplog.clear()  # the CLI's own notes above
    run = gankit.load(run_dir, progress=False, checkpoint=4, out=tmp_path / "b")
    assert run.config.train.steps == 8 and not caplog.records  # applied, not said
    run.trainer.hooks = []
    run.fit()  # training goes on: said once, as information, never on stderr by itself
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "stretches the learning-rate schedule" in caplog.records[0].getMessage()
    assert "schedule" not in capsys.readouterr().err


def test_the_schedule_length_is_a_key_a_resume_cannot_trip(tmp_path, capsys):
    """train.lr_schedule_steps may exceed train.steps: a run gone on at the final rate
    (schedule 4) continued from step 2 with fewer steps (3) than its schedule."""
    _four_then_eight(tmp_path, "--continue-at-final-lr")
    assert main(["train", "--resume", str(tmp_path / "r"), "--checkpoint", "2", "--out",
                 str(tmp_path / "b"), "--set", "train.steps=3", "--no-progress"]) == 0
    written = yaml.safe_load((tmp_path / "b" / "config.yaml").read_text())["train"]
    assert (written["steps"], written["lr_schedule_steps"]) == (3, 4)
    config = build_config(tiny_dict(train={"steps": 8, "lr_schedule_steps": 16,
                                           "lr_decay_from": 0.5}))
    from gankit.training.optimization import lr_factor
    assert lr_factor(12, config.train) == pytest.approx(0.5)  # (16 - 12) / (16 - 8)
