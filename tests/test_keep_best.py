"""Keeping the best checkpoints (issue 29, ``train.keep_best``): a scripted metric sequence
from a stub snapshot hook gives a known best list; pruning by ``keep_checkpoints`` never
deletes a listed checkpoint; a resumed run keeps its list; the listed checkpoints hold the
weights of their step and resume bit-exactly."""

from __future__ import annotations

import json

import pytest
import torch

import gankit
from conftest import all_tensors, assert_identical, one_error_line, tiny_dict
from gankit.commandline.cli import main
from gankit.configuration.resolve import build_config
from gankit.errors import GankitError
from gankit.training.best import ranked, read_best
from gankit.training.checkpoint import checkpoint_dir, load_checkpoint, prune_checkpoints

# fid after each step: best two (min) are steps 4 (1.0) and 5 (2.0) after step 6
FID = {1: 5.0, 2: 3.0, 3: 4.0, 4: 1.0, 5: 2.0, 6: 6.0, 7: 0.5, 8: 7.0}
TRAIN = {"steps": 6, "plot_every": 1, "checkpoint_every": 1000, "keep_checkpoints": 1,
         "keep_best": {"metric": "fid", "mode": "min", "k": 2}}


def scripted(values: dict[int, float], weights: dict[int, dict] | None = None):
    """A snapshot hook that reports ``values[step]`` as fid (and keeps G's weights by step)."""

    def hook(trainer) -> None:
        torch.rand(3)  # as a snapshot may: a draw from torch's global RNG, the run's own
        trainer.log_eval({"fid": values[trainer.step], "kid": 0.0}, {"n": 100, "seed": 1})
        if weights is not None:
            weights[trainer.step] = {k: v.clone() for k, v in
                                     trainer.recipe.nets["G"].state_dict().items()}

    return hook


def kept(run_dir) -> list[int]:
    return sorted(int(p.name.removeprefix("step-")) for p in (run_dir / "checkpoints").iterdir())


def listed(run_dir) -> list[tuple[int, float]]:
    return [(e["step"], e["value"]) for e in read_best(run_dir)["checkpoints"]]


def make(make_run, run_dir, values=FID, weights=None, **train):
    run = make_run(run_dir=run_dir, train={**TRAIN, **train})
    run.trainer.hooks = [scripted(values, weights)]
    return run


def test_the_k_best_are_kept_listed_and_hold_their_steps_weights(make_run, tmp_path):
    weights: dict[int, dict] = {}
    make(make_run, tmp_path, weights=weights).fit()
    assert listed(tmp_path) == [(4, 1.0), (5, 2.0)]
    assert kept(tmp_path) == [4, 5, 6]  # the best two and the newest (keep_checkpoints: 1)
    record = json.loads((tmp_path / "best.json").read_text())
    assert (record["metric"], record["mode"], record["k"]) == ("fid", "min", 2)
    assert record["checkpoints"][0]["path"] == "checkpoints/step-0000004"
    for step in (4, 5):
        tensors, state = load_checkpoint(checkpoint_dir(tmp_path, step))
        assert state["step"] == step
        assert_identical({k.removeprefix("nets.G."): v for k, v in tensors.items()
                          if k.startswith("nets.G.")}, weights[step])
    loaded = gankit.load(tmp_path, progress=False, checkpoint="best")
    assert loaded.step == 4 and loaded.checkpoint.note == "best fid 1"


def test_the_final_snapshot_ranks_by_its_curve_point_not_its_full_measurement(make_run,
                                                                            tmp_path):
    """The final snapshot measures the run's result in full (the toy W1 over all points) and
    logs its curve point as every snapshot measures it; keep_best ranks that curve point, so
    a full measurement's smaller sampling bias cannot make the last step the best."""

    def hook(trainer) -> None:
        curve = {"fid": FID[trainer.step], "kid": 0.0}
        full = {"fid": 0.01, "kid": 0.0} if trainer.at_final_step else None
        trainer.log_eval(full or curve, {"n": 100, "seed": 1}, curve if full else None)

    run = make_run(run_dir=tmp_path, train=TRAIN)
    run.trainer.hooks = [hook]
    run.fit()
    assert listed(tmp_path) == [(4, 1.0), (5, 2.0)]  # step 6 ranks at its curve's 6.0
    assert run.result["fid"] == 0.01  # the result is the full measurement

def test_mode_max_keeps_the_highest(make_run, tmp_path):
    make(make_run, tmp_path, keep_best={"metric": "fid", "mode": "max", "k": 3}).fit()
    assert listed(tmp_path) == [(6, 6.0), (1, 5.0), (3, 4.0)]
    assert kept(tmp_path) == [1, 3, 6]


