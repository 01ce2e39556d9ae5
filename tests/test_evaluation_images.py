"""Image runs end to end: snapshots (grids, interpolation strip, curves, TensorBoard) and the
metrics of ``gankit eval`` with its feature choices (gankit.evaluation.images, .features)."""

from __future__ import annotations

import json
import math

import pytest
import torch

import gankit
from gankit.commandline.cli import main
from gankit.errors import GankitError
from gankit.evaluation.images import image_metrics
from gankit.evaluation.latents import PriorLatents
from gankit.metrics.digit_classifier import load_digit_classifier
from gankit.metrics.digits import ChannelwiseClassifier

FAST = ["train.threads=1", "model.g_hidden=16", "model.d_hidden=16", "data.n_eval=200"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """digits8 trained 4 steps through the CLI with a snapshot every 2 steps."""
    run_dir = tmp_path_factory.mktemp("img") / "run"
    argv = ["train", "digits8", "--out", str(run_dir), "--no-progress",
            "--set", "train.steps=4", "--set", "train.plot_every=2"]
    for item in FAST:
        argv += ["--set", item]
    assert main(argv) == 0
    return run_dir


def test_snapshots_write_grids_strip_curves_and_tensorboard(digits_run):
    grids = sorted(p.name for p in (digits_run / "samples").glob("*.png"))
    assert grids == ["step-0000002.png", "step-0000004.png"]
    assert (digits_run / "interpolation.png").is_file() and (digits_run / "training.png").is_file()
    from PIL import Image

    with Image.open(digits_run / "samples" / grids[0]) as grid:
        assert min(grid.size) > 8 * 8  # an 8x8 grid of 8x8 digits (plus borders)
    records = [json.loads(line) for line in (digits_run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "eval/fid" in r]
    assert [r["step"] for r in evals] == [2, 4]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(digits_run / "tensorboard"), size_guidance={"images": 0}).Reload()
    assert {"samples", "interpolation", "training"} <= set(events.Tags()["images"])
    assert "eval/fid" in events.Tags()["scalars"]


def test_eval_reports_every_image_metric(digits_run, capsys):
    capsys.readouterr()
    assert main(["eval", str(digits_run), "--n", "200"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    expected = {"fid", "kid", "kid_std", "precision", "recall", "density", "coverage",
                "fid_held_out", "nn_ratio", "near_copies", "classifier_score", "label_kl"}
    assert expected <= metrics.keys()
    assert all(math.isfinite(metrics[k]) for k in expected)
    assert metrics["kid_std"] > 0  # subsets of 100 of the 200 samples differ
    assert "fid_held_out_n" not in metrics  # 200 of the 359 held-out digits: as many as fakes
    assert metrics["fid"] > metrics["fid_held_out"] > 0  # 4 steps: far from real digits
    assert 1 <= metrics["classifier_score"] <= 10
    written = json.loads((digits_run / "eval.json").read_text())
    assert written["step"] == 4 and written["fid"] == metrics["fid"]


def test_fid_held_out_says_how_many_images_it_used_beyond_the_split(digits_run, capsys):
    capsys.readouterr()
    assert main(["eval", str(digits_run), "--n", "400"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["fid_held_out_n"] == 359  # digits8's whole held-out split, not n = 400


def test_channelwise_outputs_are_features_and_probabilities_of_one_pass():
    features = ChannelwiseClassifier(load_digit_classifier("digits8", "cpu"), 8)
    images = torch.rand(30, 1, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    f, probs = features.outputs(images)  # resized to 8x8 first
    assert torch.equal(f, features.features(images))
    assert torch.equal(probs, features.probabilities(images))


def _one_error(capsys, argv) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err.strip()


def test_eval_feature_choices_are_checked(digits_run, tmp_path, capsys):
    err = _one_error(capsys, ["eval", str(digits_run), "--features", "inception"])
    assert "need the weights file: --weights PATH" in err
    missing = tmp_path / "pt_inception.pth"
    err = _one_error(capsys, ["eval", str(digits_run), "--features", "inception",
                              "--weights", str(missing)])
    assert str(missing) in err and len(err.splitlines()) == 1
    err = _one_error(capsys, ["eval", str(digits_run), "--weights", str(missing)])
    assert "--weights is for --features inception" in err


def test_features_are_refused_for_toy_data(make_run):
    with pytest.raises(GankitError, match="for image data"):
        make_run().evaluate(100, features="digits")


def test_stacked_mnist_modes_are_counted_with_the_classifier():
    run = gankit.build("stacked-mnist", overrides=FAST, progress=False, snapshots=False)
    run.fit(1)
    features = ChannelwiseClassifier(load_digit_classifier("mnist5k", "cpu"), 28)
    metrics = image_metrics(run.recipe, PriorLatents(run.recipe), run.data, 100,
                            run.trainer.device, features, mode_samples=300)
    assert 1 <= metrics["stacked_modes"] <= 300 and metrics["stacked_reverse_kl"] >= 0
    assert "classifier_score" not in metrics  # per-channel labels are counted as modes instead


def test_real_stacked_digits_cover_the_modes_a_uniform_draw_would():
    """The classifier-based mode count on real StackedMNIST is what uniform sampling gives:
    300 draws of 1,000 modes hit 1000 (1 - 0.999^300) = 259 distinct ones on average."""
    from gankit.configuration.schema import DataConfig
    from gankit.data import DATASETS
    from gankit.metrics.classifier import stacked_mnist_modes

    data = DATASETS["stacked-mnist"](DataConfig(name="stacked-mnist"))
    images, labels = data.reference(300, torch.Generator().manual_seed(0), "held_out")
    features = ChannelwiseClassifier(load_digit_classifier("mnist5k", "cpu"), 28)
    predicted = features.labels(images)
    assert (predicted == labels).all(1).float().mean() > 0.93  # 98.5% per digit, cubed
    assert 230 <= stacked_mnist_modes(predicted)["modes"] <= 290


def test_eval_needs_enough_samples_for_its_metrics(digits_run, capsys):
    err = _one_error(capsys, ["eval", str(digits_run), "--n", "5"])
    assert "image metrics need at least 10 samples" in err and "got 5" in err


def test_stacked_memorization_is_checked_digit_by_digit():
    from gankit.configuration.schema import DataConfig
    from gankit.data import DATASETS
    from gankit.data.images import to_unit_range
    from gankit.evaluation.image_metrics import memorization_metrics

    data = DATASETS["stacked-mnist"](DataConfig(name="stacked-mnist"))
    copies = to_unit_range(data.images[:300]).reshape(100, 3, 28, 28)  # triples of train digits
    fresh = to_unit_range(data.held_out[:300]).reshape(100, 3, 28, 28)
    copied, original = memorization_metrics(copies, data), memorization_metrics(fresh, data)
    assert copied["near_copies"] == 1.0 and copied["nn_ratio"] < 1e-6
    assert original["near_copies"] < 0.05 and 0.8 < original["nn_ratio"] < 1.25
