"""Image-to-image translation: U-Net, ResNet and PatchGAN networks, the history pool, the
pix2pix and cyclegan recipes, their held-out metrics, ``run.translate`` and ``gankit
translate``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils._python_dispatch import TorchDispatchMode

import gankit
from conftest import all_tensors, assert_identical
from gankit.commandline.cli import main
from gankit.configuration.resolve import load_config
from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError, GankitError
from gankit.evaluation.image_to_image import direction_metrics, translate_images
from gankit.losses.adversarial import LOSSES
from gankit.models.patchgan import PatchDiscriminator, build_patchgan, receptive_field
from gankit.models.resnet import build_resnet
from gankit.models.unet import UNetGenerator, build_unet, unet_depth
from gankit.recipes.base import StepContext
from gankit.recipes.history_pool import HistoryPool

# Tiny networks on 8 px images: a step takes milliseconds.
TINY_MODEL = {"g_hidden": 4, "d_hidden": 4, "d_depth": 1}  # and one residual block (resnet)
TINY_TRAIN = {"steps": 2, "precision": "fp32", "log_every": 1000, "plot_every": 1000,
              "checkpoint_every": 1000, "seed": 0}


def tiny_run(config: str = "edges2digits", run_dir=None, snapshots: bool = False,
             recipe: str | None = None, size: int = 12, **sections: dict) -> gankit.Run:
    overrides = [f"data.image_size={size}", "data.batch_size=4", "data.n_eval=16"]
    overrides += [f"recipe={recipe}"] if recipe else []
    resnet = {"g_depth": 1} if (recipe or load_config(config).recipe) == "cyclegan" else {}
    sections = {"model": {**TINY_MODEL, **resnet}, "train": TINY_TRAIN, **sections}
    for section, values in sections.items():
        overrides += [f"{section}.{key}={value}" for key, value in values.items()]
    return gankit.build(config, overrides=overrides, run_dir=run_dir, progress=False,
                        snapshots=snapshots)


def one_line(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------------- networks

@pytest.mark.parametrize(("side", "depth"), [(8, 3), (28, 2), (32, 5), (256, 8), (512, 8)])
def test_unet_depth_follows_the_image_side(side, depth):
    assert unet_depth(side) == depth


def test_unet_maps_images_to_images_of_other_channels():
    G = UNetGenerator(1, 3, 32, 4)
    out = G(torch.randn(2, 1, 32, 32))
    assert out.shape == (2, 3, 32, 32) and out.abs().max() <= 1
    assert len(G.downs) == 5 and G.downs[-1](torch.randn(1, 32, 2, 2)).shape[-1] == 1


def test_unet_at_256_px_is_the_papers_encoder_and_decoder():
    """C64-C128-C256-C512-C512-C512-C512-C512 down (no norm on the first and innermost), the
    decoder mirrored with the skips doubling its inputs (Isola et al. 2017, Appendix 6.1.1)."""
    G = UNetGenerator(3, 3, 256, 64, dropout=0.5)
    downs = [next(m for m in level if isinstance(m, torch.nn.Conv2d)) for level in G.downs]
    assert [c.out_channels for c in downs] == [64, 128, 256, 512, 512, 512, 512, 512]
    normed = [any(isinstance(m, torch.nn.BatchNorm2d) for m in level) for level in G.downs]
    assert normed == [False] + [True] * 6 + [False]
    ups = [next(m for m in level if isinstance(m, torch.nn.ConvTranspose2d)) for level in G.ups]
    assert [u.in_channels for u in ups] == [512, 1024, 1024, 1024, 1024, 512, 256, 128]
    assert [u.out_channels for u in ups] == [512, 512, 512, 512, 256, 128, 64, 3]
    drops = [any(isinstance(m, torch.nn.Dropout) for m in level) for level in G.ups]
    assert drops == [False, True, True, True, False, False, False, False]  # as the reference


def test_unet_refuses_a_side_that_does_not_halve_twice():
    with pytest.raises(ConfigError) as excinfo:
        build_unet(ModelConfig(g_hidden=4), (1, 14, 14), (1, 14, 14))
    assert "14" in one_line(excinfo)


def test_unet_skips_carry_fine_detail_past_the_bottleneck():
    """One input pixel changes the output near that pixel at full resolution: through the
    outermost skip, which a plain encoder-decoder would not have."""
    torch.manual_seed(0)
    G = UNetGenerator(1, 1, 16, 4, norm="none").eval()
    x = torch.zeros(1, 1, 16, 16, requires_grad=True)
    G(x)[0, 0, 3, 3].backward()
    assert x.grad[0, 0, 2:5, 2:5].abs().sum() > 0


def test_unet_dropout_sits_next_to_the_bottleneck_only():
    G = UNetGenerator(1, 1, 32, 4, dropout=0.5)  # 5 levels: 3 inner decoder levels drop out
    drops = [any(isinstance(m, torch.nn.Dropout) for m in up) for up in G.ups]
    assert drops == [False, True, True, True, False]  # innermost first
    assert not any(isinstance(m, torch.nn.Dropout) for m in UNetGenerator(1, 1, 32, 4).modules())


def test_resnet_generator_has_g_depth_residual_blocks():
    G = build_resnet(ModelConfig(g_hidden=4, g_depth=3, g_norm="instance"), (1, 8, 8),
                     (3, 8, 8))
    assert G(torch.randn(2, 1, 8, 8)).shape == (2, 3, 8, 8)
    blocks = [m for m in G.modules() if type(m).__name__ == "ResidualBlock"]
    norms = [m for m in G.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(blocks) == 3 and norms and not any(n.track_running_stats for n in norms)
    with pytest.raises(ConfigError):
        build_resnet(ModelConfig(), (1, 10, 10), (1, 10, 10))


def test_receptive_field_formula_gives_the_papers_70_and_16():
    assert receptive_field([(4, 2)] * 3 + [(4, 1)] * 2) == 70  # Isola et al., Appendix 6.1.2
    assert receptive_field([(4, 2), (4, 1), (4, 1)]) == 16
    assert PatchDiscriminator(3, 4, 3).receptive_field == 70
    assert PatchDiscriminator(3, 4, 0).receptive_field == 1


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_patchgan_receptive_field_is_what_one_verdict_sees(depth):
    """An independent measure: the input pixels that one central verdict's gradient reaches."""
    torch.manual_seed(0)
    D = PatchDiscriminator(1, 4, depth, norm="none")
    side = 64
    x = torch.randn(1, 1, side, side, requires_grad=True)
    verdicts = D(x).logits.reshape(-1)
    grid = math.isqrt(len(verdicts))
    verdicts.reshape(grid, grid)[grid // 2, grid // 2].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1))
    assert int(rows.max() - rows.min()) + 1 == D.receptive_field


def test_patchgan_returns_one_verdict_per_patch_and_refuses_too_deep():
    D = build_patchgan(ModelConfig(d_hidden=4, d_depth=1), (2, 32, 32))
    out = D(torch.randn(3, 2, 32, 32))
    assert out.logits.shape == (3, 14 * 14) and out.features.shape[0] == 3
    assert "16x16" in D.describe(32) and "14x14 verdicts" in D.describe(32)
    with pytest.raises(ConfigError) as excinfo:
        build_patchgan(ModelConfig(d_hidden=4, d_depth=4), (2, 32, 32))
    assert "at most 3" in one_line(excinfo)


def test_other_families_refuse_a_depth_or_norm_they_cannot_build():
    from gankit.models.mlp import build_mlp_discriminator

    with pytest.raises(ConfigError):
        build_mlp_discriminator(ModelConfig(d_depth=0), (2,))
    with pytest.raises(ConfigError) as excinfo:
        gankit.build("mnist5k", ["model.name=dcgan-fc", "model.d_norm=instance"],
                     progress=False, snapshots=False)
    assert "instance" in one_line(excinfo)


# ---------------------------------------------------------------------------- history pool

def context(batch_size: int, seed: int = 0) -> StepContext:
    return StepContext(None, batch_size, torch.device("cpu"),
                       torch.Generator().manual_seed(seed))


def test_pool_fills_then_shows_old_images_about_half_the_time():
    pool, ctx = HistoryPool(4, (1, 2, 2)), context(2)
    first = torch.arange(8.0).reshape(2, 1, 2, 2)
    assert torch.equal(pool.query(first, ctx), first)  # filling: shown as they are
    pool.query(first + 100, ctx)
    assert int(pool.count) == 4
    old = 0
    for step in range(200):
        new = torch.full((2, 1, 2, 2), 1000.0 + step)
        stored = set(pool.images[:, 0, 0, 0].tolist())  # before: what it may show
        shown = pool.query(new, ctx)
        old += int((shown[:, 0, 0, 0] < 1000 + step).sum())
        assert all(v in stored or v == 1000 + step for v in shown[:, 0, 0, 0].tolist())
        assert 1000 + step in pool.images[:, 0, 0, 0] or (shown == new).all()
    assert 150 < old < 250  # of 400 images, ~200 from the history


def reference_pool(size, batches, coins, slots):
    """The reference code's ImagePool.query, image by image on Python lists, fed the coins and
    slots the pool drew: what each batch shows, and the pool at the end."""
    pool, shown = [], []
    for batch, batch_coins, batch_slots in zip(batches, coins, slots, strict=True):
        out = []
        for image, coin, slot in zip(batch, batch_coins, batch_slots, strict=True):
            if len(pool) < size:
                pool.append(image)
                out.append(image)
            elif coin > 0.5:
                out.append(pool[slot])
                pool[slot] = image
            else:
                out.append(image)
        shown.append(torch.stack(out))
    return shown, torch.stack(pool)


def test_pool_follows_the_reference_rule_draw_for_draw():
    size, n = 5, 3
    batches = [torch.randn(n, 1, 2, 2, generator=torch.Generator().manual_seed(i))
               for i in range(12)]
    pool, ctx = HistoryPool(size, (1, 2, 2)), context(n, seed=7)
    shown = [pool.query(batch, ctx) for batch in batches]
    replay, coins, slots = torch.Generator().manual_seed(7), [], []
    for _ in batches:  # the draws of each query: n coins, then n slots
        coins.append(torch.rand(n, generator=replay).tolist())
        slots.append(torch.randint(size, (n,), generator=replay).tolist())
    expected, expected_pool = reference_pool(size, batches, coins, slots)
    for ours, theirs in zip(shown, expected, strict=True):
        assert torch.equal(ours, theirs)
    assert torch.equal(pool.images, expected_pool) and int(pool.count) == size
    assert any(not torch.equal(o, b) for o, b in zip(shown, batches, strict=True))


def test_pool_of_size_zero_shows_the_new_images_and_draws_nothing():
    ctx = context(2)
    state = ctx.rng.get_state()
    images = torch.randn(2, 1, 2, 2)
    assert torch.equal(HistoryPool(0, (1, 2, 2)).query(images, ctx), images)
    assert torch.equal(ctx.rng.get_state(), state)


def test_pool_state_is_in_the_state_dict():
    pool = HistoryPool(3, (1, 2, 2))
    pool.query(torch.ones(2, 1, 2, 2), context(2))
    again = HistoryPool(3, (1, 2, 2))
    again.load_state_dict(pool.state_dict())
    assert int(again.count) == 2 and torch.equal(again.images, pool.images)


class HostReads(TorchDispatchMode):
    """Counts the reads of a tensor's values by the host: every ``item()``, ``int()``,
    ``bool()`` (aten._local_scalar_dense), every op whose output size depends on values
    (nonzero, masked_select) and, patched in by :func:`count_host_reads`, ``tolist()``."""

    SYNCING = {"_local_scalar_dense", "nonzero", "masked_select", "unique", "_unique2"}

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.reads += func.__name__.split(".")[0] in self.SYNCING
        return func(*args, **(kwargs or {}))


def count_host_reads(monkeypatch, call) -> int:
    mode = HostReads()
    tolist = torch.Tensor.tolist

    def counted(tensor):
        mode.reads += 1
        return tolist(tensor)

    monkeypatch.setattr(torch.Tensor, "tolist", counted)
    with mode:
        call()
    return mode.reads


@pytest.mark.parametrize("filled", [0, 3, 5])  # empty, filling across the batch, full
def test_a_pool_query_reads_nothing_back_to_the_host(monkeypatch, filled):
    """CycleGAN queries two pools a step, and the trainer's finiteness check is the step's one
    host sync: the pool's decisions stay on the device."""
    pool, ctx = HistoryPool(5, (1, 2, 2)), context(4)
    if filled:
        pool.query(torch.randn(filled, 1, 2, 2), context(filled))
    images = torch.randn(4, 1, 2, 2)
    assert count_host_reads(monkeypatch, lambda: pool.query(images, ctx)) == 0


# --------------------------------------------------------------------------------- recipes

def test_pix2pix_defaults_are_the_reference_settings_and_a_config_wins():
    config = load_config("edges2digits")
    model, train, options = config.model, config.train, config.options
    assert (model.name, model.discriminator, model.g_norm, model.g_dropout) == (
        "unet", "patchgan", "batch", 0.5)
    assert (train.lr_g, train.lr_d, train.beta1, train.lr_decay_from) == (2e-4, 2e-4, 0.5, 0.5)
    assert config.loss.name == "non-saturating" and options.pixel_weight == 100
    assert model.d_depth == 1  # the shipped config's own choice wins over the recipe's 3
    cycle = load_config("thin2thick")
    assert (cycle.loss.name, cycle.model.name, cycle.model.g_norm, cycle.model.d_norm) == (
        "lsgan", "resnet", "instance", "instance")
    assert (cycle.options.cycle_weight, cycle.options.identity_weight,
            cycle.options.pool_size) == (10, 0.5, 50)


def test_pix2pix_terms_by_hand():
    """D: half the BCE objective on (a, b) and (a, G(a)); G: BCE on (a, G(a)) + 100 L1."""
    run = tiny_run()
    recipe = run.recipe
    d_phase, g_phase = recipe.phases()
    ctx = run.trainer.ctx
    state = ctx.rng.get_state()
    d_terms = recipe.run_phase(d_phase, ctx).terms
    a, b, fake = ctx.carry["translated"]  # handed to the G phase
    ctx.rng.set_state(state)
    batch = ctx.batch()
    assert torch.equal(batch["a"], a) and torch.equal(batch["b"], b)
    D = recipe.nets["D"]
    real_logits, fake_logits = D(torch.cat([a, b], 1)).logits, D(torch.cat([a, fake], 1)).logits
    expected_d = 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())
    torch.testing.assert_close(d_terms["d_loss"], expected_d)
    g_terms = recipe.run_phase(g_phase, ctx).terms
    torch.testing.assert_close(g_terms["g_gan"], F.softplus(-fake_logits).mean())
    torch.testing.assert_close(g_terms["g_pixel"], 100 * (fake - b).abs().mean())


