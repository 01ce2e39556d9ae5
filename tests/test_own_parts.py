"""A researcher's own modules and data: plain nn.Modules and tensors through gankit.build,
import strings that let the CLI rebuild the run, and one clear line for each mistake."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import gankit
from conftest import tiny_dict
from gankit.commandline.cli import main
from gankit.errors import ConfigError
from gankit.models import DOutput

TESTS = Path(__file__).parent


class TinyG(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, z):
        return self.net(z)


class LogitD(nn.Module):
    """A D that returns a tensor [N], as most scripts write it."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)


def points():
    return torch.randn(300, 2, generator=torch.Generator().manual_seed(1)) * 0.1 + 2.0


def test_plain_modules_and_a_tensor_train_sample_and_evaluate():
    G, D = TinyG(), LogitD()
    run = gankit.build(tiny_dict(train={"steps": 20}), generator=G, discriminator=D,
                       data=points(), progress=False, snapshots=False)
    assert run.config.model.generator == "given" and run.config.data.name == "given"
    before = [p.detach().clone() for p in G.parameters()]
    run.fit()
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters(), strict=True))
    assert run.generator is G  # the researcher's own module, trained in place
    out = run.recipe.nets["D"](torch.zeros(3, 2))
    assert isinstance(out, DOutput) and out.logits.shape == (3,)
    assert run.sample(5).shape == (5, 2)
    assert set(run.evaluate(100)) == {"w1"}  # no known modes: exact W1 only


@pytest.mark.parametrize("form", ["dataset", "pair"])
def test_labelled_images_as_a_dataset_or_a_pair(form):
    images = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8)
    labels = torch.arange(40) % 5
    data = TensorDataset(images, labels) if form == "dataset" else (images, labels)
    run = gankit.build(tiny_dict(data={"batch_size": 8, "n_eval": 16},
                                 model={"name": "dcgan", "latent_dim": 4, "g_hidden": 4,
                                        "d_hidden": 4}), data=data, progress=False,
                       snapshots=False)
    assert run.data.spec.n_classes == 5 and set(run.data.sample(4, torch.Generator())) == {
        "x", "label"}
    run.fit(2)


@pytest.mark.parametrize(("data", "words"), [
    (torch.zeros(5, 2, 3), ["[5, 2, 3]", "points [N, d]"]),
    (torch.full((4, 1, 8, 8), 3.0), ["[-1, 1]"]),
    ((torch.zeros(4, 2), torch.zeros(3)), ["labels", "N = 4"]),
    ("faces/", ["str", "Tensor"]),
])
def test_bad_data_is_one_line(data, words):
    with pytest.raises(ConfigError) as err:
        gankit.build(tiny_dict(), data=data, progress=False, snapshots=False)
    assert "\n" not in str(err.value) and all(w in str(err.value) for w in words), err.value


def test_a_discriminator_with_a_wrong_output_is_one_line():
    class Wide(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(2))

        def forward(self, x):
            return x * self.scale  # [N, 2]: not one logit per example

    run = gankit.build(tiny_dict(), discriminator=Wide(), progress=False, snapshots=False)
    with pytest.raises(Exception, match=r"returned \[32, 2\]; it must return a DOutput or one "
                                        r"logit per example"):
        run.fit(1)


def cli_env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS),
                                                         os.environ.get("PYTHONPATH", "")])}


def test_import_strings_let_the_cli_train_resume_sample_and_evaluate(tmp_path):
    config = tmp_path / "own.yaml"
    own = tiny_dict(model={"generator": "own_parts:make_generator",
                           "discriminator": "own_parts:make_discriminator"},
                    data={"name": "own_parts:make_points"}, train={"steps": 4})
    config.write_text(json.dumps(own))
    run_dir = tmp_path / "run"

    def gankit_cli(*args):
        done = subprocess.run([sys.executable, "-m", "gankit", *args], capture_output=True,
                              text=True, env=cli_env(), timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout

    record = json.loads(gankit_cli("train", str(config), "--out", str(run_dir), "--no-progress"))
    assert record["step"] == 4 and "w1" in record
    gankit_cli("train", "--resume", str(run_dir), "--set", "train.steps=6", "--no-progress")
    assert Path(gankit_cli("sample", str(run_dir), "--n", "9", "--out",
                           str(tmp_path / "x.npy")).strip()).is_file()
    assert json.loads(gankit_cli("eval", str(run_dir)))["step"] == 6


def test_a_run_of_given_modules_cannot_be_rebuilt_and_says_why(tmp_path, capsys):
    run = gankit.build(tiny_dict(train={"steps": 2}), generator=TinyG(), run_dir=tmp_path,
                       progress=False, snapshots=False)
    run.fit()
    assert main(["sample", str(tmp_path), "--out", str(tmp_path / "x.npy")]) == 2
    line = capsys.readouterr().err.strip()
    assert "gankit.load(" in line and "generator=..." in line and "package.module:factory" in line


@pytest.mark.parametrize(("key", "value", "words"), [
    ("model.generator", "own_parts:nope", ["model.generator", "has no attribute 'nope'"]),
    ("model.discriminator", "no_such_module_xyz:f", ["cannot import no_such_module_xyz"]),
    ("data.name", "own_parts", ["unknown dataset 'own_parts'", "package.module:factory"]),
    ("data.name", ":make_points", ["must be an import string"]),
])
def test_a_wrong_import_string_is_one_line(key, value, words, capsys, tmp_path):
    sys.path.insert(0, str(TESTS))
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(tiny_dict()))
    try:
        assert main(["config", "show", str(config), "--set", f"{key}={value}"]) == 2
    finally:
        sys.path.remove(str(TESTS))
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and all(w in line for w in words), line
