"""What conditional runs measure and draw: class accuracy and intra-FID, InfoGAN's matched
accuracy, CAAE's re-conditioning metrics, against generators whose answers are known; the
pictures of a snapshot; ``gankit sample --class / --code`` from the shell."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

import gankit
from gankit.commandline.cli import main
from gankit.metrics.classifier import matched_accuracy
from gankit.models.latent_layout import CLASS
from gankit.sampling.settings import SamplerSettings
from test_conditional import tiny_config


class ModeOfCode(nn.Module):
    """A perfect conditional G for a mixture: the centre of the mode its categorical code
    names (through ``order``), plus a small offset from the noise."""

    def __init__(self, centers: torch.Tensor, part: slice, order: list[int]) -> None:
        super().__init__()
        self.centers, self.part, self.order = centers, part, torch.tensor(order)
        self.scale = nn.Parameter(torch.tensor(0.001))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        k = self.order[z[:, self.part].argmax(1)]
        return self.centers[k] + self.scale * z[:, :2]


def run_with_g(recipe: str, order: list[int], **sections) -> gankit.Run:
    run = gankit.build(tiny_config(recipe, **sections), progress=False, snapshots=False)
    layout = run.recipe.layout
    code = CLASS if recipe != "infogan" else "cat0"
    run.recipe.nets["G"] = ModeOfCode(run.data.modes, layout.slices()[code], order)
    return run


def test_matched_accuracy_is_the_best_permutation():
    rng = np.random.default_rng(0)
    codes, labels = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    labels[:150] = (codes[:150] + 1) % 4  # half of them follow a shifted map
    best = max(np.mean(np.array(p)[codes] == labels) for p in itertools.permutations(range(4)))
    assert matched_accuracy(codes, labels, 4, 4) == pytest.approx(best)
    assert matched_accuracy(codes, (codes + 3) % 4, 4, 4) == 1.0
    # more code values than labels: the extra values are errors
    assert matched_accuracy(np.array([0, 1, 2]), np.array([0, 1, 1]), 3, 2) == pytest.approx(2 / 3)


def test_class_accuracy_of_a_perfect_and_a_class_blind_generator():
    perfect = run_with_g("cgan", list(range(8)))
    assert perfect.evaluate(400)["class_accuracy"] == 1.0
    blind = run_with_g("cgan", [3] * 8)
    assert blind.evaluate(400)["class_accuracy"] == pytest.approx(1 / 8)  # classes balanced


def test_infogan_accuracy_matches_codes_to_modes_whatever_their_order():
    order = [5, 2, 7, 0, 1, 6, 3, 4]
    run = run_with_g("infogan", order)
    centers = run.data.modes

    def q_reads(x, discriminator=None):  # a Q that knows which code made each mode
        nearest = torch.cdist(x, centers).argmin(1)
        return {"cat0": torch.argsort(torch.tensor(order))[nearest]}

    run.recipe.infer_codes = q_reads
    metrics = run.evaluate(400)
    assert metrics["cat0_accuracy"] == 1.0 and metrics["unsupervised_accuracy"] == 1.0
    run.recipe.infer_codes = lambda x, discriminator=None: {
        "cat0": torch.zeros(len(x), dtype=torch.long)}
    assert run.evaluate(400)["unsupervised_accuracy"] == pytest.approx(1 / 8, abs=0.05)


def test_q_reads_real_examples_under_real_batch_statistics_not_ds_running_averages():
    config = tiny_config("infogan", "digits8")
    config["model"]["name"] = "dcgan-fc"  # batch norm in D's fully connected layer
    run = gankit.build(config, progress=False, snapshots=False)
    run.fit(3)
    recipe, read_with = run.recipe, []
    infer = recipe.infer_codes

    def spy(x, discriminator=None):
        read_with.append(discriminator)
        return infer(x, discriminator)

    recipe.infer_codes = spy
    norms = [m for m in recipe.nets["D"].modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert norms

    def statistics(net):
        return torch.cat([m.running_mean for m in net.modules()
                          if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)])

    run.evaluate(200)
    for norm in norms:  # running averages of some other data
        norm.running_mean.add_(5.0)
        norm.running_var.mul_(9.0)
    kept = statistics(recipe.nets["D"]).clone()
    run.evaluate(200)
    first, second = (statistics(reader) for reader in read_with)
    assert torch.allclose(first, second)  # real training batches' statistics both times
    assert not torch.allclose(second, kept)
    assert torch.equal(statistics(recipe.nets["D"]), kept)  # D itself untouched


def test_caae_metrics_of_a_perfect_reconditioner():
    run = gankit.build(tiny_config("caae", train={"reuse_fake": False}), progress=False,
                       snapshots=False)
    centers = run.data.modes

    def recondition(x, y):  # keeps each point's offset from its mode, moves it to mode y
        return x - centers[torch.cdist(x, centers).argmin(1)] + centers[y]

    run.recipe.recondition = recondition
    metrics = run.evaluate(300)
    assert metrics["recondition_accuracy"] == 1.0
    assert metrics["reconstruction_l1"] == pytest.approx(0, abs=1e-6)


def test_style_ratio_is_zero_for_the_source_and_near_one_for_a_stranger():
    run = gankit.build(tiny_config("caae", "digits8", train={"reuse_fake": False}),
                       progress=False, snapshots=False)
    run.recipe.recondition = lambda x, y: x
    kept = run.evaluate(50)
    assert kept["style_ratio"] == pytest.approx(0, abs=1e-6)
    assert kept["reconstruction_l1"] == pytest.approx(0, abs=1e-6)
    assert kept["recondition_accuracy"] < 0.3  # the source keeps its own class
    pool, labels = run.data.reference(2000, torch.Generator().manual_seed(1))

    def stranger(x, y):  # a random training digit of the asked class
        picks = [pool[labels == k][int(i) % int((labels == k).sum())]
                 for i, k in zip(torch.randint(10**6, (len(y),)), y.tolist(), strict=True)]
        return torch.stack(picks)

    run.recipe.recondition = stranger
    strange = run.evaluate(50)
    assert 0.8 < strange["style_ratio"] < 1.2
    assert strange["recondition_accuracy"] > 0.9


def test_image_class_metrics_sit_next_to_the_unconditional_ones():
    run = gankit.build(tiny_config("acgan", "digits8"), progress=False, snapshots=False)
    metrics = run.evaluate(60)
    assert {"fid", "intra_fid", "class_accuracy", "label_kl", "recall"} <= metrics.keys()
    assert metrics["intra_fid"] > 0 and 0 <= metrics["class_accuracy"] <= 1


def test_truncation_truncates_the_noise_and_keeps_the_class_one_hot():
    run = gankit.build(tiny_config("cgan"), progress=False, snapshots=False)
    source = run.sampler(SamplerSettings("truncation", threshold=0.1))
    z = source.draw(200, torch.Generator().manual_seed(0))
    parts = run.recipe.layout.slices()
    assert z[:, parts["noise"]].abs().max() <= 0.1
    assert torch.equal(z[:, parts[CLASS]].sum(1), torch.ones(200))
    assert len(run.recipe.layout.values(z)[CLASS].unique()) == 8


def test_snapshot_pictures_of_each_recipe(tmp_path, monkeypatch):
    from gankit.evaluation import plots

    grids = {}  # file name -> its grids, as the snapshot lays them out
    save_grids = plots.save_grids
    monkeypatch.setattr(plots, "save_grids", lambda g, path: grids.update({path.name: g})
                        or save_grids(g, path))

    def snapshot(recipe: str, data: str, **sections) -> gankit.Run:
        grids.clear()
        config = tiny_config(recipe, data, **sections)
        run = gankit.build(config, run_dir=tmp_path / f"{recipe}-{data}", progress=False)
        run.fit(1)
        return run

    def shape(name: str) -> tuple[int, int]:
        """(rows, columns) of the one grid of a picture, checked against its row names."""
        (grid,) = grids[name]
        rows = -(-len(grid.images) // grid.ncol)
        assert len(grid.rows) == rows, name
        return rows, grid.ncol

    run = snapshot("cgan", "digits8")
    assert shape("step-0000001.png") == (10, 8)  # one row per class, 8 noise draws
    assert (run.run_dir / "samples" / "step-0000001.png").is_file()
    run = snapshot("infogan", "digits8")
    for name, rows, columns in (("cat0", 10, 8), ("cont0", 10, 9), ("cont1", 10, 9)):
        assert shape(f"codes-{name}.png") == (rows, columns), name
        assert (run.run_dir / f"codes-{name}.png").is_file()
    run = snapshot("caae", "digits8", train={"reuse_fake": False})
    assert shape("recondition.png") == (10, 11)  # input, then every class
    assert grids["recondition.png"][0].columns[:2] == ["input", "class 0"]
    run = snapshot("cgan", "ring8")
    assert (run.run_dir / "samples" / "step-0000001.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("conditional")
    runs = {}
    for recipe in ("cgan", "infogan", "gan"):
        config = tiny_config(recipe, "digits8")
        run = gankit.build(config, run_dir=root / recipe, progress=False, snapshots=False)
        run.fit(2)
        runs[recipe] = run
    return runs


def test_sample_class_from_the_shell(trained, tmp_path, capsys):
    run = trained["cgan"]
    assert main(["sample", str(run.run_dir), "--n", "6", "--class", "4", "--seed", "2",
                 "--out", str(tmp_path / "four.npy")]) == 0
    drawn = np.load(tmp_path / "four.npy")
    again = gankit.load(run.run_dir, progress=False).sample(6, seed=2, labels=4)
    assert np.allclose(drawn, again.numpy())


def test_sample_codes_from_the_shell(trained, tmp_path):
    run = trained["infogan"]
    assert main(["sample", str(run.run_dir), "--n", "3", "--code", "cat0=7", "--code",
                 "cont1=-2", "--out", str(tmp_path / "c.npy")]) == 0
    again = gankit.load(run.run_dir, progress=False).sample(3, codes={"cat0": 7, "cont1": -2.0})
    assert np.allclose(np.load(tmp_path / "c.npy"), again.numpy())


@pytest.mark.parametrize(("recipe", "flags", "words"), [
    ("cgan", ["--class", "10"], "gankit: error: class 10 does not fit this run's latent: "
                                "class takes 0..9"),
    ("gan", ["--class", "1"], "gankit: error: labels (--class) need a class-conditional run"),
    ("infogan", ["--code", "cat0=12"], "gankit: error: cat0 12 does not fit this run's latent"),
    ("infogan", ["--code", "cat0"], "gankit: error: --code takes NAME=NUMBER"),
    ("cgan", ["--sampler", "mala"], "gankit: error: recipe CGAN has no latent energy"),
])
def test_bad_conditional_flags_are_one_line(trained, tmp_path, capsys, recipe, flags, words):
    code = main(["sample", str(trained[recipe].run_dir), "--n", "2", *flags,
                 "--out", str(tmp_path / "x.npy")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and err[-1].startswith(words), err
    assert not (tmp_path / "x.npy").exists()


def test_intra_fid_against_its_yardstick_tells_a_class_blind_generator():
    """A 'generator' that returns training digits of the asked class scores intra-FID near
    the unconditional FID at the same sample sizes; one that ignores the class scores far
    above it, while its unconditional FID stays as good."""
    run = gankit.build(tiny_config("cgan", "digits8"), progress=False, snapshots=False)
    pool, labels = run.data.reference(len(run.data), torch.Generator().manual_seed(5))
    slices = run.recipe.layout.slices()

    def digits_of(classes: torch.Tensor) -> torch.Tensor:
        picks = torch.randint(10**6, (len(classes),), generator=torch.Generator().manual_seed(6))
        return torch.stack([pool[labels == k][int(i) % int((labels == k).sum())]
                            for i, k in zip(picks, classes.tolist(), strict=True)])

    run.recipe.decode = lambda z: digits_of(z[:, slices[CLASS]].argmax(1))
    right = run.evaluate(600)
    any_class = torch.Generator().manual_seed(7)
    run.recipe.decode = lambda z: digits_of(torch.randint(10, (len(z),), generator=any_class))
    blind = run.evaluate(600)
    assert right["class_accuracy"] > 0.9 and blind["class_accuracy"] < 0.2
    assert right["intra_fid"] < 1.5 * right["fid_class_size"]
    assert blind["intra_fid"] > 3 * blind["fid_class_size"]
    # the unconditional FID barely sees the difference: a few units where intra-FID moves ~250
    assert blind["fid"] < right["fid"] + 5 and blind["intra_fid"] > right["intra_fid"] + 100