def test_pix2pix_ablations_change_what_is_trained():
    alone = tiny_run(pix2pix={"gan_weight": 0})
    assert [p.name for p in alone.recipe.phases()] == ["g"]
    assert set(alone.recipe.optimizers()) == {"g"}
    d_before = {k: v.clone() for k, v in alone.recipe.nets["D"].state_dict().items()}
    alone.fit(1)
    assert all(torch.equal(v, alone.recipe.nets["D"].state_dict()[k]) for k, v in
               d_before.items())
    no_l1 = tiny_run(pix2pix={"pixel_weight": 0})
    terms = no_l1.recipe.run_phase(no_l1.recipe.phases()[0], no_l1.trainer.ctx)
    assert "g_pixel" not in no_l1.recipe.run_phase(no_l1.recipe.phases()[1],
                                                   no_l1.trainer.ctx).terms and terms.terms
    unconditional = tiny_run(pix2pix={"conditional_d": False})
    assert unconditional.recipe.nets["D"].body[0].in_channels == 1
    assert tiny_run().recipe.nets["D"].body[0].in_channels == 2  # concat(a, b)
    with pytest.raises(ConfigError):
        tiny_run(pix2pix={"gan_weight": 0, "pixel_weight": 0})


@pytest.mark.parametrize("config", ["edges2digits", "thin2thick", "grey2colour"])
def test_one_real_step_moves_every_network(config):
    run = tiny_run(config)
    before = {k: v.clone() for k, v in run.recipe.nets.state_dict().items()}
    run.fit(1)
    for name, net in run.recipe.nets.items():
        if not list(net.parameters()):
            continue  # the history pools: their own test
        changed = any(not torch.equal(before[f"{name}.{k}"], v)
                      for k, v in net.state_dict().items())
        assert changed, f"{config}: {name} did not change"


