"""The CLI as a shell sees it: results alone on stdout, one evaluation per run recorded with its
settings, quiet closed pipes, config inspection, sample files, ``~`` paths, a fast ``--help``,
and the run's record in TensorBoard."""

import contextlib
import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from conftest import one_error_line, tiny_dict
from gankit.commandline.cli import main
from gankit.data.images import to_uint8
from gankit.evaluation import EVAL_SEED

IMAGES = tiny_dict(data={"name": "digits8", "batch_size": 16, "n_eval": 20},
                   model={"name": "dcgan", "latent_dim": 8, "g_hidden": 4, "d_hidden": 4,
                          "g_batchnorm": True, "d_norm": "batch"},
                   train={"steps": 2})




def write_config(path, config):
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """A finished 3-step toy run through the CLI, with what it printed."""
    root = tmp_path_factory.mktemp("shell")
    config = write_config(root / "tiny.yaml", tiny_dict(train={"steps": 3, "log_every": 1}))
    run_dir = root / "run"
    capture = pytest.MonkeyPatch()
    try:
        counted = count_evaluations(capture)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(["train", str(config), "--out", str(run_dir), "--no-progress"]) == 0
    finally:
        capture.undo()
    return run_dir, out.getvalue(), err.getvalue(), counted


def count_evaluations(monkeypatch) -> list[int]:
    """Count the toy metric computations, wherever they are called from."""
    import gankit.evaluation.points

    calls = []
    original = gankit.evaluation.points.toy_eval_metrics

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(gankit.evaluation.points, "toy_eval_metrics", counting)
    return calls


# --- stdout is the result ---------------------------------------------------------------------


def test_train_prints_only_its_json_result_on_stdout(toy_run):
    run_dir, out, err, _ = toy_run
    record = json.loads(out)  # the whole of stdout is one JSON object
    assert {"modes", "high_quality", "reverse_kl", "w1"} <= record.keys()
    assert "run directory: " + str(run_dir) in err


def test_train_evaluates_once_and_that_is_eval_json(toy_run):
    run_dir, out, _, calls = toy_run
    assert len(calls) == 1  # the final snapshot's metrics are the result
    record = json.loads(out)
    assert record == json.loads((run_dir / "eval.json").read_text())
    assert (record["step"], record["n"], record["features"], record["seed"]) == (
        3, 200, None, EVAL_SEED)


