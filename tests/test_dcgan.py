"""DCGAN models on images: shapes per size and channel count, the paper's initialization, and one
real D+G step with every stabilizer and loss switched on, at tiny width on the CPU."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from gankit.configuration.schema import ModelConfig
from gankit.errors import ConfigError
from gankit.models import AUTOENCODERS, DISCRIMINATORS, GENERATORS, DOutput
from gankit.models.dcgan import SIZES, resolution_plan
from gankit.models.spectral_norm import SpectralNorm

IMAGES = {"data": {"name": "digits8", "batch_size": 16, "n_eval": 64},
          "model": {"name": "dcgan", "latent_dim": 8, "g_hidden": 4, "d_hidden": 4,
                    "g_batchnorm": True, "d_norm": "batch"}}


def build(shape, **kwargs):
    config = ModelConfig(**{"name": "dcgan", "latent_dim": 5, "g_hidden": 4, "d_hidden": 3,
                            "g_batchnorm": True, "d_norm": "batch", **kwargs})
    torch.manual_seed(0)
    return GENERATORS["dcgan"](config, shape), DISCRIMINATORS["dcgan"](config, shape)


@pytest.mark.parametrize("side", SIZES)
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_for_every_size_and_channel_count(side, channels):
    G, D = build((channels, side, side))
    x = G(torch.randn(4, 5))
    assert x.shape == (4, channels, side, side)
    assert x.abs().max() <= 1  # tanh output, the data's [-1, 1]
    out = D(x)
    assert isinstance(out, DOutput) and out.logits.shape == (4,)
    base, n = resolution_plan((channels, side, side))
    assert base * 2**n == side
    assert out.features.shape == (4, 3 * 2 ** (n - 1) * base * base)


def test_width_sets_the_channels_doubling_towards_the_base():
    G, D = build((1, 32, 32), g_hidden=8, d_hidden=6)  # 4 -> 8 -> 16 -> 32: three doublings
    g_convs = [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    d_convs = [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert g_convs == [16, 8, 1] and d_convs == [6, 12, 24]
    projection = G.net[0]  # z -> 32 channels at 4x4
    assert isinstance(projection, nn.Linear) and projection.out_features == 32 * 4 * 4


def test_projection_is_the_transposed_convolution_on_a_1x1_input():
    """Radford et al.'s first layer: a matrix product reshaped to [C, base, base], the same map
    as ConvTranspose2d(latent, C, base) applied to z as a 1x1 image."""
    G, _ = build((1, 28, 28), g_hidden=4)
    projection = G.net[0]
    conv = nn.ConvTranspose2d(5, 8, 7, bias=False)
    conv.weight.data.copy_(projection.weight.T.reshape(5, 8, 7, 7))
    z = torch.randn(3, 5)
    torch.testing.assert_close(G.net[1](projection(z)), conv(z[:, :, None, None]))


def test_unsupported_sizes_are_a_clear_error():
    with pytest.raises(ConfigError, match=r"8, 16, 28, 32, 64, 128, 256 px.*\[1, 30, 30\]"):
        build((1, 30, 30))
    with pytest.raises(ConfigError, match="square"):
        build((2,))


def test_dcgan_initialization_statistics():
    """Radford et al. 2016, Sec. 4: weights N(0, 0.02); batch-norm scales N(1, 0.02)."""
    G, D = build((3, 64, 64), g_hidden=32, d_hidden=32)
    weights = torch.cat([m.weight.detach().flatten() for net in (G, D) for m in net.modules()
                         if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    assert weights.mean().abs() < 1e-3 and weights.std().item() == pytest.approx(0.02, rel=0.02)
    scales = torch.cat([m.weight for m in G.modules() if isinstance(m, nn.BatchNorm2d)])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01)


def test_layer_norm_keeps_examples_independent():
    _, D = build((1, 16, 16), d_norm="layer")
    D.train()
    x = torch.randn(6, 1, 16, 16)
    torch.testing.assert_close(D(x).logits[:2], D(x[:2]).logits)


def test_spectral_norm_on_dcgan_matches_torch():
    """Every conv and linear layer of the SN discriminator converges to the same normalized
    weight as torch's own spectral_norm (power iteration on W reshaped to [out, in])."""
    _, D = build((1, 16, 16), spectral_norm=True, d_norm="none")
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(isinstance(m.parametrizations.weight[0], SpectralNorm) for m in layers)
    x = torch.randn(2, 1, 16, 16)
    for _ in range(60):  # one power iteration per training-mode forward
        D(x)
    for layer in layers:
        original = layer.parametrizations.weight.original.detach()
        reference = nn.Linear(1, 1, bias=False)  # any module: only its weight is used
        reference.weight = nn.Parameter(original.clone())
        reference = torch.nn.utils.parametrizations.spectral_norm(reference)
        for _ in range(60):
            reference.parametrizations.weight[0](reference.parametrizations.weight.original)
        reference.eval()
        torch.testing.assert_close(layer.weight, reference.weight, rtol=1e-4, atol=1e-6)


def test_conv_autoencoder_energy_is_the_mean_absolute_reconstruction_error():
    config = ModelConfig(name="dcgan", latent_dim=6, d_hidden=4)
    ae = AUTOENCODERS["dcgan"](config, (3, 16, 16))
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    out = ae(x)
    reconstruction = ae.decoder(ae.to_code(ae.encoder(x)))
    torch.testing.assert_close(out.logits, (x - reconstruction).abs().mean((1, 2, 3)))
    assert out.features.shape == (5, 6)