def phase_and_its_batch(recipe, index, ctx):
    """The terms of the recipe's phase ``index``, and the batch (a, b) it drew, drawn again."""
    state = ctx.rng.get_state()
    terms = recipe.run_phase(recipe.phases()[index], ctx).terms
    ctx.rng.set_state(state)
    batch = ctx.batch()
    return terms, batch["a"], batch["b"]


def test_cyclegan_terms_by_hand():
    run = tiny_run("thin2thick")
    recipe, ctx = run.recipe, run.trainer.ctx
    terms, a, b = phase_and_its_batch(recipe, 0, ctx)
    G, Fn, lsgan = recipe.nets["G"], recipe.nets["F"], LOSSES["lsgan"]
    cycle = (Fn(G(a)) - a).abs().mean() + (G(Fn(b)) - b).abs().mean()
    identity = (G(b) - b).abs().mean() + (Fn(a) - a).abs().mean()
    gan = (lsgan.g_loss(recipe.nets["D_B"](G(a)).logits)
           + lsgan.g_loss(recipe.nets["D_A"](Fn(b)).logits))
    torch.testing.assert_close(terms["g_cycle"], 10 * cycle)
    torch.testing.assert_close(terms["g_identity"], 0.5 * 10 * identity)
    torch.testing.assert_close(terms["g_gan"], 2 * gan)
    # 2 x Mao's 1/2 (f - 1)^2 is the reference's MSE(D(G(a)), 1)
    fake_logits = recipe.nets["D_B"](G(a)).logits
    torch.testing.assert_close(2 * lsgan.g_loss(fake_logits), ((fake_logits - 1) ** 2).mean())
    d_terms = recipe.run_phase(recipe.phases()[1], ctx).terms
    assert set(d_terms) == {"d_a", "d_b"}


