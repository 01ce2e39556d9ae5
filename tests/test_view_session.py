"""The browser view's engine, without a server: settings checked, steps trained as the
trainer trains them, frames that are the math they draw and the same for the same seed, and
run directories the rest of the CLI accepts."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch

from conftest import one_error_line, tiny_dict
from gankit.api import build
from gankit.commandline.cli import main
from gankit.errors import ConfigError
from gankit.theory.divergences import wasserstein1
from gankit.view import frames
from gankit.view.session import ViewSession
from gankit.view.settings import (
    DRAWN,
    loss_choices,
    parse_points,
    parse_settings,
    settings_of,
    toy_sets,
    view_config,
)
from view_helpers import Collector

BASE = tiny_dict(data={"batch_size": 64})


def page_settings(**changes):
    config = view_config(BASE, settings_of(build_config_of(BASE), "ring8"))
    return {**settings_of(config, "ring8").to_page(), **changes}


def build_config_of(data):
    from gankit.configuration.resolve import build_config

    return build_config(copy.deepcopy(data))


# ----------------------------------------------------------------------------- settings
def test_the_choices_are_the_2d_toys_and_the_unconditional_losses():
    assert toy_sets() == ["grid25", "ring8", "swiss-roll", "wgangp-grid25", "wgangp-ring8"]
    losses = loss_choices()
    assert {"minimax", "non-saturating", "wgan", "wgan-gp", "lsgan", "hinge", "began", "meg",
            "f-kl"} <= set(losses)
    assert not {"cgan", "acgan", "projection", "caae", "infogan"} & set(losses)


@pytest.mark.parametrize(("change", "message"), [
    ({"lr_g": -1e-3}, "lr_g must be a number in (0, 1], got -0.001"),
    ({"lr_d": float("nan")}, "lr_d must be a number in (0, 1]"),
    ({"g_hidden": 10**9}, "g_hidden must be an integer in [1, 1024], got 1000000000"),
    ({"d_depth": 2.5}, "d_depth must be an integer in [1, 8], got 2.5"),
    ({"n_critic": True}, "n_critic must be an integer in [1, 20], got True"),
    ({"batch_size": "512"}, "batch_size must be an integer in [2, 4096], got '512'"),
    ({"dataset": "mnist5k"}, "dataset 'mnist5k' is not a 2-D toy set"),
    ({"colour": 1}, "unknown setting 'colour'"),
])
def test_bad_settings_are_one_line_naming_the_value(change, message):
    with pytest.raises(ConfigError) as err:
        parse_settings(page_settings(**change))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_step_too_costly_for_a_live_view_is_refused():
    with pytest.raises(ConfigError, match=r"cost about 2\.3e\+11 FLOP a training step; the "
                                          r"live view trains at most 2e\+10"):
        view_config(BASE, parse_settings(page_settings(g_hidden=1024, d_hidden=1024, g_depth=8,
                                                       d_depth=8, batch_size=1024)))


def test_whole_floats_from_javascript_are_integers():
    assert parse_settings(page_settings(g_hidden=32.0)).g_hidden == 32


def test_a_missing_setting_is_named():
    settings = page_settings()
    del settings["seed"]
    with pytest.raises(ConfigError, match="setting seed is missing"):
        parse_settings(settings)


def test_the_library_checks_apply_after_the_views():
    with pytest.raises(ConfigError, match="loss 'cgan' is not one the view trains"):
        view_config(BASE, parse_settings(page_settings(loss="cgan")))


@pytest.mark.parametrize(("points", "message"), [
    ([[0.0, 0.0]] * 5001, "holds 10 to 5000 points, got 5001"),
    ([[0.0, 0.0]] * 3, "got 3"),
    ([[0.0, 0.0]] * 9 + [[0.0, float("inf")]], "finite numbers"),
    ([[0.0, 0.0, 1.0]] * 10, "each point must be [x, y]"),
    ("0,0", "points must be a list"),
])
def test_bad_drawn_data_sets_are_refused(points, message):
    with pytest.raises(ConfigError) as err:
        parse_points(points)
    assert message in str(err.value)


def test_the_view_trains_with_one_thread_and_constant_rates():
    config = view_config(BASE, parse_settings(page_settings(loss="wgan-gp", lr_g=2e-4)))
    assert config.train.threads == 1 and config.train.lr_decay_from == 1.0
    assert config.loss.name == "wgan-gp" and config.train.lr_g == 2e-4


# ----------------------------------------------------------------------------- trainer steps
def test_train_steps_trains_what_fit_trains():
    config = build_config_of(tiny_dict(train={"steps": 8, "reuse_fake": True}))
    by_fit = build(copy.deepcopy(config), progress=False, snapshots=False)
    by_fit.fit(8)
    stepped = build(copy.deepcopy(config), progress=False, snapshots=False)
    for _ in range(4):
        losses = stepped.trainer.train_steps(2)
    assert stepped.step == 8 and {"d_loss", "g_loss"} <= set(losses)
    for key, value in by_fit.recipe.nets.state_dict().items():
        assert torch.equal(value, stepped.recipe.nets.state_dict()[key]), key


def test_one_phase_steps_only_its_networks_and_a_g_step_counts():
    run = build(build_config_of(tiny_dict()), progress=False, snapshots=False)
    g_before = copy.deepcopy(run.recipe.nets["G"].state_dict())
    d_before = copy.deepcopy(run.recipe.nets["D"].state_dict())
    run.trainer.train_steps(1, "d")
    assert run.step == 0
    assert all(torch.equal(v, run.recipe.nets["G"].state_dict()[k]) for k, v in g_before.items())
    assert not all(torch.equal(v, run.recipe.nets["D"].state_dict()[k])
                   for k, v in d_before.items())
    run.trainer.train_steps(1, "g")
    assert run.step == 1
    assert not all(torch.equal(v, run.recipe.nets["G"].state_dict()[k])
                   for k, v in g_before.items())
    with pytest.raises(Exception, match="no phase 'q'; its phases are d, g"):
        run.trainer.train_steps(1, "q")


# ----------------------------------------------------------------------------- frames
@pytest.fixture
def trained():
    run = build(build_config_of(tiny_dict(loss={"name": "minimax"})), progress=False,
                snapshots=False)
    run.trainer.train_steps(30)
    run.recipe.eval()
    return run


def test_the_box_holds_the_data_and_its_grid_covers_it():
    points = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    box = frames.Box.around(points, margin=0.25)
    assert (box.x, box.y, box.half) == pytest.approx((1.0, 1.5, 1.5 + 1e-3))
    grid = box.grid(4)
    assert grid.shape == (16, 2)
    assert grid[0].tolist() == pytest.approx([box.x - box.half * 0.75, box.y - box.half * 0.75])
    assert grid[1, 0] > grid[0, 0] and grid[4, 1] > grid[0, 1]  # x fastest, rows upward


def test_a_frame_draws_what_the_networks_say(trained):
    recipe = trained.recipe
    draws = frames.Draws.of(recipe, trained.data)
    drawn = frames.frame(recipe, draws, chunk=64)
    with torch.no_grad():
        assert torch.equal(drawn["fake"], recipe.decode(draws.z_shown))
        heat, label = recipe.landscape(draws.box.grid(frames.HEAT_SIDE))
    assert label == drawn["heat_label"] == "D(x)"
    torch.testing.assert_close(drawn["heat"], heat, rtol=1e-5, atol=1e-6)
    assert drawn["manifold"].shape == (frames.MANIFOLD_SIDE ** 2, 2)
    # Each arrow is minus the gradient of the minimax G loss log(1 - D(x)) at that point,
    # checked by central differences of the loss of that point alone.
    x = drawn["fake"][:5].double()
    for i in range(5):
        for axis in range(2):
            def loss_at(offset, i=i, axis=axis):
                moved = x[i].clone()
                moved[axis] += offset
                with torch.no_grad():
                    d = recipe.critic(moved[None].float())
                return float(torch.log1p(-torch.sigmoid(d)).squeeze())
            numeric = (loss_at(1e-3) - loss_at(-1e-3)) / 2e-3
            assert float(drawn["arrows"][i, axis]) == pytest.approx(-numeric, rel=2e-2, abs=1e-4)


def test_a_frame_survives_the_binary_message():
    arrays = {"fake": torch.randn(7, 2), "heat": torch.rand(16)}
    header, decoded = frames.decode_message(frames.encode({"type": "frame", "step": 3}, arrays))
    assert header["step"] == 3 and header["arrays"] == [["fake", [7, 2]], ["heat", [16]]]
    for name, values in arrays.items():
        assert np.array_equal(decoded[name], values.numpy())


def test_the_live_metrics_are_the_librarys(trained):
    draws = frames.Draws.of(trained.recipe, trained.data)
    record = frames.metrics(trained.recipe, trained.data, draws)
    with torch.no_grad():
        fake = trained.recipe.decode(draws.z_measured)
    assert record["w1"] == pytest.approx(wasserstein1(fake, draws.real_measured))
    assert record["n_modes"] == 8 and 0 <= record["modes"] <= 8
    assert 0 <= record["acceptance"] <= 1
    assert record["reverse_kl"] is None or math.isfinite(record["reverse_kl"])  # inf: null
    assert np.array(record["chains"]).shape == (frames.CHAINS, frames.CHAIN_STEPS + 1, 2)


# ----------------------------------------------------------------------------- sessions
@pytest.fixture
def start(tmp_path):
    """``start(opened=None)`` -> a session on BASE (or on a run directory) and its messages,
    ready; every session is closed when the test ends, passed or not."""
    sessions: list[ViewSession] = []

    def begin(**kwargs) -> tuple[ViewSession, Collector]:
        collector = Collector()
        session = ViewSession(copy.deepcopy(BASE), tmp_path / "runs", collector, **kwargs)
        sessions.append(session)
        collector.wait_event("ready")
        return session, collector

    yield begin
    for session in sessions:
        session.close()


def play_to(session: ViewSession, collector: Collector, step: int) -> None:
    session.submit({"type": "play"})
    collector.wait_frame(lambda h: h["step"] >= step)
    session.submit({"type": "pause"})


def test_the_same_seed_and_settings_give_the_same_frames(tmp_path, start):
    runs = []
    for _ in range(2):
        session, collector = start()
        session.submit({"type": "speed", "steps_per_frame": 3, "delay_ms": 0})
        play_to(session, collector, 60)
        session.close()
        runs.append({h["step"]: (h, a) for h, a in collector.frames()})
    shared = sorted(set(runs[0]) & set(runs[1]))
    assert len(shared) >= 20 and all(step % 3 == 0 for step in shared)
    for step in shared:
        (h0, a0), (h1, a1) = runs[0][step], runs[1][step]
        assert h0["losses"] == h1["losses"]
        assert all(np.array_equal(a0[k], a1[k]) for k in a0)
    assert not np.array_equal(runs[0][shared[0]][1]["fake"], runs[0][shared[-1]][1]["fake"])


def test_reset_replays_and_another_seed_does_not(tmp_path, start):
    session, collector = start()
    session.submit({"type": "step", "phase": "full"})
    first = collector.wait_frame(lambda h: h["step"] == 1 and h["generation"] == 1)
    session.submit({"type": "reset"})
    again = collector.wait_frame(lambda h: h["step"] == 0 and h["generation"] == 2)
    session.submit({"type": "step", "phase": "full"})
    again = collector.wait_frame(lambda h: h["step"] == 1 and h["generation"] == 2)
    session.submit({"type": "settings", "settings": page_settings(seed=7)})
    session.submit({"type": "step", "phase": "full"})
    other = collector.wait_frame(lambda h: h["step"] == 1 and h["generation"] == 3)
    session.close()
    assert np.array_equal(first[1]["fake"], again[1]["fake"])
    assert not np.array_equal(first[1]["fake"], other[1]["fake"])


def test_single_phase_steps_are_counted_apart(tmp_path, start):
    session, collector = start()
    for phase in ("d", "d", "g", "full"):
        session.submit({"type": "step", "phase": phase})
    header, _ = collector.wait_frame(lambda h: h["d_steps"] == 3 and h["g_steps"] == 2)
    session.close()
    assert header["step"] == 2


@pytest.mark.parametrize(("message", "answer"), [
    ("not an object", "a message must be an object with a type"),
    (None, "a message must be an object with a type, got None"),  # JSON's null
    ({"type": "fly"}, "unknown message type 'fly'"),
    ({"type": "step", "phase": "x"}, "phase must be d, g or full, got 'x'"),
    ({"type": "speed", "steps_per_frame": 0}, "steps_per_frame must be an integer in [1, 100]"),
    ({"type": "settings", "settings": {"lr_g": -1}}, "setting dataset is missing"),
    ({"type": "save", "name": "../outside"}, "a run name is 1 to 64 letters"),
    ({"type": "save", "name": "/etc"}, "a run name is 1 to 64 letters"),
    ({"type": "open", "name": "nothing-here"}, "no run 'nothing-here'"),
    ({"type": "invalid", "reason": "malformed JSON"}, "unreadable message: malformed JSON"),
])
def test_a_bad_message_is_answered_and_the_session_goes_on(tmp_path, message, answer, start):
    session, collector = start()
    errors = len(collector.events("error"))
    session.submit(message)
    error = collector.wait_event("error", after=errors)
    assert answer in error["message"] and "\n" not in error["message"]
    session.submit({"type": "step", "phase": "full"})
    collector.wait_frame(lambda h: h["step"] == 1)
    session.close()
    assert not (tmp_path / "outside").exists()


def test_null_is_answered_while_playing_and_the_run_plays_on(start):
    """None is a page's message like any other, not the session's own wake-up call."""
    session, collector = start()
    session.submit({"type": "play"})
    collector.wait_frame(lambda h: h["step"] >= 1)
    session.submit(None)
    assert "got None" in collector.wait_event("error")["message"]
    frames_then = len(collector.frames())
    collector.wait(lambda: len(collector.frames()) > frames_then, "a frame after the error")
    session.close()


def test_a_refused_setting_leaves_the_run_as_it_was(tmp_path, start):
    session, collector = start()
    session.submit({"type": "step", "phase": "full"})
    collector.wait_frame(lambda h: h["step"] == 1)
    session.submit({"type": "settings", "settings": page_settings(d_hidden=10**9)})
    assert "d_hidden must be" in collector.wait_event("error")["message"]
    session.submit({"type": "step", "phase": "full"})
    header, _ = collector.wait_frame(lambda h: h["step"] == 2)
    session.close()
    assert header["generation"] == 1


def test_a_diverging_run_pauses_with_a_message(tmp_path, monkeypatch, start):
    from gankit.errors import NonFiniteLossError
    from gankit.training.trainer import Trainer

    session, collector = start()

    def diverge(self, n=1, phase=None):
        raise NonFiniteLossError("non-finite loss in phase 'd' at step 1 (d_loss=nan)", None)

    monkeypatch.setattr(Trainer, "train_steps", diverge)
    session.submit({"type": "play"})
    error = collector.wait_event("error")
    status = collector.wait_event("status", lambda e: not e["playing"],
                                  after=len(collector.events("status")) - 1)
    session.close()
    assert "non-finite loss" in error["message"] and "lower the learning rates" in \
        error["message"]
    assert status["playing"] is False


def test_loss_defaults_come_from_the_losss_config(tmp_path, start):
    session, collector = start()
    session.submit({"type": "defaults", "loss": "meg", "dataset": "ring8"})
    settings = collector.wait_event("defaults")["settings"]
    session.close()
    assert (settings["loss"], settings["n_critic"], settings["lr_g"]) == ("meg", 5, 1e-4)


# ----------------------------------------------------------------------------- run directories
def test_a_saved_run_resumes_samples_and_evaluates(tmp_path, capsys, start):
    session, collector = start()
    session.submit({"type": "speed", "steps_per_frame": 5, "delay_ms": 0})
    play_to(session, collector, 20)
    session.submit({"type": "save", "name": "mine"})
    saved = collector.wait_event("saved")
    session.close()
    run_dir = tmp_path / "runs" / "mine"
    assert saved["path"] == str(run_dir) and saved["runs"] == ["mine"]
    step = saved["step"]
    assert (run_dir / "config.yaml").is_file() and (run_dir / "eval.json").is_file()
    assert json.loads((run_dir / "eval.json").read_text())["step"] == step
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records]
    assert steps == sorted(steps)  # in step order, however the metrics came in
    assert any({"d_loss", "g_loss"} <= set(r) for r in records)  # the losses the page drew
    live = [r for r in records[:-1] if "eval/w1" in r]  # the live metrics, from step 0
    assert live[0]["step"] == 0 and {"eval/w1", "eval/modes", "eval/acceptance"} <= set(live[0])
    assert records[-1]["step"] == step and "eval/high_quality" in records[-1]
    assert main(["train", "--resume", str(run_dir), "--set", f"train.steps={step + 5}",
                 "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == step + 5
    assert main(["sample", str(run_dir), "--n", "10", "--out", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (10, 2)
    assert main(["eval", str(run_dir), "--n", "100"]) == 0


def test_a_drawn_data_set_trains_saves_and_opens(tmp_path, start):
    generator = torch.Generator().manual_seed(0)
    points = (torch.randn(200, 2, generator=generator) * 0.1 + torch.tensor([1.0, -1.0]))
    session, collector = start()
    session.submit({"type": "settings", "settings": page_settings(dataset=DRAWN),
                    "points": points.tolist()})
    ready = collector.wait_event("ready", lambda e: e["settings"]["dataset"] == DRAWN)
    assert ready["box"]["x"][0] < 1.0 < ready["box"]["x"][1]
    for _ in range(3):
        session.submit({"type": "step", "phase": "full"})
    header, arrays = collector.wait_frame(lambda h: h["generation"] == 2 and h["step"] == 3)
    session.submit({"type": "save", "name": "drawn"})
    collector.wait_event("saved")
    session.close()
    run_dir = tmp_path / "runs" / "drawn"
    kept = np.loadtxt(run_dir / "points.csv", delimiter=",", dtype=np.float32)
    assert np.array_equal(kept, points.numpy())
    assert main(["train", "--resume", str(run_dir), "--set", "train.steps=4",
                 "--no-progress"]) == 0

    opened, again = start()
    opened.submit({"type": "open", "name": "drawn"})
    ready = again.wait_event("ready", lambda e: e["settings"]["dataset"] == DRAWN)
    _, reopened = again.wait_frame(lambda h: h["generation"] == ready["generation"])
    opened.close()
    assert ready["step"] == 4  # the resumed run's newest checkpoint
    assert np.array(ready["real"]).shape == (frames.SHOWN, 2)
    assert not np.array_equal(reopened["fake"], arrays["fake"])  # one more step was trained


def test_an_opened_run_draws_the_frame_it_was_saved_at(tmp_path, start):
    session, collector = start()
    for _ in range(4):
        session.submit({"type": "step", "phase": "full"})
    _, at_save = collector.wait_frame(lambda h: h["step"] == 4)
    session.submit({"type": "save", "name": "four"})
    collector.wait_event("saved")
    session.close()
    opened, again = start(opened=tmp_path / "runs" / "four")
    _, reopened = again.wait_frame(lambda h: h["step"] == 4)
    opened.close()
    for name in at_save:
        assert np.array_equal(at_save[name], reopened[name]), name


def test_saving_never_overwrites_a_directory_it_did_not_write(tmp_path, start):
    (tmp_path / "runs" / "theirs").mkdir(parents=True)
    (tmp_path / "runs" / "theirs" / "notes.txt").write_text("keep me")
    session, collector = start()
    session.submit({"type": "save", "name": "theirs"})
    error = collector.wait_event("error")
    session.submit({"type": "save", "name": "mine"})
    collector.wait_event("saved")
    session.submit({"type": "step", "phase": "full"})
    session.submit({"type": "save", "name": "mine"})  # its own: saved again, newer step
    second = collector.wait_event("saved", after=1)
    session.close()
    assert "already exists" in error["message"]
    assert sorted(p.name for p in (tmp_path / "runs" / "theirs").iterdir()) == ["notes.txt"]
    assert second["step"] == 1


def test_every_view_loss_trains_and_draws(tmp_path, start):
    session, collector = start()
    for generation, loss in enumerate(loss_choices(), start=2):
        session.submit({"type": "defaults", "loss": loss, "dataset": "ring8"})
        settings = collector.wait_event("defaults", lambda e, loss=loss:
                                        e["settings"]["loss"] == loss)["settings"]
        session.submit({"type": "settings", "settings": settings})
        session.submit({"type": "step", "phase": "full"})
        header, arrays = collector.wait_frame(
            lambda h, g=generation: h["generation"] == g and h["step"] == 1)
        assert all(np.isfinite(a).all() for a in arrays.values()), loss
        assert math.isfinite(header["arrow_max"]) and header["arrow_max"] > 0, loss
    session.close()
    assert not collector.events("error")


def test_a_gankit_train_run_opens_and_trains_on_at_constant_rates(tmp_path, start):
    config = tiny_dict(train={"steps": 4, "lr_decay_from": 0.5})
    run = build(build_config_of(config), run_dir=tmp_path / "runs" / "trained", progress=False,
                snapshots=False)
    run.fit()  # its learning rates have decayed to 0 at step 4
    session, collector = start(opened=tmp_path / "runs" / "trained")
    _, before = collector.wait_frame(lambda h: h["step"] == 4)
    session.submit({"type": "step", "phase": "full"})
    _, after = collector.wait_frame(lambda h: h["step"] == 5)
    assert session.run.config.train.lr_decay_from == 1.0
    assert not np.array_equal(before["fake"], after["fake"])  # it still learns


def test_a_failure_inside_the_library_is_said_and_the_session_goes_on(tmp_path, start,
                                                                      monkeypatch):
    session, collector = start()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gankit.view.session.save_points", full_disk)
    monkeypatch.setattr("gankit.training.trainer.Trainer.save", full_disk)
    session.submit({"type": "save", "name": "full"})
    error = collector.wait_event("error")
    session.submit({"type": "step", "phase": "full"})
    collector.wait_frame(lambda h: h["step"] == 1)
    assert error["message"] == "OSError: [Errno 28] No space left on device"


@pytest.fixture
def checkpointed(tmp_path):
    """A gankit train run in runs/steps with checkpoints at steps 2 and 4."""
    config = tiny_dict(train={"steps": 4, "checkpoint_every": 2, "keep_checkpoints": 2})
    build(build_config_of(config), run_dir=tmp_path / "runs" / "steps", progress=False,
          snapshots=False).fit()
    return tmp_path / "runs" / "steps"


@pytest.mark.parametrize("how", ["--checkpoint", "folder"])
def test_gankit_view_opens_the_checkpoint_chosen_and_says_it(checkpointed, monkeypatch, capsys,
                                                             how):
    """Issue 29: the view reads a run like every other command, at ``--checkpoint STEP`` or a
    checkpoint folder; the pages open that checkpoint, not the run's newest."""
    from gankit.view import server

    served = {}
    monkeypatch.setattr(server, "serve", lambda base, runs, opened, host, port:
                        served.update(base=base, opened=opened))
    folder = checkpointed / "checkpoints" / "step-0000002"
    argv = [str(checkpointed), "--checkpoint", "2"] if how == "--checkpoint" else [str(folder)]
    assert main(["view", *argv, "--runs", str(checkpointed.parent), "--port", "0"]) == 0
    assert served["opened"] == folder
    assert served["base"]["train"]["steps"] == 4  # the run's config.yaml
    assert f"gankit: using checkpoint step 2 of {checkpointed}" in capsys.readouterr().err