def test_a_best_checkpoint_saved_between_checkpoints_resumes_bit_exactly(make_run, tmp_path):
    """A best step saved by the list (not by checkpoint_every) holds what the trainer's own
    checkpoint of that step holds, random streams included (not those the snapshot that
    measured it left), and resumes bit-exactly."""
    whole = make(make_run, tmp_path / "a")
    whole.fit()
    make(make_run, tmp_path / "every", checkpoint_every=1, keep_checkpoints=10,
         keep_best=None).fit()
    listed_one, _ = load_checkpoint(checkpoint_dir(tmp_path / "a", 4))
    saved_one, _ = load_checkpoint(checkpoint_dir(tmp_path / "every", 4))
    assert_identical(listed_one, saved_one)
    resumed = gankit.load(tmp_path / "a", progress=False, checkpoint=4, out=tmp_path / "c")
    resumed.trainer.hooks = [scripted(FID)]
    resumed.fit()
    assert_identical(all_tensors(resumed), all_tensors(whole))


def test_pruning_never_deletes_a_listed_checkpoint(make_run, tmp_path):
    make(make_run, tmp_path, checkpoint_every=1).fit()  # every step saved, pruned to 1 + best
    assert kept(tmp_path) == [4, 5, 6]
    prune_checkpoints(tmp_path, 1, {checkpoint_dir(tmp_path, 4).resolve()})
    assert kept(tmp_path) == [4, 6]


def test_a_resumed_run_keeps_its_list(make_run, tmp_path):
    make(make_run, tmp_path).fit()
    resumed = make(make_run, tmp_path, steps=8).restore()
    resumed.fit()
    assert listed(tmp_path) == [(7, 0.5), (4, 1.0)]  # step 5 pushed out, and deleted
    assert kept(tmp_path) == [4, 7, 8]


def test_a_run_continued_elsewhere_starts_from_the_list_and_deletes_nothing_of_the_source(
        make_run, tmp_path):
    make(make_run, tmp_path / "a").fit()
    other = gankit.load(tmp_path / "a", progress=False, checkpoint=5, out=tmp_path / "b")
    other.trainer.hooks = [scripted(FID)]
    other.fit(8)
    best = read_best(tmp_path / "b")["checkpoints"]
    assert [(e["step"], e["path"]) for e in best] == [
        (7, "checkpoints/step-0000007"), (4, "../a/checkpoints/step-0000004")]
    assert kept(tmp_path / "a") == [4, 5, 6]  # step 5 left the list of b, not a's folder
    assert kept(tmp_path / "b") == [7, 8]


def test_a_metric_the_snapshots_do_not_measure_is_one_line(make_run, tmp_path):
    run = make(make_run, tmp_path, keep_best={"metric": "w1", "mode": "min", "k": 1})
    with pytest.raises(GankitError) as err:
        run.fit()
    message = str(err.value)
    assert "\n" not in message
    assert "train.keep_best.metric 'w1'" in message and message.endswith("measure fid, kid")


@pytest.mark.parametrize("keep_best, expected", [
    ("{mode: mean}", "train.keep_best.mode must be min or max, got 'mean'"),
    ("{k: 0}", "train.keep_best.k must be >= 1, got 0"),
    ("{metric: 'f i d'}", "train.keep_best.metric must be a metric's name"),
    ("{metric: w1_n}", "train.keep_best.metric 'w1_n' is a setting of the measurement"),
    ("{metric: seed}", "train.keep_best.metric 'seed' is a setting of the measurement"),
    ("{metric: mean_brightness}", "train.keep_best.mode must be given (min or max) for "
                                  "metric 'mean_brightness'"),
])
def test_bad_keep_best_is_one_line_before_any_work(tmp_path, capsys, keep_best, expected):
    line = one_error_line(capsys, ["train", "ring8", "--set", f"train.keep_best={keep_best}",
                                   "--out", str(tmp_path / "run")])
    assert expected in line
    assert not (tmp_path / "run").exists()


def test_keep_best_on_a_shipped_config_lists_the_real_snapshots_metric(tmp_path, capsys):
    """End to end with the real snapshot: ring8's w1 ranks, and --checkpoint best takes it."""
    assert main(["train", "ring8", "--no-progress", "--out", str(tmp_path / "run"),
                 "--set", "train.steps=4", "--set", "train.plot_every=2",
                 "--set", "train.checkpoint_every=4", "--set", "train.keep_checkpoints=1",
                 "--set", "data.n_eval=100",
                 "--set", "train.keep_best={metric: w1, mode: min, k: 2}"]) == 0
    best = read_best(tmp_path / "run")["checkpoints"]
    final = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert (final["step"], final["checkpoint"]) == (4, "checkpoints/step-0000004")
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    w1 = {r["step"]: r["eval/w1"] for r in metrics if "eval/w1" in r}
    expected = ranked([{"step": s, "value": v} for s, v in w1.items()], "min", 2)
    assert [(e["step"], e["value"]) for e in best] == [(e["step"], e["value"]) for e in expected]
    assert main(["sample", str(tmp_path / "run"), "--checkpoint", "best", "--n", "3",
                 "--out", str(tmp_path / "s.npy")]) == 0
    meta = json.loads((tmp_path / "s.npy.json").read_text())
    assert meta["step"] == best[0]["step"]
    assert f"(best w1 {best[0]['value']:.4g})" in capsys.readouterr().err


