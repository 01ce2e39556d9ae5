"""Latent sources (gankit.evaluation.latents): the prior is the default of ``Run.sample``,
evaluation and ``gankit sample``, and a source of one's own replaces it everywhere; slerp."""

from __future__ import annotations

import numpy as np
import torch

from gankit.commandline.cli import main
from gankit.evaluation import EVAL_SEED, PriorLatents, generate, plan_for
from gankit.evaluation.latents import interpolation_path, slerp


class Shifted:
    """The prior moved by ``shift``: a latent source of one's own."""

    def __init__(self, recipe, shift: float) -> None:
        self.prior, self.shift = PriorLatents(recipe), shift

    def draw(self, n, generator):
        return self.prior.draw(n, generator) + self.shift


class Recording(PriorLatents):
    """The prior, noting the size of each draw."""

    def __init__(self, recipe) -> None:
        super().__init__(recipe)
        self.draws: list[int] = []

    def draw(self, n, generator):
        self.draws.append(n)
        return super().draw(n, generator)


def test_the_default_source_is_the_prior_draw_bit_for_bit(make_run):
    run = make_run()
    run.fit(2)
    expected_z = run.recipe.latent(300, torch.Generator().manual_seed(5))
    run.recipe.eval()
    with torch.no_grad():
        expected = run.recipe.decode(expected_z)
    run.recipe.train()
    assert torch.equal(run.sample(300, seed=5), expected)
    assert torch.equal(run.plan.latents.draw(300, torch.Generator().manual_seed(5)), expected_z)


def test_a_latent_source_of_ones_own_changes_the_samples(make_run):
    run = make_run()
    shifted = Shifted(run.recipe, 3.0)
    moved = run.sample(64, seed=1, latents=shifted)
    assert not torch.equal(moved, run.sample(64, seed=1))
    z = shifted.draw(64, torch.Generator().manual_seed(1))
    assert torch.equal(moved, generate(run.recipe, z))


def test_sampling_and_evaluation_draw_from_the_plans_source(make_run):
    run = make_run()
    default = run.evaluate(100)
    recording = Recording(run.recipe)
    run.plan = plan_for(run.recipe, run.data, latents=recording)
    assert run.evaluate(100) == default  # the same prior draws, through the source
    run.sample(7)
    assert recording.draws == [100, 7]
    run.plan = plan_for(run.recipe, run.data, latents=Shifted(run.recipe, 3.0))
    assert run.evaluate(100) != default
    measured = run.plan.measure(100, EVAL_SEED, None, run.trainer.device, True)
    assert torch.equal(measured.fake, generate(run.recipe, Shifted(run.recipe, 3.0).draw(
        100, torch.Generator().manual_seed(EVAL_SEED))))


def test_gankit_sample_draws_from_the_latent_source(make_run, tmp_path, monkeypatch):
    run = make_run(run_dir=tmp_path / "run")
    run.fit()
    sizes = []
    prior_draw = PriorLatents.draw

    def recorded(self, n, generator):
        sizes.append(n)
        return prior_draw(self, n, generator)

    monkeypatch.setattr(PriorLatents, "draw", recorded)
    out = tmp_path / "x.npy"
    assert main(["sample", str(tmp_path / "run"), "--n", "9", "--seed", "2", "--out",
                 str(out)]) == 0
    assert sizes == [9]
    np.testing.assert_array_equal(np.load(out), run.sample(9, seed=2).numpy())


def test_decoding_in_chunks_gives_the_same_samples(make_run):
    run = make_run()
    z = run.plan.latents.draw(50, torch.Generator().manual_seed(0))
    torch.testing.assert_close(generate(run.recipe, z, chunk=7), generate(run.recipe, z),
                               rtol=1e-6, atol=1e-6)


def test_slerp_keeps_norms_between_equal_length_ends_and_hits_the_ends():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 64, generator=gen, dtype=torch.float64), None
    b = torch.randn(5, 64, generator=gen, dtype=torch.float64)
    b = b / b.norm(dim=1, keepdim=True) * a.norm(dim=1, keepdim=True)
    path = interpolation_path(a, b, 7)
    assert path.shape == (5, 7, 64)
    torch.testing.assert_close(path[:, 0], a)
    torch.testing.assert_close(path[:, -1], b)
    torch.testing.assert_close(path.norm(dim=2), a.norm(dim=1, keepdim=True).expand(5, 7))
    # a straight line dips inside the sphere; the great circle's angle grows uniformly in t
    line = interpolation_path(a, b, 7, spherical=False)
    assert (line[:, 3].norm(dim=1) < a.norm(dim=1) * 0.9).all()
    cos = torch.nn.functional.cosine_similarity(path[:, 1:], path[:, :-1], dim=2)
    torch.testing.assert_close(cos, cos[:, :1].expand_as(cos))


def test_slerp_between_parallel_latents_is_the_straight_line():
    a = torch.ones(1, 4)
    torch.testing.assert_close(slerp(a, 2 * a, torch.tensor([0.5]))[:, 0], 1.5 * a)