def test_cyclegan_d_step_alone_translates_a_batch_of_its_own():
    """The browser view's lone D step: no G step handed its translations on, so the D step
    draws a batch and translates it itself (before, it raised)."""
    run = tiny_run("thin2thick", cyclegan={"pool_size": 0})
    recipe, ctx = run.recipe, run.trainer.ctx
    terms, a, b = phase_and_its_batch(recipe, 1, ctx)
    D_A, D_B, lsgan = recipe.nets["D_A"], recipe.nets["D_B"], LOSSES["lsgan"]
    with torch.no_grad():
        fake_a, fake_b = recipe.nets["F"](b), recipe.nets["G"](a)
    torch.testing.assert_close(terms["d_a"], lsgan.d_loss(D_A(a).logits, D_A(fake_a).logits))
    torch.testing.assert_close(terms["d_b"], lsgan.d_loss(D_B(b).logits, D_B(fake_b).logits))
    assert run.trainer.train_steps(1, phase="d").keys() == {"d_a", "d_b", "d_loss"}


def test_cyclegan_resume_is_bit_exact_with_its_history_pool(tmp_path):
    sections = {"cyclegan": {"pool_size": 3}, "train": {**TINY_TRAIN, "steps": 6,
                                                        "checkpoint_every": 3}}
    straight = tiny_run("thin2thick", **sections)
    straight.fit(6)
    first = tiny_run("thin2thick", run_dir=tmp_path, **sections)
    first.fit(3)
    assert int(first.recipe.nets["pool_a"].count) == 3  # full: the second half draws from it
    resumed = gankit.load(tmp_path, progress=False)
    resumed.trainer.hooks = []
    resumed.fit(6)
    assert_identical(all_tensors(straight), all_tensors(resumed))


