"""The generators shipped with gankit (gankit.pretrained): each loads by name, samples or
translates deterministically at the recorded shapes, through the API and the commands; the
records carry what the docs show; nothing is written into the package; a wrong name is one
line naming the shipped ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import gankit
from conftest import one_error_line
from gankit import pretrained
from gankit.commandline.cli import main
from gankit.errors import GankitError
from gankit.pretrained.make import MODELS

LIMIT = 10 * 2**20  # bytes the shipped generators may add to the wheel, all together


def package_files() -> dict[str, tuple[int, int]]:
    """Every file under the package folder with its size and modification time."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in pretrained.FOLDER.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture
def untouched_package() -> Any:
    """The package folder holds the same files, unchanged, after the test."""
    before = package_files()
    yield
    assert package_files() == before


@pytest.fixture(scope="module")
def loaded() -> dict[str, gankit.Run]:
    return {name: gankit.load(f"pretrained:{name}", progress=False)
            for name in pretrained.available()}


def test_the_four_names_ship_and_each_is_made_by_one_recorded_command() -> None:
    assert pretrained.available() == sorted(MODELS) == sorted(
        ["cgan-mnist", "dcgan-mnist", "gan-grid25", "pix2pix-edges2digits"])
    total = sum(p.stat().st_size for p in pretrained.FOLDER.glob("*.safetensors"))
    assert total <= LIMIT, f"{total / 2**20:.1f} MB of weights"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_record_holds_config_metrics_and_provenance(name: str) -> None:
    record = pretrained.record(name)
    assert record["command"] == f"python -m gankit.pretrained.make {name} --into " \
                                f"src/gankit/pretrained"
    assert record["config"]["train"]["steps"] == record["metrics"]["step"]
    for key in ("n", "features", "seed"):
        assert key in record["metrics"]
    assert len(record["metrics"]) > 4  # the metrics themselves beside their settings
    assert record["gankit_version"] and record["date"] and record["hardware"]["cpu"]
    # the stored weights draw what the float32 ones did: within a grey level for images
    bound = {"float16": 1 / 127.5, "float32": 0.0}[record["storage"]]
    assert 0 <= record["storage_max_abs_diff"] <= bound


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_loads_at_its_step_and_draws_the_same_for_a_seed(
        name: str, loaded: dict[str, gankit.Run], untouched_package: None) -> None:
    run = loaded[name]
    assert run.step == pretrained.record(name)["metrics"]["step"]
    assert run.run_dir is None  # nothing to write into
    if run.recipe.translates:
        a = torch.rand(3, *run.data.spec.shape) * 2 - 1
        out = run.translate(a)
        assert out.shape == (3, *run.data.spec.shape_b)
        assert torch.equal(out, run.translate(a))
        return
    x = run.sample(6, seed=3)
    assert x.shape == (6, *run.data.spec.shape)
    assert torch.equal(x, run.sample(6, seed=3)) and not torch.equal(x, run.sample(6, seed=4))


def test_the_weights_loaded_are_the_shipped_ones(loaded: dict[str, gankit.Run]) -> None:
    from safetensors.torch import load_file

    run = loaded["dcgan-mnist"]
    shipped = load_file(pretrained.FOLDER / "dcgan-mnist.safetensors")
    state = run.generator.state_dict()
    assert state.keys() == shipped.keys()
    for key, value in shipped.items():
        assert torch.equal(state[key].to(value.dtype), value), key


def test_the_conditional_model_draws_the_class_asked_for(loaded: dict[str, gankit.Run]) -> None:
    """Samples asked for classes 0..9 are read back as those classes by gankit's digit
    classifier about as often as the record's class_accuracy says, far above chance (0.1)."""
    from gankit.metrics.digit_classifier import load_digit_classifier

    run = loaded["cgan-mnist"]
    labels = torch.arange(10).repeat(20)
    x = run.sample(len(labels), seed=0, labels=labels)
    classifier = load_digit_classifier("mnist5k", "cpu")
    accuracy = float((classifier.probabilities(x).argmax(1) == labels).float().mean())
    recorded = pretrained.record("cgan-mnist")["metrics"]["class_accuracy"]
    assert accuracy == pytest.approx(recorded, abs=0.12) and accuracy > 0.25


def test_sample_command_writes_only_its_out(tmp_path: Path, untouched_package: None) -> None:
    out = tmp_path / "digits.npy"
    assert main(["sample", "pretrained:dcgan-mnist", "--n", "5", "--seed", "1",
                 "--out", str(out)]) in (0, None)
    x = np.load(out)
    assert x.shape == (5, 1, 28, 28)
    assert np.array_equal(x, gankit.load("pretrained:dcgan-mnist", progress=False)
                          .sample(5, seed=1).numpy())
    pngs = tmp_path / "sevens"
    assert main(["sample", "pretrained:cgan-mnist", "--n", "3", "--class", "7",
                 "--format", "png-dir", "--out", str(pngs)]) in (0, None)
    assert len(list(pngs.glob("*.png"))) == 3


def test_translate_command_writes_only_its_out(tmp_path: Path, untouched_package: None
                                               ) -> None:
    from PIL import Image, ImageDraw

    edges = tmp_path / "edges"
    edges.mkdir()
    picture = Image.new("L", (32, 32))
    ImageDraw.Draw(picture).ellipse((8, 6, 24, 26), outline=255, width=2)  # a zero's edges
    picture.save(edges / "zero.png")
    out = tmp_path / "digits"
    assert main(["translate", "pretrained:pix2pix-edges2digits", "--input", str(edges),
                 "--out", str(out)]) in (0, None)
    assert Image.open(out / "zero.png").size == (32, 32)


def test_eval_command_prints_and_writes_nothing(capsys: Any, untouched_package: None) -> None:
    assert main(["eval", "pretrained:gan-grid25", "--n", "500"]) in (0, None)
    assert "modes" in capsys.readouterr().out


def test_a_wrong_name_is_one_line_naming_the_shipped_ones(capsys: Any, tmp_path: Path) -> None:
    line = one_error_line(capsys, ["sample", "pretrained:dcgan", "--out", str(tmp_path / "x")])
    assert "'dcgan'" in line
    for name in MODELS:
        assert f"pretrained:{name}" in line
    with pytest.raises(GankitError, match="pretrained:gan-grid25"):
        gankit.load("pretrained:nope")


def test_a_shipped_generator_takes_no_run_directory_arguments(tmp_path: Path) -> None:
    with pytest.raises(GankitError, match="leave out out, checkpoint"):
        gankit.load("pretrained:gan-grid25", out=tmp_path / "x", checkpoint="best")
    assert not (tmp_path / "x").exists()


def test_make_packs_only_a_run_finished_with_the_recorded_settings(tmp_path: Path) -> None:
    """Retraining is one command; a --run trained otherwise, or stopped early, is refused in
    one line before anything is packed."""
    from gankit.configuration.resolve import load_config
    from gankit.configuration.yaml_io import dump_yaml
    from gankit.pretrained.make import overrides, train

    config = load_config("grid25", [*overrides("gan-grid25"), "train.steps=10"])
    (tmp_path / "config.yaml").write_text(dump_yaml(config.to_dict()))
    with pytest.raises(GankitError, match=r"other settings than gan-grid25's \(train.steps\)"):
        train("gan-grid25", tmp_path)
    config = load_config("grid25", overrides("gan-grid25"))
    (tmp_path / "config.yaml").write_text(dump_yaml(config.to_dict()))
    with pytest.raises(GankitError, match="stopped at step 0 of 12000"):
        train("gan-grid25", tmp_path)
