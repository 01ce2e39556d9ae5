"""The snapshots' pictures drawn in a process of their own (gankit.storage.drawing): the same
PNGs as drawn here, superseded redraws skipped, failures raised, nothing lost when the worker
dies, and a worker that never imports torch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import gankit
from conftest import tiny_dict
from gankit.evaluation import plots
from gankit.storage import drawing
from gankit.storage.drawing import Drawing, DrawingFailed, draw_later, draw_now, result


def grid_drawing(path: Path, n: int = 16, seed: int = 0) -> Drawing:
    images = np.random.default_rng(seed).uniform(-1, 1, size=(n, 1, 8, 8))
    return Drawing(plots.save_image_grid, path, (images,), {"ncol": 4})


def slow_drawing(path: Path) -> Drawing:
    """A drawing that keeps the worker busy for a while (a few hundred ms)."""
    records = [{"step": s, "d_loss": float(np.sin(s)), **{f"eval/m{k}": s * k for k in range(9)}}
               for s in range(1, 3000)]
    return Drawing(plots.plot_training_curves, path, (records,), {"terms": {"d_loss"}})


def test_the_worker_draws_the_same_png_as_drawn_here(tmp_path):
    here = result(grid := grid_drawing(tmp_path / "here.png"), draw_now(grid, png=True), True)
    there = grid_drawing(tmp_path / "there.png")
    future = draw_later(there, png=True)
    assert drawing._worker is not None and drawing._worker.alive()
    assert drawing._worker.process.pid != os.getpid()
    png = result(there, future, True)
    assert png == here == (tmp_path / "there.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_redraw_of_the_same_file_waiting_behind_a_newer_one_is_skipped(tmp_path):
    futures = [draw_later(slow_drawing(tmp_path / "busy.png")),
               draw_later(grid_drawing(tmp_path / "curves.png", seed=1), png=True),
               draw_later(grid_drawing(tmp_path / "curves.png", seed=2), png=True),
               draw_later(grid_drawing(tmp_path / "step-2.png", seed=3), png=True)]
    answers = [f.result(timeout=60) for f in futures]
    assert answers[0] is None  # drawn, no PNG asked for
    assert answers[1] is None  # skipped: the file is written again by the next drawing
    assert answers[2] == (tmp_path / "curves.png").read_bytes()
    expected = result(d := grid_drawing(tmp_path / "check.png", seed=2), draw_now(d, True), True)
    assert answers[2] == expected  # the newest drawing's picture is the one on disk
    assert answers[3] == (tmp_path / "step-2.png").read_bytes()


def test_a_failed_drawing_raises_from_its_future_and_the_worker_goes_on(tmp_path):
    bad = Drawing(plots.save_image_grid, tmp_path / "bad.png", (np.zeros((2, 8, 8)),))
    with pytest.raises(DrawingFailed, match=r"bad\.png failed:(.|\n)*Traceback(.|\n)*"
                                            r"ValueError"):
        result(bad, draw_later(bad))
    assert not (tmp_path / "bad.png").exists()
    good = grid_drawing(tmp_path / "good.png")
    result(good, draw_later(good))
    assert (tmp_path / "good.png").is_file()


def write_here(path: Path) -> None:
    """A drawing function the worker cannot import (this test module is not on its path)."""
    Path(path).write_bytes(b"drawn")


def test_a_drawing_the_worker_cannot_read_fails_alone(tmp_path):
    unknown = Drawing(write_here, tmp_path / "x.png")
    with pytest.raises(DrawingFailed, match="could not be read(.|\n)*test_drawing"):
        result(unknown, draw_later(unknown))
    good = grid_drawing(tmp_path / "good.png")
    result(good, draw_later(good))
    assert (tmp_path / "good.png").is_file()


def test_a_drawing_that_does_not_pickle_is_drawn_here_at_once(tmp_path):
    here = Drawing(lambda path: Path(path).write_bytes(b"here"), tmp_path / "lambda.png")
    future = draw_later(here)
    assert future.done() and (tmp_path / "lambda.png").read_bytes() == b"here"


def test_drawings_of_a_worker_that_died_are_drawn_here(tmp_path):
    draw_later(grid_drawing(tmp_path / "start.png")).result(timeout=60)  # a worker is up
    worker = drawing._worker
    pending = [slow_drawing(tmp_path / "slow.png"), grid_drawing(tmp_path / "after.png")]
    futures = [draw_later(d) for d in pending]
    os.kill(worker.process.pid, signal.SIGKILL)
    with pytest.warns(RuntimeWarning, match="drawing process ended"):
        worker.process.wait(30)
        deadline = time.monotonic() + 30
        while not all(f.done() for f in futures) and time.monotonic() < deadline:
            time.sleep(0.01)
    for each, future in zip(pending, futures, strict=True):
        result(each, future)
        assert each.path.is_file()
    future = draw_later(grid_drawing(tmp_path / "again.png"))  # a new worker starts
    assert drawing._worker is not worker
    result(grid_drawing(tmp_path / "again.png"), future)
    assert (tmp_path / "again.png").is_file()


def test_the_worker_imports_no_torch():
    """It starts in about half a second because nothing it imports pulls torch in."""
    code = ("import sys, gankit.storage.drawing, gankit.evaluation.plots; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("background", [True, False])
def test_a_run_has_every_picture_written_and_in_tensorboard_when_fit_returns(tmp_path,
                                                                             background):
    config = tiny_dict()
    config["train"] |= {"steps": 6, "plot_every": 2, "draw_in_background": background}
    run = gankit.build(config, run_dir=tmp_path / "run", progress=False)
    run.fit()
    samples = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert samples == ["step-0000002.png", "step-0000004.png", "step-0000006.png"]
    assert (tmp_path / "run" / "training.png").is_file()
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"),
                              size_guidance={"images": 0}).Reload()
    steps = [event.step for event in events.Images("samples")]
    assert steps == [2, 4, 6]
    newest = events.Images("samples")[-1].encoded_image_string
    assert newest == (tmp_path / "run" / "samples" / "step-0000006.png").read_bytes()
    assert [e.step for e in events.Images("training")][-1] == 6


def test_background_and_inline_snapshots_draw_the_same_pictures(tmp_path):
    pictures = {}
    for background in (True, False):
        config = tiny_dict()
        config["train"] |= {"steps": 4, "plot_every": 2, "draw_in_background": background}
        run_dir = tmp_path / str(background)
        gankit.build(config, run_dir=run_dir, progress=False).fit()
        pictures[background] = {p.name: p.read_bytes() for p in run_dir.rglob("*.png")}
    assert pictures[True] == pictures[False] and len(pictures[True]) == 3


def test_the_worker_ends_when_told_though_another_process_holds_its_pipe(tmp_path):
    """A DataLoader's forked workers inherit the pipe to the drawing process, so its end is
    said in a frame, not left to the pipe's closing (the process would wait EXIT_WAIT)."""
    draw_later(grid_drawing(tmp_path / "start.png")).result(timeout=60)
    worker = drawing._worker
    holder = subprocess.Popen(["sleep", "60"], pass_fds=[worker.process.stdin.fileno()])
    try:
        last = draw_later(grid_drawing(tmp_path / "last.png"))
        start = time.monotonic()
        worker.close(wait=20)
        assert worker.process.returncode == 0 and time.monotonic() - start < 10
        assert last.result(timeout=10) is None and (tmp_path / "last.png").is_file()
    finally:
        holder.kill()
        holder.wait()