def test_translation_data_and_recipes_refuse_each_other_in_one_line():
    with pytest.raises(ConfigError) as excinfo:
        gankit.build("edges2digits", ["recipe=gan", "model.name=dcgan"], progress=False)
    assert "edges2digits" in one_line(excinfo) and "pix2pix or cyclegan" in str(excinfo.value)
    with pytest.raises(ConfigError) as excinfo:
        tiny_run("thin2thick", recipe="pix2pix")
    assert "unpaired" in one_line(excinfo) and "cyclegan" in str(excinfo.value)
    with pytest.raises(ConfigError) as excinfo:
        gankit.build({"recipe": "pix2pix", "data": {"name": "mnist5k"}}, progress=False)
    assert "mnist5k" in one_line(excinfo) and "edges2digits" in str(excinfo.value)
    with pytest.raises(ConfigError) as excinfo:
        tiny_run("grey2colour", recipe="cyclegan")
    assert "identity_weight" in one_line(excinfo) and "1 and B 3" in str(excinfo.value)
    with pytest.raises(ConfigError) as excinfo:
        tiny_run("thin2thick", cyclegan={"pixel_weight": 1})
    assert "unpaired" in one_line(excinfo)
    with pytest.raises(ConfigError) as excinfo:
        tiny_run("edges2digits", train={"g_ema": 0.99})
    assert "g_ema" in one_line(excinfo)


