"""R3GAN's normalization-free residual G and D (model ``r3gan``, Huang et al. 2024, Sec. 4):
shapes at 28, 32 and 64 px, every block the identity at initialization, the Fix-up scaling of
the weights against its formula, the parameter count against a hand count, one error line for
a size or a grouping the family cannot build, the keys it does not read, and training steps
through ``gankit.build`` (deterministic, bf16 with channels-last, bit-exact resume with G's
average). Widths are tiny, so each case takes a fraction of a second on a CPU."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gankit
from conftest import all_tensors, assert_identical, tiny_dict
from gankit.configuration.resolve import build_config, load_config
from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, GENERATORS, DOutput
from gankit.models.r3gan import (
    R3GANDiscriminator,
    R3GANGenerator,
    ResidualBlock,
    downsample,
    upsample,
)

TINY = {"latent_dim": 4, "g_hidden": 4, "d_hidden": 4, "blocks_per_stage": 1,
        "channels_per_group": 4}
LEAKY_RELU_GAIN = math.sqrt(2 / (1 + 0.2**2))  # He et al. 2015, eq. 15, slope 0.2


def model(**keys) -> ModelConfig:
    return ModelConfig(**{"name": "r3gan", **TINY, **keys})


def networks(shape: tuple[int, ...], **keys) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    config = model(**keys)
    return GENERATORS["r3gan"](config, shape), DISCRIMINATORS["r3gan"](config, shape)


@pytest.mark.parametrize("side", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_at_28_32_and_64_px(channels, side):
    G, D = networks((channels, side, side))
    x = G(torch.randn(2, 4))
    assert x.shape == (2, channels, side, side)
    out = D(x)
    base = 7 if side == 28 else 4
    assert isinstance(out, DOutput) and out.logits.shape == (2,)
    assert out.features.shape == (2, 4 * side // base)  # the width doubles with each halving
    packed = DISCRIMINATORS["r3gan"](model(pack=2, minibatch_stddev=True),
                                     (channels, side, side))  # PacGAN: 2 samples stacked
    assert packed(torch.cat([x, x], 1)).logits.shape == (2,)


def blocks(network: nn.Module) -> list[ResidualBlock]:
    return [m for m in network.modules() if isinstance(m, ResidualBlock)]


@pytest.mark.parametrize("side", [28, 64])
def test_every_block_is_the_identity_at_initialization(side):
    G, D = networks((3, side, side), g_hidden=8, d_hidden=8, blocks_per_stage=2)
    n_stages = 3 if side == 28 else 5
    assert len(blocks(G)) == len(blocks(D)) == 2 * n_stages
    for block in blocks(G) + blocks(D):
        assert not block.narrow.weight.any()  # the last layer of each block is zero
        x = torch.randn(2, block.widen.in_channels, 8, 8)
        assert torch.equal(block(x), x)
    # so G is the network without its blocks: basis, transitions and output layer only
    z = torch.randn(3, 4)
    h = G.basis * G.modulation(z)[:, :, None, None]
    for stage in G.stages:
        for layer in stage:
            h = h if isinstance(layer, ResidualBlock) else layer(h)
    assert torch.equal(G(z), G.out(h))
    x = torch.randn(3, 3, side, side)
    h = D.extract(x)
    for stage in D.stages:
        for layer in stage:
            h = h if isinstance(layer, ResidualBlock) else layer(h)
    assert torch.equal(D(x).logits, D.head.out(D.basis(h).flatten(1)).squeeze(1))


def test_resampling_is_the_1_3_3_1_filter():
    """Inside the image, x2 up-sampling is bilinear interpolation and x2 down-sampling the
    [1, 3, 3, 1] / 8 filter on each axis, which is antialiased bilinear resizing by 1/2; both
    keep a constant map constant away from the border (zero padding darkens it)."""
    x = torch.randn(2, 3, 8, 8)
    up = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(upsample(x)[..., 1:-1, 1:-1], up[..., 1:-1, 1:-1], atol=1e-6)
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8
    padded = F.pad(x, (1, 1, 1, 1))
    by_hand = sum(taps[i] * taps[j] * padded[..., i:i + 8:2, j:j + 8:2]
                  for i in range(4) for j in range(4))
    assert torch.allclose(downsample(x), by_hand, atol=1e-6)
    down = F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True)
    assert torch.allclose(downsample(x)[..., 1:-1, 1:-1], down[..., 1:-1, 1:-1], atol=1e-6)
    ones = torch.ones(1, 2, 8, 8)
    assert torch.equal(upsample(ones)[..., 1:-1, 1:-1], torch.ones(1, 2, 14, 14))
    assert torch.equal(downsample(ones)[..., 1:-1, 1:-1], torch.ones(1, 2, 2, 2))


def scaled_std(layers: list[nn.Conv2d]) -> float:
    """The std of all ``layers``' weights, each times sqrt(its fan-in): the gain."""
    return torch.cat([layer.weight.flatten() * math.sqrt(layer.weight[0].numel())
                      for layer in layers]).std().item()


