"""A run built in Python from one's own modules and images, loaded again (issue 28, item 7):
gankit.load takes the same objects back, checks them against what the run recorded, continues
the run exactly, and evaluate() measures it in a feature space the caller brings."""

import json
import warnings

import numpy as np
import pytest
import torch
from scipy import linalg
from torch import nn

import gankit
from conftest import all_tensors, assert_identical, one_error_line, tiny_dict
from gankit.errors import GankitError
from gankit.evaluation import EVAL_SEED

SIDE, CHANNELS, LATENT = 8, 3, 4


def own_generator(seed: int = 0, side: int = SIDE, hidden: int = 32) -> nn.Module:
    """z [N, 4] -> images [N, 3, side, side] in [-1, 1]; ``seed`` draws its first weights, so
    a fresh one differs from the trained one until a checkpoint fills it."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(LATENT, hidden), nn.ReLU(),
                         nn.Linear(hidden, CHANNELS * side * side), nn.Tanh(),
                         nn.Unflatten(1, (CHANNELS, side, side)))


def own_discriminator(seed: int = 1) -> nn.Module:
    """images [N, 3, 8, 8] -> one logit each [N, 1]."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(CHANNELS, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten(),
                         nn.Linear(8 * (SIDE // 2) ** 2, 1))


def own_images(n: int = 64, channels: int = CHANNELS, side: int = SIDE, seed: int = 0
               ) -> torch.Tensor:
    return torch.randint(0, 256, (n, channels, side, side), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(seed))


def config(steps: int = 6) -> dict:
    return tiny_dict(data={"batch_size": 8, "n_eval": 64}, model={"latent_dim": LATENT},
                     train={"steps": steps})


def built(run_dir, steps: int = 6) -> gankit.Run:
    return gankit.build(config(steps), generator=own_generator(), discriminator=own_discriminator(),
                        data=own_images(), run_dir=run_dir, progress=False, snapshots=False)


def loaded(run_dir, **given) -> gankit.Run:
    parts = {"generator": own_generator(seed=5), "discriminator": own_discriminator(seed=6),
             "data": own_images()} | given
    return gankit.load(run_dir, progress=False, **parts)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run of own modules and images trained 3 of its 6 steps, with its samples then."""
    run_dir = tmp_path_factory.mktemp("own") / "run"
    run = built(run_dir)
    run.fit(3)
    return run_dir, run.sample(16, seed=3)


def test_loaded_with_fresh_modules_it_samples_as_before(trained):
    run_dir, samples = trained
    run = loaded(run_dir)
    assert run.step == 3
    assert torch.equal(run.sample(16, seed=3), samples)


def test_the_run_records_its_data(trained):
    run_dir, _ = trained
    record = gankit.load(run_dir, generator=own_generator(), discriminator=own_discriminator(),
                         data=own_images(), progress=False).given_data
    saved = json.loads((run_dir / "given.json").read_text())["data"]
    assert saved == record
    assert saved["fields"] == {"x": ["float32", CHANNELS, SIDE, SIDE]}
    assert saved["examples"] == 64 and saved["n_classes"] == 0


def test_resumed_from_the_reloaded_run_it_continues_exactly(trained, tmp_path):
    run_dir, _ = trained
    straight = built(None)
    straight.fit(6)
    elsewhere = gankit.load(run_dir, out=tmp_path / "on", progress=False,
                            generator=own_generator(seed=5),
                            discriminator=own_discriminator(seed=6), data=own_images())
    elsewhere.fit(6)
    assert_identical(all_tensors(straight), all_tensors(elsewhere))
    assert (tmp_path / "on" / "given.json").is_file()
    assert loaded(tmp_path / "on").step == 6  # the continued run loads in turn


@pytest.mark.parametrize(("given", "words"), [
    ({"generator": own_generator(hidden=16)}, ["G.0.bias", "[32] in the checkpoint", "[16]"]),
    ({"discriminator": nn.Sequential(nn.Conv2d(CHANNELS, 4, 4, 2, 1), nn.Flatten(),
                                     nn.Linear(4 * 16, 1))},
     ["D.module.0.bias", "[8] in the checkpoint", "[4]"]),
    ({"data": own_images(channels=1)}, ["[N, 1, 8, 8]", "[N, 3, 8, 8]"]),
    ({"data": own_images(side=16)}, ["[N, 3, 16, 16]", "[N, 3, 8, 8]"]),
    ({"data": (own_images(), torch.arange(64) % 4)}, ["'label' int64 [N]", "without it"]),
])
def test_objects_that_do_not_fit_are_one_line_naming_both_shapes(trained, given, words):
    run_dir, _ = trained
    with pytest.raises(GankitError) as err:
        loaded(run_dir, **given)
    line = str(err.value)
    assert "\n" not in line and all(w in line for w in words), line


@pytest.mark.parametrize("left_out", ["generator", "discriminator", "data"])
def test_a_missing_object_is_one_line_naming_the_argument(trained, left_out):
    run_dir, _ = trained
    with pytest.raises(GankitError) as err:
        loaded(run_dir, **{left_out: None})
    line = str(err.value)
    assert "\n" not in line and f"(missing: {left_out}=)" in line, line
    assert "gankit.load(" in line and "generator=..., discriminator=..., data=..." in line


def test_an_object_the_run_does_not_take_is_one_line(tmp_path):
    run = gankit.build(config(2), generator=own_generator(), data=own_images(),
                       run_dir=tmp_path, progress=False, snapshots=False)
    run.fit()
    with pytest.raises(GankitError, match=r"builds its discriminator from model.discriminator "
                                          r"'mlp'.*leave out discriminator="):
        loaded(tmp_path)
    assert loaded(tmp_path, discriminator=None).step == 2


def test_other_images_of_the_same_shape_load_with_a_warning(trained):
    run_dir, samples = trained
    with pytest.warns(UserWarning, match=r"\(80 examples\) is not the data .* trained on \(64"):
        run = loaded(run_dir, data=own_images(80, seed=1))
    assert torch.equal(run.sample(16, seed=3), samples)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded(run_dir)  # the same images: quiet


@pytest.mark.parametrize("command", ["sample", "eval", "train --resume"])
def test_the_cli_says_how_to_load_such_a_run(trained, command, capsys, tmp_path):
    run_dir, _ = trained
    extra = ["--out", str(tmp_path / "x.npy")] if command == "sample" else []
    line = one_error_line(capsys, [*command.split(), str(run_dir), *extra])
    assert "built from Python objects" in line and "gankit.load(" in line
    assert "package.module:factory" in line


class Projection:
    """A feature space of one's own: a fixed random projection of the pixels to 6 features."""

    name = "projection"

    def __init__(self) -> None:
        self.weight = torch.randn(CHANNELS * SIDE * SIDE, 6,
                                  generator=torch.Generator().manual_seed(7))
        self.calls = 0

    def features(self, images: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return images.flatten(1).float().cpu() @ self.weight  # [N, 6]


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Heusel et al. 2017, eq. 6, with scipy's matrix square root."""
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_evaluate_measures_own_images_in_the_feature_space_given(trained):
    run_dir, _ = trained
    run = loaded(run_dir)
    space = Projection()
    metrics = run.evaluate(64, features=space)
    assert space.calls >= 2
    assert {"fid", "kid", "kid_std", "precision", "recall", "density", "coverage"} <= set(metrics)
    # FID is invariant to the order of the real images: all 64 of them against the samples
    fake = space.features(run.sample(64, seed=EVAL_SEED)).double().numpy()
    real = space.features(own_images().float() / 127.5 - 1).double().numpy()
    assert metrics["fid"] == pytest.approx(frechet(real, fake), rel=1e-4)
    record = run.eval_record(64, features=space)
    assert record["features"] == "projection" and record["fid"] == metrics["fid"]


def test_the_guide_runs_as_written(tmp_path, monkeypatch):
    """docs/own-modules.md: its Python blocks, in order, in one namespace."""
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "own-modules.md").read_text()
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", guide, flags=re.S):
        exec(compile(block, "own-modules.md", "exec"), namespace)  # noqa: S102
    assert namespace["again"].step == 50 and namespace["longer"].step == 100
    assert {"fid", "kid", "precision", "recall", "density", "coverage"} <= set(
        namespace["metrics"])
    assert (tmp_path / "runs" / "mine-longer" / "given.json").is_file()