# ---------------------------------------------------------------- evaluation and test time

def test_translation_runs_in_eval_mode_alone_and_in_a_batch_alike():
    """The stated test-time choice: batch norm's running statistics and no dropout, so an image
    translates the same alone, in any batch and every time; train mode would not."""
    run = tiny_run(model={**TINY_MODEL, "g_dropout": 0.5}, size=16)  # 4 levels, 2 drop out
    run.fit(2)
    a = run.data.held_out().a[:6]
    together = run.translate(a)
    alone = torch.cat([run.translate(a[i:i + 1]) for i in range(6)])
    torch.testing.assert_close(together, alone, rtol=0, atol=1e-6)
    assert torch.equal(run.translate(a), together)
    assert run.recipe.training  # translating left the networks' mode as it was
    G = run.recipe.nets["G"]
    assert not torch.equal(G(a), G(a))  # in train mode dropout draws anew


def test_direction_metrics_of_a_perfect_translation():
    run = tiny_run()
    held = run.data.held_out()
    features = run.plan.features(None, None, "cpu")
    perfect = direction_metrics(held.b, held.a, held.b, True, held.labels_a, held.labels_b,
                                features)
    assert perfect["l1"] == 0 and perfect["ssim"] == pytest.approx(1.0)
    assert perfect["fid"] == pytest.approx(0.0, abs=1e-3)
    assert perfect["label_preservation"] == perfect["label_accuracy_real"] > 0.5
    wrong = direction_metrics(held.b.flip(0), held.a, held.b, True, held.labels_a,
                              held.labels_b, features)
    assert wrong["label_preservation"] < 0.3 and wrong["l1"] > 0


