"""Networks at 64 and 128 px (issue 28, item 6): the image families' shapes in grey and RGB,
one training step at each size, and one error line for a size a family cannot build.

The unconditional image families are those the GENERATORS / DISCRIMINATORS registries hold
for images (``dcgan``, ``dcgan-fc``; BEGAN's ``dcgan`` auto-encoder); the ResNet family is
CycleGAN's generator (``resnet``), trained with the PatchGAN discriminator as is the U-Net.
Widths are tiny and batches 2, so each case takes a fraction of a second on a CPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from conftest import tiny_dict
from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models import AUTOENCODERS, DISCRIMINATORS, GENERATORS, TRANSLATORS, DOutput

SIDES = (64, 128)
CHANNELS = (1, 3)
TINY = {"latent_dim": 4, "g_hidden": 2, "d_hidden": 2}


def model(name: str, **keys) -> ModelConfig:
    return ModelConfig(name=name, **TINY, **keys)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("family", ["dcgan", "dcgan-fc"])
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
def test_one_dcgan_step_at_64_and_128_px(channels, side):
    images = torch.randint(0, 256, (4, channels, side, side), dtype=torch.uint8)
    config = tiny_dict(data={"batch_size": 2, "n_eval": 16},
                       model={"name": "dcgan", **TINY, "g_depth": 3, "d_depth": 3},
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
])
def test_a_size_a_family_cannot_build_is_one_line(family, shape, words):
    with pytest.raises(ConfigError) as err:
        GENERATORS[family](model(family), shape)
    line = str(err.value)
    assert "\n" not in line and all(w in line for w in words), line


def test_a_size_resnet_cannot_halve_twice_is_one_line():
    with pytest.raises(ConfigError, match=r"^model resnet halves the image twice: .*got 126 px$"):
        TRANSLATORS["resnet"](model("resnet"), (3, 126, 126), (3, 126, 126))