def test_eval_reproduces_the_final_snapshot_and_writes_other_settings_beside_it(
        toy_run, capsys, tmp_path):
    run_dir, out, _, _ = toy_run
    assert main(["eval", str(run_dir)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == json.loads(out)
    assert "warning" not in captured.err  # the same step: nothing replaced
    assert main(["eval", str(run_dir), "--n", "50", "--seed", "3"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert (other["n"], other["seed"]) == (50, 3)
    beside = run_dir / "eval-none-n50-seed3.json"
    assert json.loads(beside.read_text()) == other
    assert json.loads((run_dir / "eval.json").read_text()) == json.loads(out)  # untouched


def test_replacing_an_evaluation_of_another_step_is_said(toy_run, tmp_path, capsys):
    import shutil

    run_dir = shutil.copytree(toy_run[0], tmp_path / "run")
    record = json.loads((run_dir / "eval.json").read_text())
    (run_dir / "eval.json").write_text(json.dumps({**record, "step": 9}))  # a later step's
    assert main(["eval", str(run_dir)]) == 0
    err = capsys.readouterr().err
    assert "gankit: warning: replaced" in err and "step 9 with step 3" in err
    (run_dir / "eval.json").write_text(json.dumps({**record, "step": 1}))  # progress: quiet
    assert main(["eval", str(run_dir)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly_with_status_0():
    process = subprocess.Popen([sys.executable, "-m", "gankit", "configs"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before anything was written (| head -0)
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, err
    assert err == ""


def test_sample_prints_the_path_it_wrote_exactly(toy_run, tmp_path, capsys):
    plain = tmp_path / "plain"  # no .npy suffix: written as given, not as plain.npy
    assert main(["sample", str(toy_run[0]), "--n", "7", "--out", str(plain)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(plain)
    assert plain.is_file() and not (tmp_path / "plain.npy").exists()
    assert np.load(plain).shape == (7, 2)
    assert "wrote 7 samples" in captured.err


# --- sample files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    config = write_config(root / "images.yaml", IMAGES)
    run_dir = root / "run"
    assert main(["train", str(config), "--out", str(run_dir), "--no-progress"]) == 0
    return run_dir


def test_png_dir_holds_the_samples_as_8_bit_images(image_run, tmp_path, capsys):
    import gankit

    folder = tmp_path / "pngs"
    assert main(["sample", str(image_run), "--n", "12", "--seed", "5", "--format", "png-dir",
                 "--out", str(folder)]) == 0
    assert capsys.readouterr().out.strip() == str(folder)
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == [f"{i:06d}.png" for i in range(12)]
    expected = to_uint8(gankit.load(image_run, progress=False).sample(12, seed=5))  # [12,1,8,8]
    for path, image in zip(files, expected, strict=True):
        with Image.open(path) as png:
            assert png.mode == "L" and png.size == (8, 8)
            assert np.array_equal(np.asarray(png), image[0].numpy())


def test_png_dir_refuses_points_and_a_full_folder(toy_run, image_run, tmp_path, capsys):
    line = one_error_line(capsys, ["sample", str(toy_run[0]), "--format", "png-dir",
                                   "--out", str(tmp_path / "x")])
    assert "[N, 1 or 3, H, W]" in line and "npy" in line
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    line = one_error_line(capsys, ["sample", str(image_run), "--format", "png-dir",
                                   "--out", str(full)])
    assert "holds files other than PNGs" in line and (full / "keep.txt").read_text() == "mine"


def test_unknown_format_is_one_line(toy_run, capsys):
    line = one_error_line(capsys, ["sample", str(toy_run[0]), "--format", "jpg", "--out", "x"])
    assert "'jpg'" in line and "npy" in line and "png-dir" in line


# --- config inspection ------------------------------------------------------------------------


def test_config_show_prints_the_resolved_yaml(capsys):
    from gankit.configuration.resolve import load_config

    assert main(["config", "show", "grid25-wgan-gp", "--set", "train.steps=7"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown == load_config("grid25-wgan-gp", ["train.steps=7"]).to_dict()
    assert shown["loss"]["gp_weight"] == 10.0 and shown["train"]["steps"] == 7


def test_config_show_of_a_missing_name_is_one_line(capsys):
    line = one_error_line(capsys, ["config", "show", "no-such-config"])
    assert "no-such-config" in line and "grid25" in line


def test_configs_describes_each_config_in_one_line(capsys):
    from gankit.configuration.compose import shipped_configs

    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    datasets, losses = shipped_configs()
    for name in datasets + losses:
        (line,) = [line for line in lines if line.split()[:1] == [name]]
        description = line.split(None, 1)[1]
        assert len(description) > 15 and not description.startswith("#"), line


# --- paths, start-up ------------------------------------------------------------------------


def test_tilde_expands_in_flags_and_config_paths(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = write_config(tmp_path / "tiny.yaml", tiny_dict(train={"steps": 1}))
    assert main(["train", "~/tiny.yaml", "--out=~/run", "--no-progress"]) == 0
    assert (tmp_path / "run" / "eval.json").is_file()
    from gankit.configuration.resolve import load_config

    faces = load_config(config, ["data.name=image-folder", "data.image_size=16",
                                 "data.path=~/faces"])
    assert faces.data.path == str(tmp_path / "faces")


def test_help_is_fast_and_imports_no_torch():
    code = ("import sys, time; start = time.perf_counter(); import gankit.commandline.cli; "
            "gankit.commandline.cli.build_parser().format_help(); "
            "print(time.perf_counter() - start, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[1] == "False"
    best = min(timed_help() for _ in range(3))
    assert best < 1.0, f"gankit --help took {best:.2f} s"


def timed_help() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gankit", "--help"], capture_output=True, check=True,
                   env={**os.environ})
    return time.perf_counter() - start


# --- resume notices ---------------------------------------------------------------------------


def test_resume_into_other_networks_names_the_first_differing_tensor(toy_run, tmp_path, capsys):
    import shutil

    run_dir = shutil.copytree(toy_run[0], tmp_path / "run")
    line = one_error_line(capsys, ["train", "--resume", str(run_dir), "--set",
                                   "model.g_hidden=24", "--set", "train.steps=5"])
    assert "G.body.0" in line and "[16]" in line and "[24]" in line, line


@pytest.mark.parametrize("decay_from", [0.5, 1.0])
def test_a_longer_resume_says_when_it_stretches_the_schedule(tmp_path, capsys, decay_from):
    config = write_config(tmp_path / "c.yaml",
                          tiny_dict(train={"steps": 4, "lr_decay_from": decay_from}))
    assert main(["train", str(config), "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "r"), "--set", "train.steps=8",
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    if decay_from < 1:
        assert "gankit: train.steps 4 -> 8 stretches the learning-rate schedule" in err
        assert "warning" not in err  # issue 29: the default (train.on_extend) is a choice
        assert "starts at step 4 instead of 2" in err
    else:
        assert "stretches" not in err


# --- TensorBoard and metrics.jsonl ------------------------------------------------------------


def test_the_learning_rates_are_logged_each_log_every(tmp_path):
    import gankit
    from gankit.training.runlog import read_metrics

    run = gankit.build(tiny_dict(train={"steps": 4, "log_every": 1, "lr_decay_from": 0.5,
                                        "lr_d": 4e-3, "lr_g": 2e-3}),
                       run_dir=tmp_path, progress=False, snapshots=False)
    run.fit()
    records = [r for r in read_metrics(tmp_path) if "lr/d" in r]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    # the rate used by the step that ends at the record: constant to step 2, then linear to 0
    assert [r["lr/d"] for r in records] == pytest.approx([4e-3, 4e-3, 4e-3, 2e-3])
    assert records[0]["lr/g"] == pytest.approx(2e-3)


def test_tensorboard_holds_grouped_losses_the_config_and_the_hparams(toy_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(toy_run[0] / "tensorboard"),
                              size_guidance={"tensors": 0, "scalars": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"loss/d_loss", "loss/g_loss", "stats/d_real", "train/steps_per_s", "lr/d",
            "eval/modes"} <= scalars, scalars
    texts = [tag for tag in events.Tags()["tensors"] if tag.startswith("config")]
    assert texts, events.Tags()
    text = events.Tensors(texts[0])[0].tensor_proto.string_val[0].decode()
    assert "lr_d" in text and "ring8" in text
    plugins = events.PluginTagToContent("hparams")
    assert "_hparams_/experiment" in plugins and "_hparams_/session_start_info" in plugins
    start = plugins["_hparams_/session_start_info"].decode("latin-1")
    assert "train.lr_d" in start and "data.name" in start


# --- export -----------------------------------------------------------------------------------


def test_export_writes_the_generator_that_reloads(image_run, tmp_path, capsys):
    import gankit
    from gankit.commandline.flags import export_formats
    from gankit.storage.export import EXPORT_FORMATS

    # the parser's choices, read from source, are the formats the module registers
    assert list(export_formats()) == EXPORT_FORMATS.names()
    out = tmp_path / "G.pt"
    assert main(["export", str(image_run), "--format", "torchscript", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    run = gankit.load(image_run, progress=False)
    z = run.recipe.latent(4, torch.Generator().manual_seed(1))
    with torch.no_grad(), pytest.warns(DeprecationWarning):
        scripted = torch.jit.load(str(out))
    run.generator.eval()
    with torch.no_grad():
        torch.testing.assert_close(scripted(z), run.generator(z), atol=1e-5, rtol=1e-5)


def test_run_generator_is_what_sample_uses(image_run):
    import gankit

    run = gankit.load(image_run, progress=False)
    assert run.generator is run.recipe.nets["G"]
    ema = gankit.build(tiny_dict(train={"steps": 1, "g_ema": 0.9}), progress=False,
                       snapshots=False)
    assert ema.generator is ema.recipe.nets["G_ema"]


def test_export_bad_input_is_one_line(toy_run, tmp_path, capsys):
    line = one_error_line(capsys, ["export", str(toy_run[0]), "--format", "pickle",
                                   "--out", str(tmp_path / "g")])
    assert "'pickle'" in line and "onnx" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.yaml").write_text((toy_run[0] / "config.yaml").read_text())
    line = one_error_line(capsys, ["export", str(empty), "--format", "state_dict",
                                   "--out", str(tmp_path / "g")])
    assert "no checkpoint" in line
    line = one_error_line(capsys, ["export", str(toy_run[0]), "--format", "state_dict",
                                   "--ema", "--out", str(tmp_path / "g")])
    assert "g_ema" in line and not (tmp_path / "g").exists()