def test_evaluation_measures_both_ways_and_the_cycles(tmp_path):
    run = tiny_run("thin2thick", run_dir=tmp_path, snapshots=True)
    run.fit(1)
    record = run.result
    for key in ("l1", "psnr", "ssim", "fid", "label_preservation", "l1_ba", "ssim_ba",
                "label_preservation_ba", "cycle_l1_a", "cycle_l1_b"):
        assert math.isfinite(record[key]), key
    picture = np.asarray(Image.open(tmp_path / "samples" / "step-0000001.png"))
    assert picture.shape[0] > 5 * picture.shape[1] / 8  # six rows of eight
    assert record == {**run.eval_record(), "step": 1}
    with pytest.raises(GankitError) as excinfo:
        run.sample(4)
    assert "translate" in one_line(excinfo)


def test_pix2pix_snapshot_draws_input_output_target_rows(tmp_path, monkeypatch):
    from gankit.evaluation import plots

    grids = []
    save_grids = plots.save_grids
    monkeypatch.setattr(plots, "save_grids", lambda g, path: grids.extend(g)
                        or save_grids(g, path))
    run = tiny_run(run_dir=tmp_path, snapshots=True)
    run.fit(1)
    (grid,) = grids
    assert list(grid.rows) == ["input", "output", "target"] and grid.ncol == 8
    held = run.data.held_out()
    np.testing.assert_array_equal(grid.images[:8], held.a[:8].numpy())
    np.testing.assert_array_equal(grid.images[16:], held.b[:8].numpy())
    picture = np.asarray(Image.open(tmp_path / "samples" / "step-0000001.png").convert("RGB"))
    pixels = plots.image_grid(grid.images, 8)
    assert picture.shape[0] >= pixels.shape[0] and picture.shape[1] >= pixels.shape[1]


def test_translate_refuses_wrong_images_and_directions():
    run = tiny_run()
    with pytest.raises(GankitError) as excinfo:
        run.translate(torch.zeros(2, 3, 12, 12))
    assert "[N, 1, 12, 12]" in one_line(excinfo)
    with pytest.raises(GankitError) as excinfo:
        run.translate(torch.full((2, 1, 12, 12), 3.0))
    assert "[-1, 1]" in one_line(excinfo)
    with pytest.raises(GankitError) as excinfo:
        run.translate(torch.zeros(2, 1, 12, 12), "BtoA")
    assert "AtoB" in one_line(excinfo)
    uint8 = run.translate(torch.zeros(2, 1, 12, 12, dtype=torch.uint8))
    torch.testing.assert_close(uint8, run.translate(torch.full((2, 1, 12, 12), -1.0)))
    assert translate_images(run.recipe, torch.zeros(1, 1, 12, 12)).shape == (1, 1, 12, 12)


# --------------------------------------------------------------------------------- the CLI

