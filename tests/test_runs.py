"""``gankit runs`` and ``gankit compare`` (issue 29, item 5): the table and its JSON from real
tiny runs and from hand-written run folders (empty, damaged, without eval.json, with a
best.json), sorting, the curves drawn against what metrics.jsonl holds, each bad input's one
line, and no torch on the way."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import gankit
from conftest import one_error_line, tiny_dict
from gankit.commandline.cli import main
from gankit.errors import GankitError
from gankit.training.run_comparison import draw_curves, read_curves
from gankit.training.run_index import format_duration, list_runs
from gankit.training.runlog import read_metrics


def write_run(folder: Path, data: str = "ring8", recipe: str = "gan", steps: int = 100,
              checkpoints: dict[int, float] | None = None, evaluation: dict | None = None,
              best: dict | None = None, metrics: list[dict] | None = None) -> Path:
    """A run folder as gankit leaves one, written by hand: config.yaml, a state.json per
    checkpoint step (with its ``elapsed``), eval.json, best.json and metrics.jsonl if given."""
    folder.mkdir(parents=True)
    config = {"recipe": recipe, "data": {"name": data}, "train": {"steps": steps}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    for step, elapsed in (checkpoints or {}).items():
        state = folder / "checkpoints" / f"step-{step:07d}" / "state.json"
        state.parent.mkdir(parents=True)
        state.write_text(json.dumps({"step": step, "elapsed": elapsed, "config": config}))
    if evaluation is not None:
        (folder / "eval.json").write_text(json.dumps(evaluation))
    if best is not None:
        (folder / "best.json").write_text(json.dumps(best))
    if metrics is not None:
        (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in metrics))
    return folder


@pytest.fixture
def hand_runs(tmp_path: Path) -> Path:
    """Four runs of every status and a folder that is no run, under tmp_path/runs."""
    root = tmp_path / "runs"
    write_run(root / "alpha", data="mnist5k", recipe="gan", steps=1000,
              checkpoints={500: 30.0, 1000: 3725.0},
              evaluation={"step": 1000, "n": 5000, "seed": 1, "features": "digits",
                          "fid": 31.4, "kid": 0.0123, "precision": 0.61, "recall": 0.5,
                          "fid_held_out": 2.0},
              best={"metric": "fid", "mode": "min", "k": 2,
                    "checkpoints": [{"step": 500, "value": 29.5,
                                     "path": "checkpoints/step-0000500"},
                                    {"step": 1000, "value": 31.4,
                                     "path": "checkpoints/step-0001000"}]})
    write_run(root / "group" / "beta", steps=400, checkpoints={200: 75.5},
              evaluation={"step": 200, "modes": 7, "high_quality": 81.0, "w1": 0.25,
                          "reverse_kl": None})
    write_run(root / "gamma", steps=400, checkpoints={400: 12.0})  # no eval.json
    write_run(root / "delta", recipe="began", steps=50)  # no checkpoint yet
    # a config.yaml inside a run's checkpoints is not a run; a folder without one is none
    write_run(root / "gamma" / "checkpoints" / "copied")
    (root / "notes").mkdir()
    return root


def run_cli(capsys: Any, argv: list[str]) -> tuple[str, str]:
    assert main(argv) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_the_table_shows_each_run_once(hand_runs, capsys):
    out, _ = run_cli(capsys, ["runs", str(hand_runs)])
    assert out.splitlines() == [
        "name        config   recipe  step       status    metrics                             "
        "time   best",
        "alpha       mnist5k  gan     1000/1000  finished  fid=31.4 kid=0.0123 precision=0.61  "
        "1h02m  fid=29.5@500",
        "delta       ring8    began   -/50       empty     -                                   "
        "-      -",
        "gamma       ring8    gan     400/400    finished  -                                   "
        "12.0s  -",
        "group/beta  ring8    gan     200/400    stopped   modes=7 high_quality=81 w1=0.25     "
        "1m16s  -",
    ]


def test_metrics_of_an_older_checkpoint_say_their_step(tmp_path, capsys):
    """After ``gankit eval RUN --checkpoint 500`` eval.json holds step 500's metrics: the
    table says so beside them, not as if they were the run's newest."""
    write_run(tmp_path / "runs" / "old", steps=1000, checkpoints={500: 1.0, 1000: 2.0},
              evaluation={"step": 500, "modes": 6, "w1": 0.5})
    out, _ = run_cli(capsys, ["runs", str(tmp_path / "runs")])
    assert "1000/1000  finished  modes=6 w1=0.5 @500" in out.splitlines()[1]