@pytest.mark.parametrize("blocks_per_stage", [1, 2, 4])
def test_fixup_scales_the_block_weights_by_l_to_the_minus_a_quarter(blocks_per_stage):
    """Weights ~ N(0, gain^2 / fan_in), gain = the leaky ReLU's times L^(-1/(2m-2)) with m = 3
    layers per block and L blocks in the network (Zhang et al. 2019, Sec. 3)."""
    shape = (3, 28, 28)  # three stages: L = 3 * blocks per stage
    G, D = networks(shape, g_hidden=32, d_hidden=32, channels_per_group=16,
                    blocks_per_stage=blocks_per_stage)
    fixup = (3 * blocks_per_stage) ** -0.25
    for network in (G, D):
        widen = [b.widen for b in blocks(network)]
        spatial = [b.spatial for b in blocks(network)]
        assert spatial[0].groups == spatial[0].in_channels // 16
        assert scaled_std(widen) == pytest.approx(LEAKY_RELU_GAIN * fixup, rel=0.02)
        assert scaled_std(spatial) == pytest.approx(LEAKY_RELU_GAIN * fixup, rel=0.02)
    transitions = [m.conv for m in G.stages.modules() if hasattr(m, "conv")]
    assert scaled_std([*transitions, G.out]) == pytest.approx(1.0, rel=0.05)  # gain 1
    assert G.basis.std().item() == pytest.approx(1.0, rel=0.05)


def test_parameters_against_a_hand_count():
    """28 px, C = 3, latent 4, width 4, one block a stage, expansion 2, 4 channels a group:
    stage widths G 16, 8, 4 (D the reverse). A block of c channels holds 1x1 c -> 2c, a bias
    of 2c, the grouped 3x3 (2c outputs of 4 inputs), a bias of 2c, 1x1 2c -> c:
    2c^2 + 2c + 72c + 2c + 2c^2; c = 16: 2240, c = 8: 864, c = 4: 368."""
    G, D = networks((3, 28, 28))
    block_params = 2240 + 864 + 368
    # basis 16 x 7 x 7, modulation 4 -> 16, transitions 16 -> 8 -> 4, output 4 -> 3
    assert sum(p.numel() for p in G.parameters()) == block_params + 784 + 64 + 160 + 12
    # input 3 -> 4, transitions 4 -> 8 -> 16, depthwise basis 16 x 7 x 7, linear 16 -> 1 + bias
    assert sum(p.numel() for p in D.parameters()) == block_params + 12 + 160 + 784 + 17


@pytest.mark.parametrize("shape", [(3, 48, 48), (1, 24, 24), (3, 32, 16)])
@pytest.mark.parametrize("network", [R3GANGenerator, R3GANDiscriminator])
def test_a_size_that_is_not_the_base_doubled_is_one_line(network, shape):
    from gankit.models.r3gan import BlockShape

    args = (4, shape, 4) if network is R3GANGenerator else (shape, 4)
    with pytest.raises(ConfigError) as err:
        network(*args, BlockShape(1, 2, 4))
    line = str(err.value)
    assert "\n" not in line, line
    assert all(w in line for w in ("model r3gan", "8, 16, 28, 32, 64, 128, 256 px",
                                   str(list(shape)))), line