# --- review of issue 29 -----------------------------------------------------------------------


@pytest.mark.parametrize("metric, mode", [("modes", "max"), ("coverage", "max"),
                                          ("fid", "min"), ("w1", "min"), ("reverse_kl", "min")])
def test_mode_defaults_to_the_metrics_direction(metric, mode):
    config = build_config(tiny_dict(train={"keep_best": {"metric": metric, "k": 2}}))
    assert config.train.keep_best.order == mode and config.train.keep_best.mode is None
    given = build_config(tiny_dict(train={"keep_best": {"metric": metric, "mode": "min"}}))
    assert given.train.keep_best.order == "min"  # as given


def test_a_metric_set_on_a_continued_run_brings_its_own_direction(make_run, tmp_path):
    """The default is not written into config.yaml: a run continued with another metric
    ranks by that metric's direction, not by the direction of the one it had."""
    run = make_run(run_dir=tmp_path / "a", train={**TRAIN, "keep_best": {"metric": "fid"}})
    run.fit()
    other = gankit.load(tmp_path / "a", ["train.keep_best={metric: modes}"], progress=False,
                        out=tmp_path / "b")
    assert other.config.train.keep_best.order == "max"


def test_another_metric_on_resume_is_refused_before_it_deletes_the_list(make_run, tmp_path,
                                                                      capsys):
    run_dir = tmp_path / "a"
    make(make_run, run_dir).fit()
    with pytest.raises(GankitError) as err:
        gankit.load(run_dir, ["train.keep_best={metric: kid, k: 2}", "train.steps=8"],
                    progress=False)
    assert f"{run_dir / 'best.json'} lists the best by fid (min)" in str(err.value)
    line = one_error_line(capsys, ["train", "--resume", str(run_dir), "--set",
                                   "train.keep_best={metric: fid, mode: max, k: 2}",
                                   "--set", "train.steps=8"])
    assert "train.keep_best ranks by fid (max)" in line and "--out DIR" in line
    assert kept(run_dir) == [4, 5, 6] and listed(run_dir) == [(4, 1.0), (5, 2.0)]
    other = gankit.load(run_dir, ["train.keep_best={metric: kid, k: 2}"], progress=False,
                        out=tmp_path / "b")  # elsewhere: a new list, nothing deleted
    other.trainer.hooks = [scripted(FID)]
    other.fit(8)
    assert [e["step"] for e in read_best(tmp_path / "b")["checkpoints"]] == [7, 8]
    assert kept(run_dir) == [4, 5, 6]


def test_a_damaged_list_warns_once_and_prunes_nothing(make_run, tmp_path):
    make(make_run, tmp_path).fit()
    (tmp_path / "best.json").write_text('{"metric": "fid", "checkpoints": [')
    resumed = make(make_run, tmp_path, steps=8, checkpoint_every=1).restore()
    with pytest.warns(UserWarning, match="best.json is damaged") as said:
        resumed.fit()
    assert len([w for w in said if "damaged" in str(w.message)]) == 1
    assert kept(tmp_path) == [4, 5, 6, 7, 8]
    assert (tmp_path / "best.json").read_text() == '{"metric": "fid", "checkpoints": ['


def test_a_best_checkpoint_is_saved_as_the_trainer_saves(make_run, tmp_path):
    """Through Trainer.save: under on_nonfinite: rollback, the state a best step saved is the
    rollback target, as after any checkpoint."""
    targets: list[int | None] = []
    run = make(make_run, tmp_path, on_nonfinite="rollback")
    run.trainer.hooks.append(lambda t: targets.append(
        None if t.rollback_target is None else t.rollback_target[1]["step"]))
    run.fit()
    assert targets[:5] == [0, 1, 2, 3, 4]  # steps 1..5 each entered the list when measured


def test_a_run_continued_from_a_listed_step_drops_the_later_entries(make_run, tmp_path):
    make(make_run, tmp_path / "a").fit()  # list [4, 5]
    other = gankit.load(tmp_path / "a", progress=False, checkpoint=4, out=tmp_path / "b")
    other.trainer.hooks = [scripted({5: 9.0, 6: 8.0})]
    other.fit()
    assert [(e["step"], e["value"], e["path"]) for e in read_best(tmp_path / "b")["checkpoints"]
            ] == [(4, 1.0, "../a/checkpoints/step-0000004"), (6, 8.0, "checkpoints/step-0000006")]
    assert listed(tmp_path / "a") == [(4, 1.0), (5, 2.0)]


def test_a_metric_a_toy_run_does_not_measure_is_refused_before_the_first_step(tmp_path, capsys):
    line = one_error_line(capsys, ["train", "ring8", "--no-progress", "--out",
                                   str(tmp_path / "run"), "--set", "train.steps=4",
                                   "--set", "train.keep_best={metric: fid}"])
    assert line == ("gankit: error: train.keep_best.metric 'fid' is not measured by this run's "
                    "snapshots; they measure high_quality, modes, reverse_kl, w1")
    assert not (tmp_path / "run").exists()