def test_a_folder_named_with_a_non_ascii_digit_is_no_checkpoint(tmp_path, capsys):
    """``step-²`` (a digit Python's isdigit takes, int() refuses) is passed over by the run
    list and refused in one line by compare, never a traceback."""
    run = write_run(tmp_path / "runs" / "odd", steps=4, checkpoints={4: 1.0})
    (run / "checkpoints" / "step-²").mkdir()
    out, _ = run_cli(capsys, ["runs", str(tmp_path / "runs")])
    assert "4/4" in out.splitlines()[1]
    assert main(["compare", str(run / "checkpoints" / "step-²")]) == 2
    assert capsys.readouterr().err.startswith("gankit: error: not a gankit run directory")

def test_json_holds_every_field_for_jq(hand_runs, capsys):
    out, _ = run_cli(capsys, ["runs", str(hand_runs), "--json"])
    listed = json.loads(out)
    assert [run["name"] for run in listed] == ["alpha", "delta", "gamma", "group/beta"]
    assert listed[0] == {
        "name": "alpha", "path": str(hand_runs / "alpha"), "config": "mnist5k", "recipe": "gan",
        "step": 1000, "steps": 1000, "status": "finished", "train_time_s": 3725.0,
        "metrics": {"fid": 31.4, "kid": 0.0123, "precision": 0.61, "recall": 0.5,
                    "fid_held_out": 2.0},
        "metrics_step": 1000,
        "best": {"metric": "fid", "value": 29.5, "step": 500,
                 "path": "checkpoints/step-0000500"}}
    assert listed[1] == {
        "name": "delta", "path": str(hand_runs / "delta"), "config": "ring8",
        "recipe": "began", "step": None, "steps": 50, "status": "empty", "train_time_s": None,
        "metrics": {}, "metrics_step": None, "best": None}
    assert listed[3]["metrics"] == {"modes": 7, "high_quality": 81.0, "w1": 0.25}


def test_sorting_by_a_column_or_a_metric_puts_runs_without_it_last(hand_runs, capsys):
    def names(*flags: str) -> list[str]:
        out, _ = run_cli(capsys, ["runs", str(hand_runs), "--json", *flags])
        return [run["name"] for run in json.loads(out)]

    assert names("--sort", "time") == ["gamma", "group/beta", "alpha", "delta"]
    assert names("--sort", "time", "--reverse") == ["alpha", "group/beta", "gamma", "delta"]
    assert names("--sort", "step") == ["group/beta", "gamma", "alpha", "delta"]
    assert names("--sort", "fid") == ["alpha", "delta", "gamma", "group/beta"]
    assert names("--sort", "w1", "--reverse") == ["group/beta", "alpha", "delta", "gamma"]
    assert names("--sort", "status") == ["delta", "alpha", "gamma", "group/beta"]
    line = one_error_line(capsys, ["runs", str(hand_runs), "--sort", "fidd"])
    assert line == ("gankit: error: --sort fidd: no run has it; sort by name, config, recipe, "
                    "step, steps, status, time, best, fid, fid_held_out, high_quality, kid, "
                    "modes, precision, recall, w1")


def test_names_sort_with_their_numbers_read_as_numbers(tmp_path):
    for name in ("seed-10", "seed-2", "seed-1", "a-3", "a-3/b"):
        write_run(tmp_path / name)
    assert [run.name for run in list_runs(tmp_path)] == ["a-3", "a-3/b", "seed-1", "seed-2",
                                                         "seed-10"]
    assert [run.name for run in list_runs(tmp_path, reverse=True)] == [
        "seed-10", "seed-2", "seed-1", "a-3/b", "a-3"]


def test_damaged_files_leave_their_fields_empty_not_the_run_hidden(tmp_path, capsys):
    run = write_run(tmp_path / "run", steps=30, checkpoints={10: 1.0, 20: 2.0, 30: 3.0},
                    best={"metric": "fid", "checkpoints": "not a list"})
    (run / "checkpoints" / "step-0000030" / "state.json").write_text('{"step": 3')  # cut short
    (run / "checkpoints" / "step-0000025").mkdir()  # a save that never wrote its state
    (run / "eval.json").write_text("[1, 2]")
    [summary] = list_runs(tmp_path)
    assert (summary.step, summary.steps, summary.status, summary.train_time) == (
        20, 30, "stopped", 2.0)
    assert summary.metrics == {} and summary.best is None
    (run / "config.yaml").write_text("recipe: [unclosed")  # the checkpoint holds the config
    [summary] = list_runs(tmp_path)
    assert (summary.recipe, summary.config, summary.steps) == ("gan", "ring8", 30)
    shutil.rmtree(run / "checkpoints")
    [summary] = list_runs(tmp_path)
    assert (summary.name, summary.recipe, summary.config, summary.steps, summary.status) == (
        "run", None, None, None, "empty")


