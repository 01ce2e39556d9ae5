"""Batch-level D layers against written-out formulas, plus the properties they exist for."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.models.layers import MinibatchDiscrimination, MinibatchStdDev


def test_minibatch_stddev_by_hand():
    h = torch.tensor([[1.0, 0.0], [3.0, 4.0]])  # per-feature population std: 1 and 2
    out = MinibatchStdDev()(h)
    assert out.shape == (2, 3)
    torch.testing.assert_close(out[:, :2], h)
    expected = (math.sqrt(1 + 1e-8) + math.sqrt(4 + 1e-8)) / 2
    assert out[:, 2].tolist() == pytest.approx([expected, expected])


def test_minibatch_stddev_sees_a_collapsed_batch():
    collapsed = MinibatchStdDev()(torch.ones(8, 5))[:, -1]
    diverse = MinibatchStdDev()(torch.randn(8, 5))[:, -1]
    assert collapsed.max().item() < 1e-3 < diverse.min().item()


def test_minibatch_discrimination_against_the_papers_double_sum():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(in_features=4, kernels=3, kernel_dim=2)
    h = torch.randn(5, 4)
    out = layer(h)
    assert out.shape == (5, 4 + 3)
    m = (h @ layer.T).view(5, 3, 2)  # M_i = f(x_i) T
    for i in range(5):
        for b in range(3):
            o = sum(math.exp(-(m[i, b] - m[j, b]).abs().sum().item()) for j in range(5))
            assert out[i, 4 + b].item() == pytest.approx(o, rel=1e-5)


def test_minibatch_discrimination_is_permutation_equivariant():
    torch.manual_seed(1)
    layer = MinibatchDiscrimination(in_features=3, kernels=4)
    h = torch.randn(6, 3)
    order = torch.randperm(6)
    torch.testing.assert_close(layer(h)[order], layer(h[order]))


def test_discriminator_with_batch_layers_trains(make_run):
    run = make_run(model={"minibatch_discrimination": 6, "minibatch_stddev": True},
                   train={"steps": 1})
    D = run.recipe.nets["D"]
    assert D.head.out.in_features == 16 + 6 + 1
    before = {k: v.clone() for k, v in D.state_dict().items()}
    run.fit()
    changed = [k for k, v in D.state_dict().items() if not torch.equal(before[k], v)]
    assert "head.batch_layers.0.T" in changed and "head.out.weight" in changed


def test_float32_linear_keeps_data_coordinates_exact_under_bf16_autocast():
    """G's output and D's input layers of the MLPs: bf16 would round 4.01 to 4.0 (steps of
    0.016 there), a third of a grid mode's std."""
    from torch import nn

    from gankit.models.layers import Float32Linear

    torch.manual_seed(0)
    layer, plain = Float32Linear(3, 2), nn.Linear(3, 2)
    plain.load_state_dict(layer.state_dict())  # the same keys as nn.Linear
    x = torch.randn(5, 3) + 4.0
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, rounded = layer(x), plain(x)
    assert out.dtype == torch.float32 and rounded.dtype == torch.bfloat16
    torch.testing.assert_close(out, plain(x), rtol=0, atol=1e-6)
