"""Networks at 64 and 128 px (issue 28, item 6): the image families' shapes in grey and RGB,
one training step at each size, and one error line for a size a family cannot build.

The unconditional image families are those the GENERATORS / DISCRIMINATORS registries hold
for images (``dcgan``, ``dcgan-fc``, ``resnet-gan``; BEGAN's ``dcgan`` auto-encoder); the
ResNet families are WGAN-GP's and SN-GAN's G and D (``resnet-gan``, also at 28 and 32 px,
checked against the blocks' formulas) and CycleGAN's generator (``resnet``), trained with the
PatchGAN discriminator as is the U-Net. Widths are tiny and batches 2, so each case takes a
fraction of a second on a CPU.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.nn.utils import parametrize

import gankit
from conftest import tiny_dict
from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models import AUTOENCODERS, DISCRIMINATORS, GENERATORS, TRANSLATORS, DOutput
from gankit.models.heads import WithHeads, feature_width
from gankit.models.resnet_gan import DownBlock, UpBlock

SIDES = (64, 128)
CHANNELS = (1, 3)
TINY = {"latent_dim": 4, "g_hidden": 2, "d_hidden": 2}


def model(name: str, **keys) -> ModelConfig:
    return ModelConfig(name=name, **{**TINY, **keys})


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("family", ["dcgan", "dcgan-fc", "resnet-gan"])
def test_image_generators_and_discriminators_at_64_and_128_px(family, channels, side):
    config, shape = model(family, g_batchnorm=True), (channels, side, side)
    torch.manual_seed(0)
    x = GENERATORS[family](config, shape)(torch.randn(2, 4))
    assert x.shape == (2, *shape) and x.abs().max() <= 1
    out = DISCRIMINATORS[family](config, shape)(x)
    assert isinstance(out, DOutput) and out.logits.shape == (2,)
    packed = DISCRIMINATORS[family](model(family, pack=2), shape)  # PacGAN: 2 samples stacked
    assert packed(torch.cat([x, x], 1)).logits.shape == (2,)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("channels", CHANNELS)
def test_began_auto_encoder_at_64_and_128_px(channels, side):
    images = torch.rand(2, channels, side, side) * 2 - 1
    out = AUTOENCODERS["dcgan"](model("dcgan"), (channels, side, side))(images)
    assert out.logits.shape == (2,) and out.features.shape == (2, 4)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(("c_in", "c_out"), [(1, 3), (3, 3), (3, 1)])
@pytest.mark.parametrize("translator", ["resnet", "unet"])
def test_translators_and_patchgan_at_64_and_128_px(translator, c_in, c_out, side):
    config = model(translator, g_norm="instance", d_depth=3,
                   **({"g_depth": 2} if translator == "resnet" else {}))
    a = torch.rand(2, c_in, side, side) * 2 - 1
    b = TRANSLATORS[translator](config, (c_in, side, side), (c_out, side, side))(a)
    assert b.shape == (2, c_out, side, side) and b.abs().max() <= 1
    verdicts = DISCRIMINATORS["patchgan"](config, (c_in + c_out, side, side))(torch.cat([a, b], 1))
    patches = (side // 8 - 2) ** 2  # 3 stride-2 layers, then two 4x4 convolutions of stride 1
    assert verdicts.logits.shape == (2, patches)


def changed_by_one_step(run: gankit.Run) -> set[str]:
    before = {name: [p.detach().clone() for p in net.parameters()]
              for name, net in run.recipe.nets.items()}
    run.fit(1)
    return {name for name, net in run.recipe.nets.items()
            if any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters(),
                                                        strict=True))}


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("family", ["dcgan", "resnet-gan"])
def test_one_gan_step_at_64_and_128_px(family, channels, side):
    images = torch.randint(0, 256, (4, channels, side, side), dtype=torch.uint8)
    config = tiny_dict(data={"batch_size": 2, "n_eval": 16},
                       model={"name": family, **TINY, "g_batchnorm": True},
                       train={"steps": 1})
    run = gankit.build(config, data=images, progress=False, snapshots=False)
    assert changed_by_one_step(run) == {"G", "D"}
    assert run.sample(2).shape == (2, channels, side, side)


def write_pairs(folder, side: int, n: int = 5) -> None:
    """``n`` random RGB pairs A/i.png, B/i.png of ``side`` px."""
    rng = np.random.default_rng(0)
    for domain in ("A", "B"):
        (folder / domain).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / domain / f"{i}.png")


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize(("recipe", "data", "translator"), [
    ("pix2pix", "paired-folder", "unet"), ("cyclegan", "unpaired-folder", "resnet")])
def test_one_translation_step_at_64_and_128_px(recipe, data, translator, channels, side,
                                               tmp_path):
    write_pairs(tmp_path, side)
    config = {"recipe": recipe,
              "data": {"name": data, "path": str(tmp_path), "image_size": side,
                       "channels": channels, "batch_size": 2, "n_eval": 16},
              "model": {"name": translator, "discriminator": "patchgan", "g_hidden": 2,
                        "d_hidden": 2, "d_depth": 3,
                        **({"g_depth": 1} if translator == "resnet" else {})},
              "train": {"steps": 1, "precision": "fp32", "log_every": 1000, "plot_every": 1000,
                        "checkpoint_every": 1000}}
    run = gankit.build(config, progress=False, snapshots=False)
    trained = {name for name, net in run.recipe.nets.items() if list(net.parameters())}
    assert changed_by_one_step(run) == trained  # G and D; CycleGAN's F and D_A too
    out = run.translate(torch.zeros(1, channels, side, side, dtype=torch.uint8))
    assert out.shape == (1, channels, side, side)


@pytest.mark.parametrize(("family", "shape", "words"), [
    ("dcgan", (3, 96, 96), ["8, 16, 28, 32, 64, 128, 256 px", "[3, 96, 96]"]),
    ("dcgan", (1, 512, 512), ["256 px", "[1, 512, 512]"]),
    ("dcgan-fc", (3, 64, 32), ["square", "[3, 64, 32]"]),
    ("resnet-gan", (3, 96, 96), ["model resnet-gan", "28, 32, 64, 128, 256 px", "[3, 96, 96]"]),
    ("resnet-gan", (1, 16, 16), ["model resnet-gan", "28, 32, 64, 128, 256 px", "[1, 16, 16]"]),
])
@pytest.mark.parametrize("registry", [GENERATORS, DISCRIMINATORS])
def test_a_size_a_family_cannot_build_is_one_line(registry, family, shape, words):
    with pytest.raises(ConfigError) as err:
        registry[family](model(family), shape)
    line = str(err.value)
    assert "\n" not in line and all(w in line for w in words), line


def test_a_size_resnet_cannot_halve_twice_is_one_line():
    with pytest.raises(ConfigError, match=r"^model resnet halves the image twice: .*got 126 px$"):
        TRANSLATORS["resnet"](model("resnet"), (3, 126, 126), (3, 126, 126))


@pytest.mark.parametrize(("side", "doublings"), [(28, 2), (32, 3), (64, 4), (128, 5)])
@pytest.mark.parametrize("channels", CHANNELS)
def test_resnet_gan_widths_follow_sngan(channels, side, doublings):
    """G starts from 4x4 (7x7 at 28 px) with 2^(n-1) times g_hidden channels and D's features
    are 2^(n-1) times d_hidden wide (SN-GAN's Table 6 at 128 px: 4x4x16ch, 16ch features)."""
    config, shape = model("resnet-gan", g_hidden=3, d_hidden=2, g_batchnorm=True), \
        (channels, side, side)
    G = GENERATORS["resnet-gan"](config, shape)
    base = 7 if side == 28 else 4
    assert G.project.out_features == 3 * 2 ** (doublings - 1) * base**2
    assert len(G.blocks) == doublings and G(torch.randn(2, 4)).shape == (2, *shape)
    D = DISCRIMINATORS["resnet-gan"](config, shape)
    assert feature_width(D, shape) == 2 * 2 ** (doublings - 1)
    assert len(D.blocks) == doublings + 1  # n - 1 down-sampling blocks after the first, one more


def test_resnet_gan_blocks_compute_the_papers_formulas():
    """Each block against its formula written with torch.nn.functional on the block's own
    weights: G's nearest up-sampling, D's average pooling, the 1x1 shortcuts, and D's output as
    the linear unit on the global sum of the last ReLU (Miyato et al. 2018, Table 6)."""
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)

    def conv(layer, h):
        return F.conv2d(h, layer.weight, layer.bias, padding=layer.weight.shape[-1] // 2)

    def up(h):
        return h.repeat_interleave(2, 2).repeat_interleave(2, 3)

    def pool(h):
        return h.unfold(2, 2, 2).unfold(3, 2, 2).mean((-1, -2))

    g = UpBlock(3, 5, "none")
    want = conv(g.conv2, conv(g.conv1, up(x.relu())).relu()) + conv(g.shortcut, up(x))
    assert torch.allclose(g(x), want, atol=1e-5)
    d = DownBlock(3, 5, "none")
    want = pool(conv(d.conv2, conv(d.conv1, x.relu()).relu())) + pool(conv(d.shortcut, x))
    assert torch.allclose(d(x), want, atol=1e-5)
    first = DownBlock(3, 5, "none", first=True)  # no ReLU on the image; pool, then the 1x1
    want = pool(conv(first.conv2, conv(first.conv1, x).relu())) + conv(first.shortcut, pool(x))
    assert torch.allclose(first(x), want, atol=1e-5)
    same = DownBlock(5, 5, "none", down=False)  # the last block: identity shortcut
    h = torch.randn(2, 5, 4, 4)
    assert torch.allclose(same(h), h + conv(same.conv2, conv(same.conv1, h.relu()).relu()),
                          atol=1e-5)
    D = DISCRIMINATORS["resnet-gan"](model("resnet-gan"), (3, 32, 32))
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    features = D.blocks(images).relu().sum((2, 3))
    out = D(images)
    assert torch.allclose(out.features, features)
    assert torch.allclose(out.logits, features @ D.head.out.weight[0] + D.head.out.bias)


def test_resnet_gan_draws_xavier_uniform_weights():
    """Residual 3x3 convolutions at gain sqrt(2), shortcuts at gain 1, biases zero (SN-GAN's
    code): each weight inside its Xavier bound and filling it (uniform std = bound / sqrt 3)."""
    torch.manual_seed(0)
    G = GENERATORS["resnet-gan"](model("resnet-gan", g_hidden=32, g_batchnorm=True),
                                 (3, 32, 32))
    block = G.blocks[1]  # 128 -> 64 channels
    for layer, gain in [(block.conv1, math.sqrt(2)), (block.shortcut, 1.0)]:
        fan_in, fan_out = layer.weight[0].numel(), layer.weight[:, 0].numel()
        bound = gain * math.sqrt(6 / (fan_in + fan_out))
        assert layer.weight.abs().max() <= bound
        assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert not layer.bias.any()


def test_resnet_gan_discriminator_options():
    """Spectral norm wraps every convolution and the linear unit; d_norm, PacGAN, minibatch
    stddev and discrimination and heads on the features work as in DCGAN's D."""
    shape = (3, 32, 32)
    D = DISCRIMINATORS["resnet-gan"](model("resnet-gan", spectral_norm=True), shape)
    layers = [m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(layers) == 2 * 4 + 3 + 1  # two 3x3 per block, 1x1 on 3 resampling ones, output
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    x = torch.rand(2, 3, 32, 32)
    for keys in ({"d_norm": "layer"}, {"d_norm": "batch"}, {"minibatch_stddev": True},
                 {"minibatch_discrimination": 3}):
        assert DISCRIMINATORS["resnet-gan"](model("resnet-gan", **keys), shape)(x).logits.shape \
            == (2,)
    packed = DISCRIMINATORS["resnet-gan"](model("resnet-gan", pack=2), shape)
    assert packed(torch.cat([x, x], 1)).logits.shape == (2,)
    headed = WithHeads(D, {"class": torch.nn.Linear(feature_width(D, shape), 10)})
    assert headed(x).heads["class"].shape == (2, 10)


def test_one_sngan_step_with_resnet_gan_and_spectral_norm():
    """The hinge-sn preset's D (spectral norm, no norm in D) on the ResNet pair: one step moves
    both."""
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    config = tiny_dict(data={"batch_size": 2, "n_eval": 16}, loss={"name": "hinge"},
                       model={"name": "resnet-gan", **TINY, "g_batchnorm": True,
                              "spectral_norm": True, "d_norm": "none"},
                       train={"steps": 1})
    run = gankit.build(config, data=images, progress=False, snapshots=False)
    assert changed_by_one_step(run) == {"G", "D"}


@pytest.mark.parametrize("recipe", ["cgan", "acgan", "projection", "caae", "infogan"])
def test_one_conditional_step_with_resnet_gan(recipe):
    """The label input, AC-GAN's and InfoGAN's heads and the projection read the ResNet D's
    summed features as they read DCGAN's."""
    images = torch.randint(0, 256, (8, 1, 32, 32), dtype=torch.uint8)
    labels = torch.arange(8) % 4
    config = tiny_dict(recipe=recipe, data={"batch_size": 4, "n_eval": 16},
                       model={"name": "resnet-gan", **TINY, "g_batchnorm": True},
                       train={"steps": 1})
    run = gankit.build(config, data=(images, labels), progress=False, snapshots=False)
    trained = {name for name, net in run.recipe.nets.items() if list(net.parameters())}
    assert changed_by_one_step(run) == trained