def test_a_relative_path_is_the_callers_not_the_workers(tmp_path, monkeypatch):
    draw_later(grid_drawing(tmp_path / "start.png")).result(timeout=60)  # started elsewhere
    monkeypatch.chdir(tmp_path)
    relative = grid_drawing(Path("runs") / "here.png")
    result(relative, draw_later(relative))
    assert (tmp_path / "runs" / "here.png").is_file()


def test_a_background_run_draws_nothing_in_the_training_process(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("drawn in the training process")

    monkeypatch.setattr(plots, "save_figure", refuse)
    config = tiny_dict()
    config["train"] |= {"steps": 4, "plot_every": 2}
    gankit.build(config, run_dir=tmp_path / "bg", progress=False).fit()
    assert len(list((tmp_path / "bg").rglob("*.png"))) == 3
    config["train"]["draw_in_background"] = False
    with pytest.raises(AssertionError, match="drawn in the training process"):
        gankit.build(config, run_dir=tmp_path / "inline", progress=False).fit()


def test_points_in_three_dimensions_have_their_curves_and_no_samples_picture(tmp_path):
    """A picture may be nothing to draw (the toy plan's for 3-D points): the snapshot hands over
    the rest, as before the drawing process, where no such picture was written either."""
    points = torch.randn(256, 3, generator=torch.Generator().manual_seed(0))
    config = tiny_dict(data={"n_eval": 64})
    config["train"] |= {"steps": 4, "plot_every": 2}
    gankit.build(config, data=points, run_dir=tmp_path / "r", progress=False).fit()
    assert [p.name for p in tmp_path.rglob("*.png")] == ["training.png"]