def test_a_run_on_images_of_another_size_stops_before_writing(tmp_path):
    images = torch.randint(0, 256, (8, 3, 48, 48), dtype=torch.uint8)
    config = tiny_dict(recipe="relativistic", loss={}, data={"batch_size": 4, "n_eval": 16},
                       model={"name": "r3gan", **TINY})
    with pytest.raises(ConfigError) as err:
        gankit.build(config, data=images, run_dir=tmp_path / "run", progress=False)
    assert "\n" not in str(err.value) and "[3, 48, 48]" in str(err.value), err.value
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("part", ["g_hidden", "d_hidden"])
def test_groups_that_do_not_divide_the_widened_channels_are_one_line(part):
    with pytest.raises(ConfigError) as err:
        networks((3, 32, 32), **{part: 6, "channels_per_group": 8})  # 12 widened channels
    line = str(err.value)
    assert "\n" not in line and "model.channels_per_group (8)" in line and "12" in line, line


@pytest.mark.parametrize(("keys", "words"), [
    ({"blocks_per_stage": 0}, ["model.blocks_per_stage", "0"]),
    ({"channels_per_group": 0}, ["model.channels_per_group", "0"]),
    ({"expansion": 0}, ["model.expansion", "0"]),
])
def test_bad_block_settings_are_one_line(keys, words):
    with pytest.raises(ConfigError) as err:
        build_config(tiny_dict(model={"name": "r3gan", **keys}))
    line = str(err.value)
    assert "\n" not in line and all(w in line for w in words), line


@pytest.mark.parametrize(("keys", "words"), [
    ({"name": "mlp", "blocks_per_stage": 3}, ["model mlp", "model.blocks_per_stage=3",
                                              "only the r3gan networks"]),
    ({"name": "r3gan", "spectral_norm": True}, ["model.discriminator r3gan",
                                                "model.spectral_norm=True"]),
    ({"name": "r3gan", "g_batchnorm": True}, ["model.generator r3gan", "model.g_batchnorm=True"]),
])
def test_keys_the_networks_do_not_read_are_refused_when_set(keys, words):
    with pytest.raises(ConfigError) as err:
        build_config(tiny_dict(model=keys))
    line = str(err.value)
    assert "\n" not in line and all(w in line for w in words), line


def test_a_data_sets_norm_settings_go_off_under_r3gan():
    """stacked-mnist.yaml's DCGAN keeps batch norm in G and D; the r3gan networks have none."""
    config = load_config("stacked-mnist", ["model.name=r3gan"])
    assert config.model.g_batchnorm is False and config.model.d_norm == "none"
    assert load_config("stacked-mnist").model.blocks_per_stage == 2  # dcgan: the default


def image_run(run_dir=None, recipe: str = "relativistic", **train) -> gankit.Run:
    images = torch.randint(0, 256, (8, 3, 28, 28), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    config = tiny_dict(recipe=recipe, loss={},
                       data={"batch_size": 4, "n_eval": 16}, model={"name": "r3gan", **TINY},
                       train={"steps": 4, **train})
    return gankit.build(config, data=images, run_dir=run_dir, progress=False, snapshots=False)


def parameters(run: gankit.Run) -> dict[str, list[torch.Tensor]]:
    return {name: [p.detach().clone() for p in net.parameters()]
            for name, net in run.recipe.nets.items()}


@pytest.mark.parametrize(("recipe", "train"), [
    ("relativistic", {}), ("relativistic", {"precision": "bf16", "channels_last": True}),
    ("gan", {})], ids=["relativistic-fp32", "relativistic-bf16-channels-last", "gan"])
def test_a_step_changes_g_and_d_deterministically(recipe, train):
    run = image_run(recipe=recipe, **train)
    before = parameters(run)
    run.fit(2)
    after = parameters(run)
    for name in ("G", "D"):
        assert any(not torch.equal(a, b) for a, b in zip(before[name], after[name], strict=True))
        assert all(torch.isfinite(p).all() for p in after[name])
    again = image_run(recipe=recipe, **train)
    again.fit(2)
    assert_identical(all_tensors(run), all_tensors(again))
    assert run.sample(2).shape == (2, 3, 28, 28)


def test_resume_with_g_average_is_bit_identical(tmp_path):
    straight = image_run(g_ema=0.9)
    straight.fit()
    first = image_run(tmp_path, g_ema=0.9)
    first.fit(2)  # saves at its last step
    resumed = image_run(tmp_path, g_ema=0.9).restore()
    assert resumed.step == 2
    resumed.fit()
    assert_identical(all_tensors(straight), all_tensors(resumed))
