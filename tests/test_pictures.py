"""Pictures a reader can read without knowing how a snapshot laid them out: named rows of
class, traversal and translation grids, real beside generated images, one palette for the
snapshots, the plots and the view, training.png without flat panels, a progress bar whose
rate is training alone, and an experiment command that says what it wrote."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import matplotlib.colors
import numpy as np
import pytest
import torch
from PIL import Image
from starlette.testclient import TestClient

import gankit
from conftest import tiny_dict
from gankit.commandline.cli import main
from gankit.evaluation import EVAL_SEED, palette, plan, plots
from gankit.registry import declared
from gankit.storage import drawing
from gankit.view.server import STATIC, create_app
from test_conditional import tiny_config
from test_translation import tiny_run


@pytest.fixture
def drawn(monkeypatch):
    """Each figure plots saves, as its visible axes' (title, row names, column names); the
    snapshots draw in this process, where the recording is."""
    figures = []
    save = plots.save_figure
    monkeypatch.setattr(plan, "draw_later", drawing.draw_now)

    def record(fig, path, **options):
        figures.append([(ax.get_title(), [t.get_text() for t in ax.get_yticklabels()],
                         [t.get_text() for t in ax.get_xticklabels()])
                        for ax in fig.axes if ax.get_visible()])
        return save(fig, path, **options)

    monkeypatch.setattr(plots, "save_figure", record)
    return figures


def position_of(grid: np.ndarray, png: np.ndarray) -> tuple[int, int] | None:
    """Where the picture ``png`` [H, W, 3] holds the pixels of ``grid`` exactly, if it does."""
    h, w = grid.shape[:2]
    for top in range(png.shape[0] - h + 1):
        for left in np.flatnonzero((png[top, :png.shape[1] - w + 1] == grid[0, 0]).all(1)):
            if (png[top:top + h, left:left + w] == grid).all():
                return top, int(left)
    return None


# ------------------------------------------------------------------------------- grids

def test_a_class_grid_names_each_row_by_its_class(tmp_path, drawn):
    run = gankit.build(tiny_config("cgan", "digits8"), run_dir=tmp_path, progress=False)
    run.fit(1)
    titles = [axes for axes in drawn if axes[0][0] == "one row per class"]
    assert titles == [[("one row per class", [f"class {k}" for k in range(10)], [])]]
    assert (tmp_path / "samples" / "step-0000001.png").is_file()


def test_infogan_traversals_name_rows_by_code_and_columns_by_value(tmp_path, drawn):
    run = gankit.build(tiny_config("infogan", "digits8"), run_dir=tmp_path, progress=False)
    run.fit(1)
    by_title = {axes[0][0]: axes[0][1:] for axes in drawn}
    values = ["-2", "-1.5", "-1", "-0.5", "0", "0.5", "1", "1.5", "2"]
    rows = [f"cat0 = {k}" for k in range(10)]
    assert by_title["cat0: one row per value"] == (rows, [])
    assert by_title["cont0 from -2 to 2"] == (rows, values)


def test_pix2pix_rows_are_titled_input_output_target_over_exact_pixels(tmp_path, drawn):
    run = tiny_run(run_dir=tmp_path, snapshots=True)
    run.fit(1)
    assert drawn[0] == [("held-out examples", ["input", "output", "target"], [])]
    held = run.data.held_out()
    png = np.asarray(Image.open(tmp_path / "samples" / "step-0000001.png").convert("RGB"))
    inputs = plots.image_grid(held.a[:8].numpy(), 8)[:-2]  # the first row, without its pad
    assert position_of(inputs, png) is not None  # drawn pixel for pixel, not resampled


def test_cyclegan_rows_name_both_directions_and_their_cycles(tmp_path, drawn):
    tiny_run("thin2thick", run_dir=tmp_path, snapshots=True).fit(1)
    assert drawn[0][0][1] == ["input A", "output A→B", "cycle A→B→A",
                              "input B", "output B→A", "cycle B→A→B"]


def test_an_image_snapshot_writes_real_beside_generated(tmp_path, drawn):
    config = tiny_config("gan", "digits8")
    run = gankit.build(config, run_dir=tmp_path, progress=False)
    run.fit(1)
    assert [title for title, _, _ in drawn[0]] == ["real", "generated"]
    png = np.asarray(Image.open(tmp_path / "real-vs-generated.png").convert("RGB"))
    real, _ = run.data.reference(64, torch.Generator().manual_seed(EVAL_SEED))
    where = position_of(plots.image_grid(real.numpy(), 8), png)
    assert where is not None and where[1] < png.shape[1] / 2  # the left one, pixel for pixel


# ------------------------------------------------------------------------------ colours

def test_the_landscapes_colour_map_runs_from_looks_generated_to_looks_real():
    """D(x) and a critic: high looks real; an energy (MEG, BEGAN): low looks real. Either way
    the map's "looks real" end is the palette's, its middle the undecided grey."""
    generated, undecided, real = palette.LANDSCAPE
    for label, real_at in (("D(x)", 1.0), ("critic f(x)", 1.0), ("energy U(x)", 0.0),
                           ("auto-encoder loss L(x)", 0.0)):
        colours = palette.landscape_colormap(label)
        assert matplotlib.colors.to_hex(colours(real_at)) == real, label
        assert matplotlib.colors.to_hex(colours(1.0 - real_at)) == generated, label
        # the middle: the nearer of the map's 256 levels
        assert np.allclose(colours(0.5)[:3], matplotlib.colors.to_rgb(undecided), atol=1 / 128)


def test_the_snapshots_landscape_is_the_palettes_map_turned_round_for_an_energy(tmp_path,
                                                                               monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, **_: figures.append(fig) or path)
    rng = np.random.default_rng(0)
    for label in ("D(x)", "energy U(x)"):
        real, fake = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
        points = plots.grid_points(*plots.landscape_grid(real, fake))
        plots.plot_samples_2d(real, fake, (points[:, 0], label), tmp_path / "s.png")
    for figure, label in zip(figures, ("D(x)", "energy U(x)"), strict=True):
        contour = next(c for c in figure.axes[0].collections if hasattr(c, "levels"))
        expected = palette.landscape_colormap(label)
        assert contour.get_cmap()(1.0) == expected(1.0), label
    assert figures[0].axes[0].collections[0].get_cmap()(1.0) != \
        figures[1].axes[0].collections[0].get_cmap()(1.0)

def test_plots_and_the_view_draw_real_and_generated_in_the_palettes_colours(tmp_path,
                                                                           monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, path, **_: figures.append(fig) or path)
    rng = np.random.default_rng(0)
    plots.plot_samples_2d(rng.normal(size=(50, 2)), rng.normal(size=(50, 2)), None,
                          tmp_path / "s.png")
    real, fake = figures[0].axes[0].collections
    assert matplotlib.colors.to_hex(real.get_facecolor()[0]) == palette.REAL
    assert matplotlib.colors.to_hex(fake.get_facecolor()[0]) == palette.GENERATED
    x = np.linspace(-3, 3, 50)
    plots.plot_density_1d(x, np.exp(-x ** 2), rng.normal(size=200), None, tmp_path / "d.png")
    ax = figures[1].axes[0]
    assert matplotlib.colors.to_hex(ax.lines[0].get_color()) == palette.REAL  # p_data
    assert matplotlib.colors.to_hex(ax.patches[0].get_facecolor()) == palette.GENERATED

    with TestClient(create_app(tiny_dict(), tmp_path / "runs")) as client:
        css = client.get("/static/palette.css")
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]
        assert f"--real: {palette.REAL}" in css.text
        assert f"--fake: {palette.GENERATED}" in css.text
        assert '<link rel="stylesheet" href="/static/palette.css">' in client.get("/").text
        generated, undecided, real = palette.LANDSCAPE
        assert (f"--landscape-generated: {generated}; --landscape-undecided: {undecided}; "
                f"--landscape-real: {real};") in css.text
    script = (STATIC / "view.js").read_text()
    assert 'paletteColour("real")' in script and 'paletteColour("fake")' in script
    assert "paletteColour(`landscape-${end}`)" in script and "purple" not in script
    assert not re.search(r"--(real|fake):\s*#", (STATIC / "view.css").read_text())  # only there


# --------------------------------------------------------------------------- training.png

def test_training_png_leaves_out_metrics_that_never_change(tmp_path, drawn):
    records = [{"step": s, "d_loss": 1.0 / s, "eval/fid": 100.0 / s, "eval/near_copies": 0.0,
                "eval/fid_held_out_n": 200.0} for s in (1, 2, 3)]
    assert plots.training_panels(records, {"d_loss"}) == [("losses", ["d_loss"]),
                                                         ("fid", ["eval/fid"])]
    plots.plot_training_curves(records, tmp_path / "t.png", {"d_loss"})
    assert [title for title, _, _ in drawn[0]] == ["losses", "fid"]
    changed = [*records, {"step": 4, "eval/near_copies": 0.01}]  # it moves: it is drawn
    assert ("near_copies", ["eval/near_copies"]) in plots.training_panels(changed)
    single = plots.training_panels(records[:1])  # one snapshot: nothing varies yet
    assert [title for title, _ in single] == ["statistics", "fid", "fid_held_out_n",
                                              "near_copies"]


# --------------------------------------------------------------------------- progress bar

def test_the_progress_bar_rate_is_training_steps_alone(make_run, capsys):
    run = make_run(train={"steps": 40, "log_every": 10, "plot_every": 10})
    run.trainer.progress = True
    run.trainer.hooks = [lambda trainer: time.sleep(0.3)]  # a slow snapshot: 4 of them
    start = time.perf_counter()
    run.fit()
    wall = time.perf_counter() - start
    shown = [float(rate) for rate in re.findall(r"([\d.e+]+) step/s", capsys.readouterr().err)]
    assert shown and shown[-1] == pytest.approx(run.trainer.history[-1]["steps_per_s"], rel=0.01)
    assert shown[-1] > 2 * 40 / wall  # the sleeps (1.2 s) are not in it
    assert sum(10 / r["steps_per_s"] for r in run.trainer.history) <= run.trainer.elapsed * 1.01


# ----------------------------------------------------------------------------- experiment

def test_an_experiment_says_which_files_it_wrote(tmp_path, capsys):
    assert main(["experiment", "js-saturation", "--quick", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "js-saturation"
    assert capsys.readouterr().err.splitlines()[-2:] == [
        f"wrote {folder / 'js-saturation.png'}", f"wrote {folder / 'js-saturation.json'}"]


def test_experiment_list_gives_one_line_of_description_each_without_torch():
    code = ("import sys; from gankit.commandline.cli import main; main(['experiment', 'list']);"
            "assert 'torch' not in sys.modules, 'torch imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    lines = done.stdout.splitlines()
    declarations = declared("gankit.experiments.base:EXPERIMENTS")
    assert len(lines) == len(declarations) >= 6
    for line, (name, declaration) in zip(lines, declarations.items(), strict=True):
        assert line.split(maxsplit=1) == [name, declaration.summary]
    assert "Train the 1-D GAN" in next(line for line in lines if line.startswith("gan-1d "))



def test_drawing_leaves_a_notebooks_backend_and_pyplot_alone(tmp_path):
    """A notebook shows its own figures inline after gankit drew one: gankit's pictures are
    Figures no backend owns, so importing or drawing neither switches the backend (it once
    forced Agg, and a Learn chapter's figures printed as `<Figure size ...>`) nor leaves
    figures in pyplot's list."""
    path = tmp_path / "training.png"
    code = ("import matplotlib, matplotlib.pyplot as plt\n"
            "from gankit.evaluation import plots\n"
            "records = [{'step': 1, 'd_loss': 1.0}, {'step': 2, 'd_loss': 0.5}]\n"
            f"plots.plot_training_curves(records, {str(path)!r})\n"
            "print(matplotlib.get_backend(), len(plt.get_fignums()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "MPLBACKEND": "svg"}, check=True)
    assert out.stdout.split() == ["svg", "0"]
    assert Image.open(path).size[0] > 100
