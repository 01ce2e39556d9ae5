"""What keeps a snapshot cheap (issue 29: snapshots at most about a tenth of training time,
benchmarks/snapshot_cost.py): its pictures are laid out once, with no second pass over their
texts, and TensorBoard is handed the PNGs as written, not decoded and encoded again."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from gankit.evaluation import plots


@pytest.fixture
def layouts(monkeypatch):
    """For each figure saved, how it asked to be saved and its texts that reach past its
    canvas; and every ``tight_layout`` call (a layout pass over every text)."""
    saved, passes = [], []
    save, tight_layout = Figure.savefig, Figure.tight_layout

    def record_save(fig, *args, **kwargs):
        fig.canvas.draw()  # text extents as they are in the PNG
        saved.append((kwargs.get("bbox_inches"), texts_outside(fig)))
        return save(fig, *args, **kwargs)

    def record_layout(fig, *args, **kwargs):
        passes.append(fig)
        return tight_layout(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record_save)
    monkeypatch.setattr(Figure, "tight_layout", record_layout)
    return saved, passes


def texts_outside(fig: Figure) -> list[str]:
    """The titles of ``fig``'s visible axes whose drawn texts (title, tick labels, axis
    labels, legend) reach past its canvas, which a fixed layout must not let happen."""
    canvas = FigureCanvasAgg(fig)  # gankit's figures belong to no backend until drawn
    renderer = canvas.get_renderer()
    width, height = canvas.get_width_height()
    outside = []
    for ax in (ax for ax in fig.axes if ax.get_visible()):
        box = ax.get_tightbbox(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            outside.append(ax.get_title() or ax.get_ylabel())
    return outside


def test_snapshot_pictures_are_laid_out_once_and_fit_their_canvas(tmp_path, layouts):
    saved, passes = layouts
    steps = range(100, 1300, 100)  # tick labels as wide as the curves of a run make them
    records = [{"step": s, "d_loss": -1234.5 / s, "d_real": 0.00012 * s, "eval/w1": 1e-4 / s,
                "eval/modes": s % 7} for s in steps]
    plots.plot_training_curves(records, tmp_path / "training.png", {"d_loss"})
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 2)) * 40, rng.normal(size=(300, 2))
    points = plots.grid_points(*plots.landscape_grid(real, fake))
    plots.plot_samples_2d(real, fake, (points[:, 0] * 1e3, "critic D(x)"),
                          tmp_path / "samples.png",
                          "step 12000\nmodes 25, high_quality 95.9, reverse_kl 0.00649, w1 0.167",
                          chains=rng.normal(size=(3, 5, 2)))
    assert passes == []  # no tight_layout
    assert saved == [(None, []), (None, [])]  # no trimmed save, and every text in view
    assert Image.open(tmp_path / "training.png").size == (1386, 704)  # 12.6 x 6.4 in at 110 dpi


def test_tensorboard_holds_each_snapshot_png_as_written(tmp_path, make_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = make_run(tmp_path / "run", hooks=True, train={"steps": 4, "plot_every": 2})
    run.fit()
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"),
                              size_guidance={"images": 0}).Reload()
    samples = events.Images("samples")
    assert [image.step for image in samples] == [2, 4]
    for image in samples:
        png = tmp_path / "run" / "samples" / f"step-{image.step:07d}.png"
        assert image.encoded_image_string == png.read_bytes()
        assert (image.width, image.height) == Image.open(png).size
    training = events.Images("training")[-1]
    assert training.encoded_image_string == (tmp_path / "run" / "training.png").read_bytes()
