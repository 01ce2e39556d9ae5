"""MLP generator and discriminator: shapes, the D record, a hand-written forward pass, one step."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.configuration.schema import ModelConfig
from gankit.losses.adversarial import LOSSES
from gankit.models import DISCRIMINATORS, GENERATORS, DOutput


def build(data_shape=(2,), **kwargs):
    config = ModelConfig(**{"latent_dim": 3, "g_hidden": 16, "g_depth": 2, "d_hidden": 12,
                            "d_depth": 2, **kwargs})
    torch.manual_seed(0)
    return GENERATORS["mlp"](config, data_shape), DISCRIMINATORS["mlp"](config, data_shape)


@pytest.mark.parametrize("data_shape", [(2,), (1,), (3, 4)])
def test_shapes(data_shape):
    G, D = build(data_shape)
    x = G(torch.randn(5, 3))
    assert x.shape == (5, *data_shape)
    out = D(x)
    assert isinstance(out, DOutput)
    assert out.logits.shape == (5,) and out.features.shape == (5, 12)


def test_a_batch_of_one():
    G, D = build()
    out = D(G(torch.randn(1, 3)))
    assert out.logits.shape == (1,) and out.features.shape == (1, 12)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_parameter_counts_follow_width_and_depth(depth):
    """Hand count: (in + 1) * h, then (depth - 1) * (h + 1) * h, then (h + 1) * out."""
    G, D = build((2,), g_depth=depth, d_depth=depth)
    g_expected = (3 + 1) * 16 + (depth - 1) * (16 + 1) * 16 + (16 + 1) * 2
    d_expected = (2 + 1) * 12 + (depth - 1) * (12 + 1) * 12 + (12 + 1) * 1
    assert sum(p.numel() for p in G.parameters()) == g_expected
    assert sum(p.numel() for p in D.parameters()) == d_expected


def forward_written_out(net: nn.Module, x: torch.Tensor, activation) -> tuple:
    """An independent forward pass from the weights: Linear -> activation -> ... -> Linear."""
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    h = x
    for layer in linears[:-1]:
        h = activation(h @ layer.weight.T + layer.bias)
    return h, h @ linears[-1].weight.T + linears[-1].bias  # (last hidden, output)


def test_discriminator_is_leaky_relu_0_2_mlp_written_out():
    _, D = build()
    x = torch.randn(7, 2)
    features, logits = forward_written_out(D, x, lambda h: F.leaky_relu(h, negative_slope=0.2))
    out = D(x)
    torch.testing.assert_close(out.features, features)
    torch.testing.assert_close(out.logits, logits[:, 0])
    assert (out.features < 0).any()  # leaky, not ReLU


def test_generator_is_relu_mlp_written_out():
    G, _ = build()
    z = torch.randn(7, 3)
    torch.testing.assert_close(G(z), forward_written_out(G, z, torch.relu)[1])


def test_examples_do_not_mix_without_batchnorm():
    """Invariance: a batch's outputs are the outputs of its examples one at a time."""
    G, D = build()
    z = torch.randn(6, 3)
    x = G(z)
    torch.testing.assert_close(x, torch.cat([G(z[i : i + 1]) for i in range(6)]))
    torch.testing.assert_close(D(x).logits, torch.cat([D(x[i : i + 1]).logits for i in range(6)]))


def test_batchnorm_only_in_the_generator_and_only_when_asked():
    G, D = build(g_batchnorm=True)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in G.modules()) == 2
    assert not any(isinstance(m, nn.BatchNorm1d) for m in D.modules())
    G_plain, _ = build(g_batchnorm=False)
    assert not any(isinstance(m, nn.BatchNorm1d) for m in G_plain.modules())
    assert G(torch.randn(4, 3)).shape == (4, 2)


def test_unknown_networks_list_the_known_ones():
    with pytest.raises(Exception,
                       match="unknown generator 'dcgan-ish'; known: dcgan, dcgan-fc, mlp"):
        GENERATORS["dcgan-ish"]
    with pytest.raises(Exception, match="unknown discriminator 'x'; known: dcgan, dcgan-fc, mlp"):
        DISCRIMINATORS["x"]