TRICKS = {
    "non-saturating": {},
    "minimax": {"loss": {"name": "minimax"}},
    "wgan": {"loss": {"name": "wgan"}, "train": {"optimizer": "rmsprop"}},
    "wgan-gp": {"loss": {"name": "wgan-gp"}, "model": {"d_norm": "layer"}},
    "lsgan": {"loss": {"name": "lsgan"}},
    "hinge+sn": {"loss": {"name": "hinge"}, "model": {"spectral_norm": True, "d_norm": "none"}},
    "r1+r2": {"loss": {"r1_weight": 10.0, "r2_weight": 1.0}},
    "minibatch-discrimination": {"model": {"minibatch_discrimination": 5}},
    "minibatch-stddev": {"model": {"minibatch_stddev": True}},
    "feature-matching": {"loss": {"feature_matching": 1.0}},
    "label-smoothing": {"loss": {"real_label": 0.9}},
    "pull-away": {"loss": {"pull_away": 0.1}},
    "g-ema": {"train": {"g_ema": 0.9}},
    "pack": {"model": {"pack": 2}},
    "f-kl": {"loss": {"name": "f-kl"}},
    "f-pearson": {"loss": {"name": "f-pearson"}},
    "f-hellinger": {"loss": {"name": "f-hellinger"}},
    "f-reverse-kl": {"loss": {"name": "f-reverse-kl"}},
    "f-js": {"loss": {"name": "f-js"}},
    "f-gan": {"loss": {"name": "f-gan"}},
    "began": {"recipe": "began", "model": {"d_norm": "none"}},
    "fast": {"train": {"precision": "bf16", "channels_last": True, "reuse_fake": True}},
}


def image_run(make_run, recipe="gan", **sections):
    merged = {key: {**IMAGES.get(key, {}), **sections.get(key, {})}
              for key in {*IMAGES, *sections}}
    return make_run(recipe=recipe, **merged)


@pytest.mark.parametrize("name", list(TRICKS))
def test_one_real_step_with_each_option_changes_g_and_d(make_run, name):
    settings = dict(TRICKS[name])
    run = image_run(make_run, settings.pop("recipe", "gan"), train={"steps": 1, **settings.pop(
        "train", {})}, **settings)
    nets = run.recipe.nets
    before = {k: [p.detach().clone() for p in nets[k].parameters()] for k in ("G", "D")}
    record = run.fit()[-1]
    for key in ("G", "D"):
        changed = [not torch.equal(a, b) for a, b in zip(before[key], nets[key].parameters(),
                                                         strict=True)]
        assert any(changed), f"{key} did not change"
    assert all(torch.isfinite(torch.tensor(v)) for v in record.values())
    expected = {"r1+r2": ["d_r1", "d_r2"], "wgan-gp": ["d_gp"], "feature-matching": ["g_fm"],
                "pull-away": ["g_pt"], "began": ["convergence_m", "k"]}.get(name, [])
    assert set(expected) <= set(record)
    x = run.sample(3)
    assert x.shape == (3, 1, 8, 8)


def test_reusing_the_fake_batch_equals_computing_g_twice(make_run):
    """train.reuse_fake keeps G(z) of the D step for the G step; a hand-written loop that
    recomputes G(z) from the same z (and the same real batch stream) lands on the same weights."""
    run = image_run(make_run, model={"g_batchnorm": False, "d_norm": "none"},
                    train={"steps": 3, "reuse_fake": True})
    G, D = (run.recipe.nets[k] for k in ("G", "D"))
    G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
    opt_g = torch.optim.Adam(G2.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D2.parameters(), lr=1e-3, betas=(0.5, 0.999))
    generator = torch.Generator().manual_seed(0)
    bce = nn.functional.binary_cross_entropy_with_logits
    for _ in range(3):
        z = torch.randn(16, 8, generator=generator)
        real = run.data.sample(16, generator)["x"]
        d_real, d_fake = D2(real).logits, D2(G2(z).detach()).logits
        d_loss = bce(d_real, torch.ones(16)) + bce(d_fake, torch.zeros(16))
        opt_d.zero_grad(), d_loss.backward(), opt_d.step()
        g_loss = bce(D2(G2(z)).logits, torch.ones(16))  # G(z) computed a second time
        opt_g.zero_grad(), g_loss.backward(), opt_g.step()
    run.fit()
    for a, b in zip([*G.parameters(), *D.parameters()], [*G2.parameters(), *D2.parameters()],
                    strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_channels_last_changes_only_the_memory_layout(make_run):
    runs = [image_run(make_run, train={"steps": 3, "channels_last": flag}) for flag in (False,
                                                                                        True)]
    for run in runs:
        run.fit()
    for a, b in zip(runs[0].recipe.parameters(), runs[1].recipe.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_bf16_autocast_stays_within_its_documented_precision(make_run):
    """bf16 keeps 8 mantissa bits: after a few steps the weights differ from fp32 by about
    1e-3 of their scale, far below the change a step makes; the losses agree to about 1%."""
    runs = [image_run(make_run, train={"steps": 5, "precision": p, "log_every": 1})
            for p in ("fp32", "bf16")]
    histories = [run.fit() for run in runs]
    for a, b in zip(*histories, strict=True):
        assert a["d_loss"] == pytest.approx(b["d_loss"], rel=0.03)
        assert a["g_loss"] == pytest.approx(b["g_loss"], rel=0.03)
    weights = [torch.cat([p.detach().flatten() for p in run.recipe.nets["G"].parameters()])
               for run in runs]
    assert (weights[0] - weights[1]).abs().max() < 5e-3