def test_gankit_view_of_a_run_opens_its_newest_checkpoint(checkpointed, monkeypatch, capsys):
    from gankit.view import server

    served = {}
    monkeypatch.setattr(server, "serve", lambda base, runs, opened, host, port:
                        served.update(opened=opened))
    assert main(["view", str(checkpointed), "--runs", str(checkpointed.parent)]) == 0
    assert served["opened"] == checkpointed  # a page opened later finds the newest then
    assert f"using checkpoint step 4 of {checkpointed}" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["RUN", "--checkpoint", "3"], "has no checkpoint of step 3; its checkpoints: 2, 4"),
    (["RUN", "--checkpoint", "best"], "best"),
    (["ring8", "--checkpoint", "2"], "--checkpoint chooses a checkpoint of a run directory; "
                                     "ring8 is a config"),
])
def test_gankit_view_refuses_a_checkpoint_it_cannot_open_in_one_line(checkpointed, monkeypatch,
                                                                     capsys, argv, message):
    from gankit.view import server

    monkeypatch.setattr(server, "serve", lambda *args: pytest.fail("served"))
    line = one_error_line(capsys, ["view", *[str(checkpointed) if a == "RUN" else a
                                             for a in argv], "--port", "0"])
    assert message in line


def test_a_run_opened_at_an_older_checkpoint_trains_from_it_and_is_not_saved_over(
        checkpointed, start):
    session, collector = start(opened=checkpointed / "checkpoints" / "step-0000002")
    assert collector.events("ready")[0]["step"] == 2
    session.submit({"type": "step", "phase": "full"})
    collector.wait_frame(lambda h: h["step"] == 3)
    session.submit({"type": "save", "name": "steps"})  # would mix steps 3 and 4
    assert "has checkpoints after step 2 (4), where this run was opened; saving it there " \
           "would mix two histories" in collector.wait_event("error")["message"]
    session.submit({"type": "save", "name": "from-two"})
    assert collector.wait_event("saved")["step"] == 3
    assert sorted(p.name for p in (checkpointed / "checkpoints").iterdir()) == [
        "step-0000002", "step-0000004"]