@pytest.mark.parametrize("loss", LOSSES.names())
@pytest.mark.parametrize("batchnorm", [False, True])
def test_one_full_d_and_g_step_changes_both_networks(make_run, loss, batchnorm):
    run = make_run(loss={"name": loss}, model={"g_batchnorm": batchnorm}, train={"steps": 1})
    before = {name: [p.detach().clone() for p in net.parameters()]
              for name, net in run.recipe.nets.items()}
    run.fit()
    assert run.step == 1
    for name, net in run.recipe.nets.items():
        after = list(net.parameters())
        # Every weight matrix moves. Biases need not: the critic losses (wgan, hinge inside its
        # margins) are invariant to shifting D by a constant, so D's output bias has gradient 0.
        unchanged = [n for (n, a), b in zip(net.named_parameters(), before[name], strict=True)
                     if a.dim() == 2 and torch.equal(a, b)]
        assert not unchanged, f"{name} ({loss}): unchanged {unchanged}"
        assert all(torch.isfinite(p).all() for p in after)


@pytest.mark.parametrize(("loss", "moves"), [("wgan-gp", False), ("non-saturating", True)])
def test_output_bias_moves_only_for_losses_that_see_a_shift(make_run, loss, moves):
    run = make_run(loss={"name": loss}, train={"steps": 1})
    bias = run.recipe.nets["D"].head.out.bias.detach().clone()
    run.fit()
    assert torch.equal(run.recipe.nets["D"].head.out.bias, bias) is not moves


def test_generator_output_is_unbounded_linear():
    """No tanh at the end: toy data such as grid25 reaches +-4."""
    G, _ = build()
    with torch.no_grad():
        G.out.bias.fill_(10.0)
    assert G(torch.zeros(1, 3)).min().item() > 5.0
    assert math.isclose(G.out.bias[0].item(), 10.0)


# --- networks by part, heads on D's features ---------------------------------------------------


def test_parts_are_chosen_one_by_one(make_run):
    run = make_run(model={"name": "mlp"})
    assert type(run.recipe.nets["G"]).__name__ == "MLPGenerator"
    images = {"data": {"name": "digits8", "batch_size": 8, "n_eval": 16},
              "model": {"name": "dcgan", "latent_dim": 4, "g_hidden": 4, "d_hidden": 4,
                        "discriminator": "dcgan", "generator": "dcgan", "d_norm": "none"}}
    mixed = make_run(**images)
    assert type(mixed.recipe.nets["D"]).__name__ == "DCGANDiscriminator"


def test_an_unknown_part_is_one_config_line():
    from conftest import tiny_dict
    from gankit.configuration.resolve import build_config
    from gankit.errors import ConfigError

    with pytest.raises(ConfigError,
                       match="unknown discriminator 'unet'; known: dcgan, dcgan-fc, mlp"):
        build_config(tiny_dict(model={"discriminator": "unet"}))
    with pytest.raises(ConfigError, match="unknown generator 'unet'"):
        build_config(tiny_dict(model={"generator": "unet"}))
    with pytest.raises(ConfigError, match="unknown auto-encoder discriminator 'dcgan-x'"):
        build_config(tiny_dict(recipe="began", model={"discriminator": "dcgan-x"}))


def test_a_head_on_the_features_comes_from_the_same_pass():
    from gankit.models.heads import WithHeads, feature_width

    _, D = build()
    width = feature_width(D, (2,))
    classifier = nn.Linear(width, 5)
    wrapped = WithHeads(D, {"class": classifier})
    x = torch.randn(7, 2)
    out, plain = wrapped(x), D(x)
    torch.testing.assert_close(out.logits, plain.logits)
    torch.testing.assert_close(out.heads["class"], classifier(plain.features))
    assert out.heads["class"].shape == (7, 5)
    out.heads["class"].sum().backward()  # gradients reach the head and D's body
    assert classifier.weight.grad is not None
    assert any(p.grad is not None for p in D.parameters())