def test_a_run_given_alone_is_listed_under_its_own_name(hand_runs):
    [summary] = gankit.list_runs(hand_runs / "group" / "beta")
    assert (summary.name, summary.status) == ("beta", "stopped")


def test_an_empty_or_missing_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    out, err = run_cli(capsys, ["runs", str(tmp_path / "empty")])
    assert out == "" and err == (f"no runs in {tmp_path / 'empty'} (a run is a folder holding "
                                 f"config.yaml)\n")
    out, _ = run_cli(capsys, ["runs", str(tmp_path / "empty"), "--json"])
    assert json.loads(out) == []
    line = one_error_line(capsys, ["runs", str(tmp_path / "missing")])
    assert line == (f"gankit: error: {tmp_path / 'missing'} does not exist; give a folder of "
                    f"runs (default: runs)")


def test_durations_read_at_the_scale_of_a_run():
    assert [format_duration(s) for s in (None, 4.04, 59.94, 59.96, 245.0, 7620.0)] == [
        "-", "4.0s", "59.9s", "1m00s", "4m05s", "2h07m"]


# --- real runs ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """Two tiny 2-D runs that log W1 every 4 steps, and a copy of the first stopped at step 4
    (its newest checkpoint removed)."""
    from gankit.api import Run
    from gankit.configuration.resolve import build_config

    root = tmp_path_factory.mktemp("trained")
    for name, lr in (("slow", 1e-4), ("fast", 1e-2)):
        config = tiny_dict(train={"steps": 8, "lr_g": lr, "lr_d": lr, "log_every": 2,
                                  "plot_every": 4, "checkpoint_every": 4})
        Run(build_config(config), root / name, progress=False).fit()
    shutil.copytree(root / "slow", root / "stopped")
    shutil.rmtree(root / "stopped" / "checkpoints" / "step-0000008")
    return root


def test_real_runs_are_summarized_from_what_they_wrote(trained):
    runs = {run.name: run for run in list_runs(trained)}
    assert sorted(runs) == ["fast", "slow", "stopped"]
    for name in ("fast", "slow"):
        evaluation = json.loads((trained / name / "eval.json").read_text())
        state = json.loads((trained / name / "checkpoints" / "step-0000008" / "state.json"
                            ).read_text())
        assert (runs[name].step, runs[name].steps, runs[name].status) == (8, 8, "finished")
        assert (runs[name].config, runs[name].recipe) == ("ring8", "gan")
        assert runs[name].train_time == state["elapsed"]
        assert runs[name].metrics == {k: evaluation[k] for k in ("modes", "high_quality", "w1")}
    assert (runs["stopped"].step, runs["stopped"].status) == (4, "stopped")


def test_compare_draws_each_runs_curve_and_prints_its_table(trained, tmp_path, capsys):
    out_png = tmp_path / "w1.png"
    out, err = run_cli(capsys, ["compare", str(trained / "slow"), str(trained / "fast"),
                                "--metric", "w1", "--out", str(out_png)])
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert err == f"wrote {out_png}\n"
    expected = {}
    for name in ("slow", "fast"):
        logged = [(r["step"], r["eval/w1"]) for r in read_metrics(trained / name)
                  if "eval/w1" in r]
        assert [s for s, _ in logged] == [4, 8]
        expected[str(trained / name)] = logged
    curves = read_curves([trained / "slow", trained / "fast"], "w1")
    import matplotlib.pyplot as plt

    fig = draw_curves(curves)
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == list(expected)
    for line, points in zip(lines, expected.values(), strict=True):
        assert list(zip(line.get_xdata(), line.get_ydata(), strict=True)) == points
    assert fig.axes[0].get_legend() is not None
    assert len({line.get_color() for line in lines}) == 2
    stars = [tuple(map(tuple, c.get_offsets())) for c in fig.axes[0].collections]
    assert stars == [(min(points, key=lambda p: (p[1], p[0])),) for points in expected.values()]
    plt.close(fig)
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["run", "last", "w1", "at", "step", "best", "(min)", "at", "step",
                       "points"]
    for row, points in zip(rows[1:], expected.values(), strict=True):
        best = min(points, key=lambda p: (p[1], p[0]))
        assert row == [row[0], f"{points[-1][1]:.4g}", "8", f"{best[1]:.4g}", str(best[0]),
                       "2"]


def test_compare_chooses_a_default_metric_and_takes_a_loss_term(trained, capsys):
    out, err = run_cli(capsys, ["compare", str(trained / "slow"), str(trained / "fast")])
    assert err == "comparing eval/w1 (--metric chooses another)\n"
    assert out.splitlines()[0].split()[:3] == ["run", "last", "w1"]
    [curve] = gankit.compare_runs([trained / "slow"], "d_loss")
    assert curve.steps == [2, 4, 6, 8]
    assert curve.values == [r["d_loss"] for r in read_metrics(trained / "slow") if "d_loss" in r]


def test_snapshot_metrics_measured_apart_are_a_warning(trained, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(trained / "slow", other)
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["data"]["n_eval"] = 100
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    slow = trained / "slow"
    _, err = run_cli(capsys, ["compare", str(slow), str(other), "--metric", "w1"])
    assert err == (f"gankit: warning: the runs' snapshots measure different data, feature "
                   f"spaces or sample counts, so their values may not compare: {slow}: ring8, "
                   f"features default, n_eval 200; {other}: ring8, features default, "
                   f"n_eval 100\n")
    _, err = run_cli(capsys, ["compare", str(slow), str(other), "--metric", "d_loss"])
    assert err == ""
    _, err = run_cli(capsys, ["compare", str(slow), str(trained / "fast"), "--metric", "w1"])
    assert err == ""


def test_a_checkpoint_folder_stands_for_its_run_up_to_that_step(trained):
    [curve] = read_curves([trained / "slow" / "checkpoints" / "step-0000004"], "w1")
    assert curve.steps == [4]


def test_compare_refuses_in_one_line_before_writing(trained, tmp_path, capsys):
    bare = write_run(tmp_path / "bare", metrics=[{"step": 1, "d_loss": 0.5}])
    png = tmp_path / "out.png"
    slow = str(trained / "slow")
    line = one_error_line(capsys, ["compare", slow, str(bare), "--metric", "fid",
                                   "--out", str(png)])
    assert line == (f"gankit: error: no fid in {slow} (it logs d_loss, d_real, d_fake, g_loss, "
                    f"lr/d, lr/g, eval/modes, eval/high_quality, eval/w1); {bare} (it logs "
                    f"d_loss)")
    assert not png.exists()
    fast = str(trained / "fast")
    assert one_error_line(capsys, ["compare", slow, fast, "--metric", "kid"]) == (
        f"gankit: error: no kid in {slow}, {fast} (they log d_loss, d_real, d_fake, g_loss, "
        f"lr/d, lr/g, eval/modes, eval/high_quality, eval/w1)")
    line = one_error_line(capsys, ["compare", slow, str(bare)])
    assert line == ("gankit: error: the runs log no snapshot metric in common; give --metric, "
                    "one of d_loss")
    with pytest.raises(GankitError, match="is given twice"):
        gankit.compare_runs([slow, slow + "/"], "w1")
    assert one_error_line(capsys, ["compare", slow, slow]) == (
        f"gankit: error: {slow} is given twice; give each run once")
    assert one_error_line(capsys, ["compare", str(tmp_path)]) == (
        f"gankit: error: not a gankit run directory (no config.yaml): {tmp_path}")
    png.write_bytes(b"kept")
    assert one_error_line(capsys, ["compare", slow, "--out", str(png)]) == (
        f"gankit: error: --out {png} exists; --overwrite replaces it")
    assert png.read_bytes() == b"kept"


def test_runs_logging_the_same_names_in_another_order_are_named_together(tmp_path):
    a = write_run(tmp_path / "a", metrics=[{"step": 1, "d_loss": 0.5}, {"step": 2, "g_loss": 1.0}])
    b = write_run(tmp_path / "b", metrics=[{"step": 1, "g_loss": 0.5, "d_loss": 1.0}])
    with pytest.raises(GankitError) as refusal:
        read_curves([a, b], "fid")
    assert str(refusal.value) == f"no fid in {a}, {b} (they log d_loss, g_loss)"


def test_a_run_spelled_two_ways_is_given_twice(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for run in ("runs/a", "runs/b"):
        write_run(tmp_path / run, metrics=[{"step": 1, "eval/fid": 3.0}])
    for other in (str(tmp_path / "runs/a"), "runs/b/../a"):
        with pytest.raises(GankitError) as refusal:
            read_curves(["runs/a", other], "fid")
        assert str(refusal.value) == (f"runs/a and {Path(other)} are one run, given twice; "
                                      f"give each run once")
    # a checkpoint folder is the run up to its step: another curve
    (tmp_path / "runs/a/checkpoints/step-0000001").mkdir(parents=True)
    assert len(read_curves(["runs/a", "runs/a/checkpoints/step-0000001"], "fid")) == 2


def test_damaged_metric_lines_are_skipped(tmp_path):
    run = write_run(tmp_path / "run", metrics=[{"step": 2, "eval/fid": 40.0}])
    with open(run / "metrics.jsonl", "a") as f:
        f.write('["not", "a record"]\n{"no_step": 1}\n\n\xff\xfe\n{"step": 4, "eval/fid": 30.0}\n'
                '{"step": 6, "eval/f')  # the last line cut short by a kill
    [curve] = read_curves([run], "fid")
    assert (curve.steps, curve.values) == ([2, 4], [40.0, 30.0])


@pytest.mark.parametrize("argv", [["runs", "DIR"], ["runs", "DIR", "--json", "--sort", "fid"],
                                  ["compare", "DIR/a", "DIR/b", "--out", "DIR/c.png"]])
def test_runs_and_compare_import_no_torch(hand_runs, argv):
    write_run(hand_runs / "a", metrics=[{"step": 1, "eval/fid": 3.0}])
    write_run(hand_runs / "b", metrics=[{"step": 1, "eval/fid": 2.0}])
    argv = [a.replace("DIR", str(hand_runs)) for a in argv]
    code = (f"import sys; from gankit.commandline.cli import main; status = main({argv!r}); "
            f"print(status, 'torch' in sys.modules, file=sys.stderr)")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stderr
    assert err.splitlines()[-1] == "0 False"


def test_an_unreadable_subfolder_is_a_warning_and_the_rest_is_listed(hand_runs, capsys,
                                                                     monkeypatch):
    locked = hand_runs / "notes"
    scandir = os.scandir

    def refusing(path: Any = ".", refused: tuple[Path, ...] = (locked,)) -> Any:
        if Path(path) in refused:  # as chmod 0 would, for any user (root too)
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    out, err = run_cli(capsys, ["runs", str(hand_runs), "--json"])
    assert len(json.loads(out)) == 4
    assert err == (f"gankit: warning: cannot read {locked} (Permission denied); its runs are "
                   f"not listed\n")
    monkeypatch.setattr(os, "scandir", lambda path=".": refusing(path, (hand_runs,)))
    assert one_error_line(capsys, ["runs", str(hand_runs)]) == (
        f"gankit: error: cannot read {hand_runs}: Permission denied")


def test_the_guides_commands_are_the_command_lines_gankit_reads():
    """docs/comparing-runs.md: each ``gankit`` line parses (the runs it trains are too slow to
    train here; the guide's output was taken from running it)."""
    from gankit.commandline.parser import build_parser

    guide = (Path(__file__).resolve().parents[1] / "docs" / "comparing-runs.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", guide, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines() if line.startswith("gankit")]
    assert len(lines) == 11
    for line in lines:
        argv = shlex.split(line.split(" | ")[0])
        build_parser().parse_args(argv[1:])


def test_the_config_column_names_the_file_or_shipped_config_the_run_was_built_from(
        tmp_path, capsys):
    """Issue 29: config.yaml is the resolved config and names no source; each checkpoint's
    state.json keeps the name or path given to gankit train / gankit.build, on through resumes
    (a run built from a dict falls back to data.name: test_real_runs_are_summarized...)."""
    recipe = tmp_path / "my-ring.yaml"
    recipe.write_text(yaml.safe_dump(tiny_dict(train={"steps": 2, "checkpoint_every": 2})))
    run_dir = tmp_path / "runs" / "mine"
    assert main(["train", str(recipe), "--out", str(run_dir), "--no-progress"]) == 0
    assert main(["train", "--resume", str(run_dir), "--set", "train.steps=4",
                 "--no-progress"]) == 0
    capsys.readouterr()
    for step in (2, 4):
        state = json.loads((run_dir / "checkpoints" / f"step-{step:07d}" / "state.json"
                            ).read_text())
        assert state["config_name"] == str(recipe), step
    shipped = gankit.build("ring8", ["train.steps=1", "model.g_hidden=8", "model.d_hidden=8"],
                           run_dir=tmp_path / "runs" / "shipped", progress=False,
                           snapshots=False)
    shipped.fit()
    runs = {run.name: run for run in list_runs(tmp_path / "runs")}
    assert (runs["mine"].config, runs["mine"].step) == (str(recipe), 4)
    assert runs["shipped"].config == "ring8"
