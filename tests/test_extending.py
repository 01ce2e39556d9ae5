"""Extending gankit from outside (docs/extending.md): for every kind of entry, one file outside
``src/`` adds an entry through a Python entry point, and the command line uses it.

Each test writes a module and a fake installed distribution (``plugin-0.1.dist-info`` with its
``entry_points.txt``) into ``tmp_path``, puts that folder on PYTHONPATH, and runs ``python -m
gankit`` there: importlib.metadata finds the distribution as it would a ``pip install``-ed one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import gankit as gankit_package

# A run small enough that training it through the CLI takes a second or two.
TINY = ["--no-progress", "--set", "train.steps=2", "--set", "train.threads=1",
        "--set", "model.g_hidden=8", "--set", "model.d_hidden=8", "--set", "data.n_eval=50",
        "--set", "train.precision=fp32"]


def plugin(folder: Path, group: str, name: str, source: str, module: str = "myplugin") -> None:
    """``module.py`` holding ``source``, installed (as far as importlib.metadata can tell) with
    the entry point ``name = module`` in ``group``."""
    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    info = folder / f"{module}-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    with (info / "entry_points.txt").open("a") as points:
        points.write(f"[{group}]\n{name} = {module}\n")


def gankit(folder: Path, *argv: str, status: int = 0) -> subprocess.CompletedProcess:
    """``python -m gankit ARGV`` in ``folder`` with it first on the path, then the gankit
    these tests import (a relative PYTHONPATH would not hold in ``folder``); must end with
    ``status``."""
    path = os.pathsep.join([str(folder), str(Path(gankit_package.__file__).parents[1])])
    done = subprocess.run([sys.executable, "-m", "gankit", *argv], cwd=folder, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": path})
    assert done.returncode == status, done.stderr
    return done


def train(folder: Path, *sets: str, config: str = "ring8") -> Path:
    out = folder / "run"
    argv = ["train", config, "--out", str(out), *TINY]
    for item in sets:
        argv += ["--set", item]
    gankit(folder, *argv)
    return out


def test_a_recipe_from_an_entry_point_trains(tmp_path):
    plugin(tmp_path, "gankit.recipes", "plain-gan", """
        from gankit.recipes.base import RECIPES
        from gankit.recipes.gan import GAN

        @RECIPES.register("plain-gan")
        class PlainGAN(GAN):
            '''The GAN recipe under a name of its own.'''
        """)
    run = train(tmp_path, "recipe=plain-gan")
    assert "recipe: plain-gan" in (run / "config.yaml").read_text()


def test_network_parts_from_entry_points_train(tmp_path):
    source = """
        from torch import nn
        from gankit.models.base import DISCRIMINATORS, GENERATORS, DOutput

        @GENERATORS.register("tiny")
        def tiny_generator(config, shape):
            '''One hidden layer.'''
            return nn.Sequential(nn.Linear(config.latent_dim, 8), nn.ReLU(),
                                 nn.Linear(8, shape[0]))

        class TinyCritic(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.body, self.out = nn.Sequential(nn.Linear(width, 8), nn.ReLU()), nn.Linear(8, 1)

            def forward(self, x):
                h = self.body(x.flatten(1))
                return DOutput(self.out(h).squeeze(1), h)

        @DISCRIMINATORS.register("tiny")
        def tiny_discriminator(config, shape):
            '''One hidden layer.'''
            return TinyCritic(shape[0] * config.pack)
        """
    plugin(tmp_path, "gankit.generators", "tiny", source)
    plugin(tmp_path, "gankit.discriminators", "tiny", source)
    run = train(tmp_path, "model.generator=tiny", "model.discriminator=tiny")
    assert (run / "eval.json").is_file()


def test_a_loss_from_an_entry_point_trains(tmp_path):
    plugin(tmp_path, "gankit.losses", "soft-hinge", """
        import torch.nn.functional as F
        from gankit.losses.adversarial import LOSSES, LossSpec, wasserstein_g_loss

        @LOSSES.register("soft-hinge")
        class SoftHinge(LossSpec):
            '''The hinge loss with its corners rounded.'''
            probabilistic = False
            g_loss = staticmethod(wasserstein_g_loss)

            @staticmethod
            def d_loss(d_real, d_fake):
                return F.softplus(1 - d_real).mean() + F.softplus(1 + d_fake).mean()
        """)
    run = train(tmp_path, "loss.name=soft-hinge")
    assert "name: soft-hinge" in (run / "config.yaml").read_text()


def test_a_data_set_from_an_entry_point_trains(tmp_path):
    plugin(tmp_path, "gankit.datasets", "line3", """
        import torch
        from gankit.data import DATASETS, GaussianMixture

        @DATASETS.register("line3", uses=())
        def line3(config):
            '''Three Gaussians on a line.'''
            centers = torch.tensor([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
            return GaussianMixture("line3", 2, centers, 0.01)
        """)
    run = train(tmp_path, "data.name=line3")
    assert "name: line3" in (run / "config.yaml").read_text()


JITTER = """
    import torch
    from gankit.evaluation.latents import PriorLatents
    from gankit.sampling.settings import SAMPLERS

    class Jittered:
        def __init__(self, prior, scale):
            self.prior, self.scale = prior, scale

        def draw(self, n, generator):
            z = self.prior.draw(n, generator)
            return z + self.scale * torch.randn(z.shape, generator=generator,
                                                device=generator.device)

    @SAMPLERS.register("jitter", label="s{scale:g}", flags={
        "scale": {"type": "float", "default": 0.5, "help": "the noise added to each z"}})
    def jitter(recipe, settings):
        '''The prior with Gaussian noise added.'''
        return Jittered(PriorLatents(recipe), settings.scale)
    """


def test_a_latent_sampler_from_an_entry_point_has_its_flags_and_samples(tmp_path):
    plugin(tmp_path, "gankit.samplers", "jitter", JITTER)
    help_text = gankit(tmp_path, "sample", "--help").stdout
    assert "jitter" in help_text and "--scale" in help_text  # read from the declaration
    run = train(tmp_path)
    out = tmp_path / "z.npy"
    gankit(tmp_path, "sample", str(run), "--n", "5", "--out", str(out), "--sampler", "jitter",
           "--scale", "0.1")
    assert out.is_file()
    record = json.loads(gankit(tmp_path, "eval", str(run), "--sampler", "jitter").stdout)
    assert record["sampler"] == "jitter-s0.5"  # the declared default, named by the label


@pytest.fixture(scope="module")
def image_run(tmp_path_factory) -> Path:
    """digits8 trained 2 steps through the CLI."""
    folder = tmp_path_factory.mktemp("images")
    return train(folder, "data.n_eval=20", config="digits8")


def test_an_image_metric_from_an_entry_point_is_in_eval(tmp_path, image_run):
    plugin(tmp_path, "gankit.image_metrics", "mean_brightness", """
        from gankit.evaluation.image_metrics import IMAGE_METRICS

        @IMAGE_METRICS.register("mean_brightness")
        def mean_brightness(batch):
            '''The generated images' mean pixel value.'''
            return {"mean_brightness": float(batch.fake.mean())}
        """)
    record = json.loads(gankit(tmp_path, "eval", str(image_run), "--n", "20",
                               "--out", str(tmp_path / "eval.json")).stdout)
    assert -1 <= record["mean_brightness"] <= 1 and "fid" in record


def test_a_feature_extractor_from_an_entry_point_measures_fid(tmp_path, image_run):
    plugin(tmp_path, "gankit.feature_extractors", "pixels", """
        from gankit.metrics.extractors import FEATURE_EXTRACTORS

        class Pixels:
            name = "pixels"

            def features(self, images):
                return images.flatten(1).float().cpu()

        @FEATURE_EXTRACTORS.register("pixels")
        def pixels(data, weights, device):
            '''The images' pixels themselves.'''
            return Pixels()
        """)
    assert "pixels" in gankit(tmp_path, "eval", "--help").stdout
    record = json.loads(gankit(tmp_path, "eval", str(image_run), "--n", "20", "--features",
                               "pixels", "--out", str(tmp_path / "eval.json")).stdout)
    assert record["features"] == "pixels" and record["fid"] >= 0
    assert "classifier_score" not in record  # pixels classify nothing
    # the config takes it too, as the run's own feature space (data.features)
    run = train(tmp_path, "data.features=pixels", "data.n_eval=20", config="digits8")
    assert json.loads((run / "eval.json").read_text())["features"] == "pixels"


def test_an_augmentation_from_an_entry_point_is_a_policy(tmp_path):
    plugin(tmp_path, "gankit.augmentations", "flip", """
        from gankit.augment import AUGMENTATIONS

        @AUGMENTATIONS.register("flip")
        class Flip:
            '''Mirror left-right where the draw is below one half.'''
            draws = 1

            def apply(self, x, u):
                return x.where(u[:, :1, None, None] >= 0.5, x.flip(-1))
        """)
    run = train(tmp_path, "augment.policy=flip,cutout", "augment.ada=true", "data.batch_size=8",
                config="digits8")
    curves = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("augment_p" in record for record in curves)  # the pipe ran with the policy
    done = gankit(tmp_path, "train", "digits8", "--out", str(tmp_path / "other"), *TINY,
                  "--set", "augment.policy=mirror", status=2)
    assert "flip" in done.stderr  # the plugin is among the known names


def test_an_experiment_from_an_entry_point_runs(tmp_path):
    plugin(tmp_path, "gankit.experiments", "hello", """
        from gankit.experiments.base import EXPERIMENTS

        @EXPERIMENTS.register("hello")
        def hello(out_dir, quick=False):
            '''Say hello.'''
            return {"hello": 1, "quick": quick}
        """)
    assert "hello" in gankit(tmp_path, "experiment", "list").stdout.split()
    done = gankit(tmp_path, "experiment", "hello", "--quick", "--out", str(tmp_path / "x"))
    assert json.loads(done.stdout) == {"hello": 1, "quick": True}


def test_an_export_format_from_an_entry_point_writes(tmp_path):
    plugin(tmp_path, "gankit.export_formats", "npz", """
        import numpy as np
        from gankit.storage.export import EXPORT_FORMATS

        @EXPORT_FORMATS.register("npz")
        def write_npz(G, z, path, metadata):
            '''G's weights as a NumPy archive.'''
            with open(path, "wb") as file:
                np.savez(file, **{k: v.numpy() for k, v in G.state_dict().items()})
        """)
    assert "npz: G's weights as a NumPy archive" in gankit(tmp_path, "export", "--help").stdout
    run = train(tmp_path)
    out = tmp_path / "g.npz"
    gankit(tmp_path, "export", str(run), "--format", "npz", "--out", str(out))
    import numpy as np

    assert len(np.load(out).files) > 0


def test_declarations_are_read_from_source_without_running_it(tmp_path):
    plugin(tmp_path, "gankit.samplers", "boom", '''
        raise SystemExit("this module ran")

        SCALE = {"type": "float", "default": 0.5, "help": "how loud"}

        @SAMPLERS.register("boom", flags={"scale": {**SCALE, "default": 2.0}})
        def boom(recipe, settings):
            """A sampler that must not be imported to be listed. More text."""
        ''')
    done = gankit(tmp_path, "sample", "--help")
    assert "boom: A sampler that must not be imported to be listed;" in " ".join(
        done.stdout.split())
    assert "--scale" in done.stdout and "default 2.0" in done.stdout


def test_a_sampler_option_that_clashes_with_a_flag_is_one_line(tmp_path):
    plugin(tmp_path, "gankit.samplers", "seeded", '''
        @SAMPLERS.register("seeded", flags={"seed": {"type": "int", "default": 1, "help": "?"}})
        def seeded(recipe, settings):
            """A sampler whose option gankit sample already has."""
        ''')
    err = gankit(tmp_path, "sample", "--help", status=2).stderr
    assert err == ("gankit: error: the option 'seed' of --sampler seeded is also a flag of "
                   "gankit sample; rename it\n")
