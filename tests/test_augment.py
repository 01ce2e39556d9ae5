"""DiffAugment (Zhao et al. 2020) and ADA's adaptive p (Karras et al. 2020), issue 28 item 5:
each transformation against a hand computation, gradients through it, the same policy on real
and generated images, p's control, resume, refusals, and one step of every image recipe."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import gankit
from conftest import all_tensors, assert_identical, one_error_line, tiny_dict
from gankit.augment import AUGMENTATIONS, AugmentPipe
from gankit.configuration.schema import AugmentConfig
from gankit.errors import ConfigError
from gankit.recipes.base import StepContext

TINY_IMAGES = {"name": "dcgan", "latent_dim": 4, "g_hidden": 4, "d_hidden": 4,
               "g_batchnorm": True, "d_norm": "batch"}
DIGITS = {"name": "digits8", "batch_size": 16, "n_eval": 50}
ALL = "color,translation,cutout"
TRANSLATION = ["data.image_size=12", "data.batch_size=4", "data.n_eval=16", "model.g_hidden=4",
               "model.d_hidden=4", "model.d_depth=1", "train.precision=fp32",
               "train.plot_every=1000", "train.checkpoint_every=1000"]


def context(batch_size: int = 4, seed: int = 0) -> StepContext:
    return StepContext(data=None, batch_size=batch_size, device=torch.device("cpu"),
                       rng=torch.Generator().manual_seed(seed))


def digits_run(run_dir: Any = None, **sections: Any) -> gankit.Run:
    base = {"data": DIGITS, "model": TINY_IMAGES,
            "train": {"steps": 2, "log_every": 1, "precision": "fp32"}}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values} if isinstance(values, dict) else values
    return gankit.build(tiny_dict(**base), run_dir=run_dir, progress=False, snapshots=False)


# --- each transformation against a hand computation ----------------------------------------

def test_color_is_brightness_then_saturation_then_contrast():
    x = torch.tensor([[[[0.1, -0.2], [0.3, 0.4]], [[0.0, 0.5], [-0.5, 0.2]],
                       [[0.9, -0.9], [0.1, 0.0]]]])  # [1, 3, 2, 2]
    u = torch.tensor([[0.75, 0.25, 0.9]])  # brightness +0.25, saturation x0.5, contrast x1.4
    y = x.numpy()[0] + 0.25
    grey = y.mean(axis=0)
    y = (y - grey) * 0.5 + grey
    y = (y - y.mean()) * 1.4 + y.mean()
    out = AUGMENTATIONS["color"]().apply(x, u)
    np.testing.assert_allclose(out[0].numpy(), y, rtol=1e-6, atol=1e-6)


def test_color_leaves_a_grey_image_grey_and_shifts_by_brightness_alone():
    x = torch.linspace(-1, 1, 16).reshape(1, 1, 4, 4)
    out = AUGMENTATIONS["color"]().apply(x, torch.tensor([[0.9, 0.1, 0.5]]))  # contrast x1
    np.testing.assert_allclose(out.numpy(), x.numpy() + 0.4, atol=1e-6)


def test_translation_shifts_by_whole_pixels_with_zeros_shifted_in():
    x = torch.arange(1.0, 65.0).reshape(1, 1, 8, 8)  # side 8: shifts of at most round(8/8) = 1
    # dy from u 0.9: floor(0.9 * 3) - 1 = +1 (down); dx from u 0.1: floor(0.3) - 1 = -1 (left)
    out = AUGMENTATIONS["translation"]().apply(x, torch.tensor([[0.9, 0.1]]))
    expected = np.zeros((8, 8))
    expected[1:, :7] = x.numpy()[0, 0, :7, 1:]  # out[i, j] = x[i - 1, j + 1]
    np.testing.assert_array_equal(out[0, 0].numpy(), expected)


def test_translation_draws_every_shift_from_minus_s_to_s():
    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 8, 8] = 1.0  # side 16: s = 2
    shifts = set()
    for u in torch.linspace(0, 0.999, 50):
        out = AUGMENTATIONS["translation"]().apply(x, torch.tensor([[u, 0.5]]))
        shifts.add(int(out[0, 0].sum(dim=1).argmax()) - 8)
    assert shifts == {-2, -1, 0, 1, 2}


def test_cutout_zeroes_a_half_side_square_clipped_at_the_border():
    x = torch.ones(2, 3, 8, 8)
    # side 4; centre row floor(0.5 * 9) = 4 -> rows 2..5; centre column 0 -> columns -2..1
    out = AUGMENTATIONS["cutout"]().apply(x, torch.tensor([[0.5, 0.0], [0.999, 0.999]]))
    expected = np.ones((8, 8))
    expected[2:6, 0:2] = 0
    for channel in range(3):
        np.testing.assert_array_equal(out[0, channel].numpy(), expected)
    expected = np.ones((8, 8))
    expected[6:, 6:] = 0  # centre (8, 8): rows and columns 6..9, clipped to 6..7
    np.testing.assert_array_equal(out[1, 0].numpy(), expected)


@pytest.mark.parametrize("name", ["color", "translation", "cutout"])
def test_each_augmentation_is_differentiable_in_the_images(name):
    augmentation = AUGMENTATIONS[name]()
    u = torch.rand(2, augmentation.draws, generator=torch.Generator().manual_seed(1),
                   dtype=torch.float64)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda images: augmentation.apply(images, u), (x,))


# --- the pipe: p, draws, pairs ---------------------------------------------------------------

def test_p_zero_changes_nothing_and_p_one_changes_every_image():
    x = torch.randn(8, 1, 8, 8)
    same, = AugmentPipe(AugmentConfig(policy="cutout", p=0.0))(context(8), x)
    assert torch.equal(same, x)
    cut, = AugmentPipe(AugmentConfig(policy="cutout", p=1.0))(context(8), x)
    assert all((image == 0).sum() >= 4 for image in cut)


def test_the_draws_do_not_depend_on_p_and_come_from_the_runs_generator():
    x = torch.randn(4, 1, 8, 8)
    ctx_a, ctx_b = context(), context()
    AugmentPipe(AugmentConfig(policy=ALL, p=0.0))(ctx_a, x)
    AugmentPipe(AugmentConfig(policy=ALL, p=1.0))(ctx_b, x)
    assert torch.equal(ctx_a.rng.get_state(), ctx_b.rng.get_state())
    first, = AugmentPipe(AugmentConfig(policy=ALL))(context(seed=3), x)
    again, = AugmentPipe(AugmentConfig(policy=ALL))(context(seed=3), x)
    assert torch.equal(first, again)


def test_a_pair_gets_one_transformation():
    x = torch.randn(4, 1, 8, 8)
    a, b = AugmentPipe(AugmentConfig(policy="translation,cutout"))(context(), x, x.clone())
    assert torch.equal(a, b)


def test_bf16_images_get_the_float32_draws_and_keep_their_dtype():
    x = torch.randn(16, 3, 16, 16).bfloat16()
    pipe = AugmentPipe(AugmentConfig(policy=ALL))
    low, = pipe(context(16), x)
    full, = pipe(context(16), x.float())
    assert low.dtype == torch.bfloat16 and torch.equal(low, full.bfloat16())


def test_under_torchrun_each_process_keeps_its_shard_of_the_global_draw():
    x = torch.randn(4, 1, 8, 8)
    pipe = AugmentPipe(AugmentConfig(policy=ALL))
    whole, = pipe(context(4), x)
    halves = [pipe(StepContext(None, 4, torch.device("cpu"), torch.Generator().manual_seed(0),
                               rank=rank, world_size=2), x[2 * rank:2 * rank + 2])[0]
              for rank in (0, 1)]
    assert torch.equal(torch.cat(halves), whole)


def test_an_unknown_policy_name_is_one_line_listing_the_known_ones():
    with pytest.raises(ConfigError) as excinfo:
        digits_run(augment={"policy": "color,zoom"})
    message = str(excinfo.value)
    assert "\n" not in message and "'zoom'" in message and "translation" in message


# --- in the recipes: what D sees, gradients to G ---------------------------------------------

class SpyD(nn.Module):
    """D that records every batch it judges."""

    def __init__(self, D: nn.Module) -> None:
        super().__init__()
        self.D, self.seen = D, []

    def forward(self, x: torch.Tensor, *rest: Any) -> Any:
        self.seen.append(x.detach().clone())
        return self.D(x, *rest)


def test_d_sees_real_and_generated_images_through_the_same_policy():
    run = digits_run(augment={"policy": "cutout", "p": 1.0})
    recipe = run.recipe
    recipe.nets["D"] = spy = SpyD(recipe.nets["D"])
    ctx = StepContext(run.data, 16, torch.device("cpu"), torch.Generator().manual_seed(0))
    d_phase, g_phase = recipe.phases()
    recipe.run_phase(d_phase, ctx)
    recipe.run_phase(g_phase, ctx.next_step(0))
    assert len(spy.seen) == 3  # real, fake (D phase), fake (G phase)
    # every image of every batch holds the cutout's exact zeros: a 4x4 square on 8x8 digits,
    # at least its 2x2 quarter inside the image; no digit or G(z) (tanh) is exactly 0 there
    for batch in spy.seen:
        assert all((image == 0).sum() >= 4 for image in batch)
    plain = digits_run()
    plain.recipe.nets["D"] = plain_spy = SpyD(plain.recipe.nets["D"])
    plain.recipe.run_phase(d_phase, StepContext(plain.data, 16, torch.device("cpu"),
                                                torch.Generator().manual_seed(0)))
    assert all((image == 0).sum() < 4 for batch in plain_spy.seen for image in batch)


def test_gradients_reach_g_through_the_augmentation():
    run = digits_run(augment={"policy": ALL, "p": 1.0})
    recipe = run.recipe
    ctx = StepContext(run.data, 16, torch.device("cpu"), torch.Generator().manual_seed(0))
    out = recipe.run_phase(recipe.phases()[1], ctx)
    grads = torch.autograd.grad(out.terms["g_loss"], list(recipe.nets["G"].parameters()))
    assert all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


# --- ADA's control of p ----------------------------------------------------------------------

def ada_pipe(p: float = 0.5, interval: int = 2, speed: int = 80) -> AugmentPipe:
    return AugmentPipe(AugmentConfig(policy="translation", p=p, ada=True, ada_target=0.6,
                                     ada_interval=interval, ada_speed=speed))


@pytest.mark.parametrize(("verdict", "moved"), [(1.0, +0.2), (-1.0, -0.2)])
def test_p_moves_by_batch_times_interval_over_speed_toward_the_target(verdict, moved):
    pipe, ctx = ada_pipe(), context(batch_size=8)
    stats = pipe.observe(torch.full((8,), verdict), ctx)
    assert float(pipe.p) == 0.5  # not yet: every 2 D steps
    stats = pipe.observe(torch.full((8,), verdict), ctx)
    assert float(pipe.p) == pytest.approx(0.5 + moved)  # 8 images x 2 steps / 80 = 0.2
    assert float(stats["augment_p"]) == pytest.approx(0.5 + moved)
    assert float(stats["ada_r_t"]) == verdict


def test_r_t_is_the_mean_sign_and_p_stays_in_zero_one():
    pipe, ctx = ada_pipe(p=0.9, interval=1, speed=8), context(batch_size=8)
    # 7 of 8 positive: r_t = (7 - 1) / 8 = 0.75 > 0.6, p + 1 clamps at 1
    stats = pipe.observe(torch.tensor([3.0, 1, 2, 0.1, 5, 1, 1, -2]), ctx)
    assert float(stats["ada_r_t"]) == 0.75 and float(pipe.p) == 1.0
    stats = pipe.observe(torch.tensor([-3.0, 1, -2, 0.1, -5, 1, 1, -2]), ctx)  # r_t 0 < 0.6
    assert float(stats["ada_r_t"]) == 0.0 and float(pipe.p) == 0.0


def test_without_ada_p_stays_and_nothing_is_logged():
    pipe = AugmentPipe(AugmentConfig(policy=ALL, p=0.3))
    assert pipe.observe(torch.ones(8), context()) == {}
    assert float(pipe.p) == pytest.approx(0.3)


def few_digits(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    from gankit.configuration.schema import DataConfig
    from gankit.data.images import load_digits8

    data = load_digits8(DataConfig(name="digits8"))
    return data.images[:n], data.labels[:n]


def test_p_rises_when_a_strong_d_memorizes_a_handful_of_images():
    images, labels = few_digits(16)
    run = gankit.build(tiny_dict(
        data={"batch_size": 16, "n_eval": 16},
        model={"name": "dcgan", "latent_dim": 4, "g_hidden": 4, "d_hidden": 32},
        train={"steps": 40, "lr_d": 2e-3, "lr_g": 1e-4, "precision": "fp32", "log_every": 1},
        augment={"policy": "translation", "p": 0.0, "ada": True, "ada_interval": 1,
                 "ada_speed": 640}), data=(images, labels), progress=False, snapshots=False)
    history = run.fit(40)
    p = [float(row["augment_p"]) for row in history if "augment_p" in row]
    # 16 images x 1 step / 640 = 0.025 a step: up whenever r_t > 0.6, as D learns the 16
    assert p[-1] > 0.3 and float(run.recipe.nets["augment"].p) == pytest.approx(p[-1])


def test_p_falls_when_d_cannot_tell():
    # D's verdicts near 0 (a D that learns nothing: lr_d tiny, R1 strong): r_t < 0.6 drives p down
    pipe, ctx = ada_pipe(p=1.0, interval=1, speed=80), context(batch_size=8)
    for _ in range(5):
        pipe.observe(torch.tensor([1.0, -1, 1, -1, 1, -1, 1, -1]), ctx)  # r_t = 0
    assert float(pipe.p) == pytest.approx(0.5)


# --- resume, refusals, every image recipe ----------------------------------------------------

def test_resume_restores_p_and_stays_bit_exact(tmp_path):
    # p moves every 2 D steps; the resume at step 3 falls between two moves, so the count
    # since the last one must come back with p
    sections = {"augment": {"policy": ALL, "p": 0.2, "ada": True, "ada_interval": 2,
                            "ada_speed": 100},
                "train": {"steps": 5, "checkpoint_every": 3}}
    straight = digits_run(**sections)
    straight.fit(5)
    first = digits_run(run_dir=tmp_path, **sections)
    first.fit(3)
    p_saved = float(first.recipe.nets["augment"].p)
    resumed = gankit.load(tmp_path, progress=False)
    assert float(resumed.recipe.nets["augment"].p) == p_saved != 0.2
    resumed.trainer.hooks = []
    resumed.fit(5)
    assert_identical(all_tensors(straight), all_tensors(resumed))


@pytest.mark.parametrize("key", ["policy=color", "ada=true"])
def test_augment_on_points_is_refused_in_one_line(key):
    overrides = [f"augment.{key}"] + (["augment.policy=color"] if key == "ada=true" else [])
    with pytest.raises(ConfigError) as excinfo:
        gankit.build(tiny_dict(), overrides, progress=False)
    message = str(excinfo.value)
    assert "\n" not in message and "ring8" in message and "augment." in message


def test_ada_where_d_has_no_sign_for_r_t_is_refused_in_one_line():
    with pytest.raises(ConfigError) as excinfo:
        digits_run(recipe="began", model={"d_norm": "none"}, augment={"policy": ALL, "ada": True})
    message = str(excinfo.value)
    assert "\n" not in message and "recipe began does not use augment.ada=True" in message


def test_ada_on_a_loss_without_a_sign_for_r_t_is_refused_in_one_line():
    with pytest.raises(ConfigError) as excinfo:
        digits_run(loss={"name": "lsgan"}, augment={"policy": ALL, "ada": True})
    message = str(excinfo.value)
    assert "\n" not in message and "'lsgan'" in message and "augment.ada" in message


def test_ada_without_a_policy_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="augment.policy is empty"):
        digits_run(augment={"ada": True})


IMAGE_RECIPES: dict[str, Any] = {
    "gan-r1-fm": {"loss": {"r1_weight": 1.0, "feature_matching": 0.5},
                  "train": {"reuse_fake": True}},
    "gan-wgan-gp-pack": {"loss": {"name": "wgan-gp"}, "model": {"pack": 2, "d_norm": "layer"}},
    "cgan": {"recipe": "cgan"},
    "projection": {"recipe": "projection"},
    "acgan": {"recipe": "acgan"},
    "infogan": {"recipe": "infogan", "infogan": {"invariance_weight": 0.5}},
    "relativistic": {"recipe": "relativistic"},
    "began": {"recipe": "began", "model": {"d_norm": "none"}},
    "meg": {"recipe": "meg", "model": {"d_norm": "none"}},
    "caae": {"recipe": "caae", "caae": {"recondition_weight": 0.5}},
    "pix2pix": ("edges2digits", []),
    "cyclegan": ("thin2thick", ["model.g_depth=1", "cyclegan.pool_size=3", "loss.name=hinge"]),
}
ADAPTS = {"gan-r1-fm", "cgan", "projection", "acgan", "infogan", "caae",
          "pix2pix", "cyclegan"}


@pytest.mark.parametrize("name", IMAGE_RECIPES)
def test_one_training_step_of_every_image_recipe_with_augment_on(name):
    case = IMAGE_RECIPES[name]
    ada = name in ADAPTS
    augment = {"policy": ALL, "p": 0.5, "ada": ada, "ada_interval": 1}
    if isinstance(case, tuple):
        data, overrides = case
        overrides = TRANSLATION + overrides + [f"augment.{k}={str(v).lower()}"
                                               for k, v in augment.items()]
        run = gankit.build(data, overrides=overrides, progress=False, snapshots=False)
    else:
        run = digits_run(**{**case, "augment": augment})
    before = {k: v.clone() for k, v in run.recipe.nets.state_dict().items()}
    history = run.fit(1)
    assert "augment" in run.recipe.nets
    assert all(np.isfinite(float(v)) for row in history for k, v in row.items()
               if k != "step" and isinstance(v, (int, float, torch.Tensor)))
    changed = [k for k, v in run.recipe.nets.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith(("G.", "F.")) for k in changed)
    assert ("augment_p" in history[-1]) == ada


def test_the_command_line_refuses_augment_on_points_in_one_line(capsys):
    line = one_error_line(capsys, ["train", "ring8", "--set", "augment.policy=color"])
    assert "data set ring8 does not use augment.policy='color'" in line


def test_augment_on_given_points_is_refused_in_one_line_when_the_run_is_built():
    points = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ConfigError) as excinfo:
        gankit.build(tiny_dict(), ["augment.policy=color"], data=points, progress=False)
    message = str(excinfo.value)
    assert "\n" not in message and "shape [2]" in message and "augment.policy: ''" in message


def test_a_recipe_that_does_not_declare_augments_is_refused_the_section(monkeypatch):
    from gankit.recipes import RECIPES

    monkeypatch.setattr(RECIPES["relativistic"], "augments", False)
    with pytest.raises(ConfigError) as excinfo:
        digits_run(recipe="relativistic", augment={"policy": ALL})
    message = str(excinfo.value)
    assert "\n" not in message and "recipe relativistic does not use augment.policy" in message


def test_the_guide_documents_every_key_and_its_default():
    import dataclasses
    from pathlib import Path

    guide = (Path(__file__).parents[1] / "docs" / "augmentation.md").read_text()
    for key in dataclasses.fields(AugmentConfig):
        default = getattr(AugmentConfig(), key.name)
        shown = {"": '`""` (off)', False: "`false`", None: "`null`"}.get(default, f"`{default}`")
        assert f"| `augment.{key.name}` | {shown} |" in guide, key.name


def test_p_starts_where_each_method_starts_unless_set():
    """DiffAugment augments every image (p = 1); ADA starts unaugmented (p = 0) and raises p
    only when D overfits; a p that is set wins either way."""
    assert float(AugmentPipe(AugmentConfig(policy=ALL)).p) == 1.0
    assert float(AugmentPipe(AugmentConfig(policy=ALL, ada=True)).p) == 0.0
    assert float(AugmentPipe(AugmentConfig(policy=ALL, ada=True, p=0.3)).p) == 0.3
