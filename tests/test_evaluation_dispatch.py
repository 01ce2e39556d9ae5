"""The evaluation dispatch (gankit.evaluation.plan_for): the data's kind picks what a run
measures and draws, a kind it does not know is one clear error, and a recipe without an
unconditional generator trains, measures nothing and refuses to be sampled."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import gankit
from gankit.commandline.cli import main
from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS, ImageDataset
from gankit.errors import GankitError
from gankit.evaluation import has_generator, plan_for
from gankit.losses.adversarial import LOSSES
from gankit.models import DISCRIMINATORS, build_part
from gankit.recipes import RECIPES
from gankit.recipes.base import OptimizerSpec, Phase, PhaseOutput, Recipe, StepContext


class CriticOnly(Recipe):
    """D alone learns to tell the data from uniform noise on [-2, 2]^d: a recipe with no
    generator, so it leaves latent() and decode() to the base class."""

    def __init__(self, config, spec):
        super().__init__()
        discriminator = build_part(DISCRIMINATORS, config.model, "discriminator", spec.shape)
        self.nets = nn.ModuleDict({"D": discriminator})
        self.loss, self.lr, self.shape = LOSSES["non-saturating"], config.train.lr_d, spec.shape

    def optimizers(self):
        return {"d": OptimizerSpec(("D",), self.lr)}

    def phases(self):
        return [Phase("d", "d")]

    def run_phase(self, phase: Phase, ctx: StepContext) -> PhaseOutput:
        real = ctx.real_batch()
        noise = ctx.draw(lambda n, g: torch.rand(n, *self.shape, generator=g,
                                                 device=ctx.device) * 4 - 2)
        d_real, d_fake = self.nets["D"](real).logits, self.nets["D"](noise).logits
        return PhaseOutput({"d_loss": self.loss.d_loss(d_real, d_fake)})


@pytest.fixture
def critic_only(monkeypatch):
    monkeypatch.setitem(RECIPES._entries, "critic-only", CriticOnly)
    return "critic-only"


def test_points_get_toy_metrics_and_the_samples_over_d(make_run):
    run = make_run()
    plan = run.plan
    assert (plan.kind, list(plan.pictures), plan.default_features) == ("points", ["samples"],
                                                                       None)
    assert {"modes", "high_quality", "reverse_kl", "w1"} <= run.evaluate(100).keys()
    with pytest.raises(GankitError, match="for image data"):
        plan.features("digits", None, "cpu")


def test_images_get_feature_metrics_a_grid_and_an_interpolation_strip(make_run):
    recipe = make_run().recipe  # the plan is made without running the networks
    digits = plan_for(recipe, DATASETS["digits8"](DataConfig(name="digits8")))
    assert digits.kind == "images"
    assert list(digits.pictures) == ["samples", "real-vs-generated", "interpolation"]
    assert digits.default_features == "digits"
    folder = ImageDataset("image-folder", torch.zeros(4, 3, 8, 8, dtype=torch.uint8))
    assert plan_for(recipe, folder).default_features is None  # no default feature space
    assert plan_for(recipe, folder).features(None, None, "cpu") is None


def test_a_data_source_of_an_unknown_kind_is_one_clear_error(make_run):
    recipe = make_run().recipe

    class Sounds:
        kind = "audio"

    with pytest.raises(GankitError, match="kind 'audio'; evaluation knows the kinds images, "
                                          "points"):
        plan_for(recipe, Sounds())
    with pytest.raises(GankitError, match="Tensor has kind None"):
        plan_for(recipe, torch.zeros(3, 2))



def test_a_registered_kind_gets_its_own_plan_and_translation_kinds_only_translators(
        make_run, monkeypatch):
    from gankit.evaluation.plan import PLANS, EvaluationPlan

    recipe = make_run().recipe

    class Sounds:
        kind = "audio"

    PLANS.names()  # discovered first, so that the entry added here is the last word
    plan = EvaluationPlan("audio", None)
    monkeypatch.setitem(PLANS._entries, "audio", lambda recipe, data, latents: plan)
    monkeypatch.setitem(PLANS._facts, "audio", {})
    assert plan_for(recipe, Sounds()) is plan
    monkeypatch.setitem(PLANS._facts, "audio", {"translates": True})
    with pytest.raises(GankitError, match="evaluation knows the kinds images, points"):
        plan_for(recipe, Sounds())

def test_a_recipe_without_a_generator_trains_and_has_nothing_to_sample(
        critic_only, tiny, tmp_path, capsys):
    run = gankit.build(tiny(recipe=critic_only, train={"steps": 4, "plot_every": 2}),
                       run_dir=tmp_path / "run", progress=False)
    assert not has_generator(run.recipe) and has_generator(gankit.build(tiny()).recipe)
    before = [p.detach().clone() for p in run.recipe.nets["D"].parameters()]
    run.fit()
    assert any(not torch.equal(a, b) for a, b in
               zip(before, run.recipe.nets["D"].parameters(), strict=True))
    assert (tmp_path / "run" / "training.png").is_file()  # its curves are still drawn
    assert not (tmp_path / "run" / "samples").exists()
    assert run.plan.measure is None and run.evaluate() == {}
    with pytest.raises(GankitError, match="recipe CriticOnly has no unconditional generator"):
        run.sample(4)
    capsys.readouterr()
    assert main(["sample", str(tmp_path / "run"), "--out", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gankit: error: recipe CriticOnly has no unconditional generator to sample "
                   "from (it defines no latent())"]