def test_gankit_translate_writes_one_png_per_input_named_after_it(tmp_path, capsys):
    run = tiny_run("thin2thick", run_dir=tmp_path / "run")
    run.fit(2)
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    for name in ("one.png", "sub/two.jpg"):
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 24), np.uint8)).save(
            inputs / name)
    (inputs / "broken.png").write_bytes(b"not an image")
    assert main(["translate", str(tmp_path / "run"), "--input", str(inputs), "--out",
                 str(tmp_path / "out"), "--direction", "BtoA"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(tmp_path / "out")
    assert "skipped 1 unreadable" in captured.err and "broken.png" in captured.err
    written = sorted(p.relative_to(tmp_path / "out").as_posix()
                     for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["one.png", "sub/two.png"]
    assert Image.open(tmp_path / "out" / "one.png").size == (12, 12)
    single = tmp_path / "single"
    assert main(["translate", str(tmp_path / "run"), "--input", str(inputs / "one.png"),
                 "--out", str(single)]) == 0
    assert [p.name for p in single.iterdir()] == ["one.png"]
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(inputs / "one.jpg")
    capsys.readouterr()
    assert main(["translate", str(tmp_path / "run"), "--input", str(inputs), "--out",
                 str(tmp_path / "twice")]) == 2
    assert "one.jpg" in capsys.readouterr().err  # both would be written as one.png


def test_gankit_translate_errors_are_one_line(tmp_path, capsys, make_run):
    pix = tiny_run(run_dir=tmp_path / "pix")
    pix.fit(1)
    gan = make_run(run_dir=tmp_path / "gan")
    gan.fit(1)
    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(image)
    cases = [(["translate", str(tmp_path / "gan"), "--input", str(image), "--out",
               str(tmp_path / "o1")], "gankit sample"),
             (["translate", str(tmp_path / "pix"), "--input", str(image), "--out",
               str(tmp_path / "o2"), "--direction", "BtoA"], "AtoB"),
             (["translate", str(tmp_path / "pix"), "--input", str(tmp_path / "none"),
               "--out", str(tmp_path / "o3")], "none"),
             (["sample", str(tmp_path / "pix"), "--out", str(tmp_path / "s.npy")],
              "gankit translate")]
    for argv, words in cases:
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], (argv, err)


def test_a_translation_run_exports_its_generator(tmp_path):
    from safetensors import safe_open

    from gankit.storage.export import export_generator

    run = tiny_run()
    path = export_generator(run.recipe, "state_dict", tmp_path / "g.safetensors")
    with safe_open(str(path), framework="pt") as f:
        assert f.metadata()["input_shape"] == "[1, 12, 12]"
        assert f.metadata()["output_shape"] == "[1, 12, 12]"


def test_gankit_translate_says_when_it_converts_colour_or_size(tmp_path, capsys):
    """CycleGAN on grey2colour translates grey (AtoB) and colour (BtoA): colour files given to
    the grey side, and grey ones to the colour side, are converted with one warning that
    counts them; files of another size with another."""
    run = tiny_run("grey2colour", run_dir=tmp_path / "run", recipe="cyclegan",
                   cyclegan={"identity_weight": 0})
    run.fit(1)
    inputs = tmp_path / "in"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    for name, shape in (("grey.png", (12, 12)), ("rgb1.png", (12, 12, 3)),
                        ("rgb2.jpg", (12, 12, 3))):
        Image.fromarray(rng.integers(0, 255, shape, np.uint8)).save(inputs / name)
    expected = {"AtoB": "2 of 3 --input files are colour; this run takes grey images (1 channel)",
                "BtoA": "1 of 3 --input files are grey; this run takes colour images (3 channels)"}
    for direction, words in expected.items():
        capsys.readouterr()
        assert main(["translate", str(tmp_path / "run"), "--input", str(inputs), "--out",
                     str(tmp_path / direction), "--direction", direction]) == 0
        warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
        assert len(warned) == 1 and words in warned[0], warned
    capsys.readouterr()
    assert main(["translate", str(tmp_path / "run"), "--input", str(inputs / "grey.png"),
                 "--out", str(tmp_path / "quiet")]) == 0
    assert "warning" not in capsys.readouterr().err  # grey into the grey side: nothing to say
    Image.fromarray(rng.integers(0, 255, (16, 20), np.uint8)).save(inputs / "wide.png")
    assert main(["translate", str(tmp_path / "run"), "--input", str(inputs / "wide.png"),
                 "--out", str(tmp_path / "resized")]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned == ["gankit: warning: 1 of 1 --input files are not 12x12 px, the run's size: "
                      "resized (shorter side to 12) and center-cropped"]
