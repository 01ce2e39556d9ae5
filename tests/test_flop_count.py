"""The throughput benchmark's count of a step's work and its grouping of the step's time
(benchmarks/step_limit.py, issue 30): FLOP as torch's counter reports them must match the closed
forms the step's fraction of the machine's peak is read against, and every profiled operator
must land in the kind of work it does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

_SPEC = importlib.util.spec_from_file_location(
    "step_limit", Path(__file__).parents[1] / "benchmarks" / "step_limit.py")
step_limit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(step_limit)


def conv_flop(n: int, c_in: int, c_out: int, h_out: int, w_out: int, k: int) -> int:
    """A convolution's forward FLOP: one multiply-add (2 FLOP) per weight per output pixel."""
    return 2 * n * c_out * h_out * w_out * c_in * k * k


def test_conv_forward_matches_closed_form():
    x, w = torch.randn(8, 3, 16, 16), torch.randn(5, 3, 4, 4)
    counted = step_limit.counted_flop(lambda: F.conv2d(x, w, stride=2, padding=1))
    assert counted == conv_flop(8, 3, 5, 8, 8, 4)


@pytest.mark.parametrize("input_grad", [True, False])
def test_conv_backward_counts_each_gradient_as_a_forward(input_grad):
    """Backward computes the weight gradient, and the input gradient where the input needs
    one (D's first layer on real images does not): each costs one forward."""
    x = torch.randn(4, 6, 14, 14, requires_grad=input_grad)
    w = torch.randn(7, 6, 3, 3, requires_grad=True)

    def step() -> None:
        F.conv2d(x, w, padding=1).sum().backward()

    passes = 3 if input_grad else 2
    assert step_limit.counted_flop(step) == passes * conv_flop(4, 6, 7, 14, 14, 3)


def test_transposed_conv_counts_its_input_pixels():
    """A transposed convolution scatters every input pixel through the whole kernel: the same
    multiply-adds as the stride-2 convolution it inverts (G's layers mirror D's)."""
    x, w = torch.randn(2, 8, 7, 7), torch.randn(8, 4, 4, 4)
    counted = step_limit.counted_flop(lambda: F.conv_transpose2d(x, w, stride=2, padding=1))
    assert counted == conv_flop(2, 4, 8, 7, 7, 4)


def test_linear_matches_closed_form():
    layer = nn.Linear(100, 30)
    x = torch.randn(16, 100)
    assert step_limit.counted_flop(lambda: layer(x)) == 2 * 16 * 100 * 30
    assert step_limit.counted_flop(lambda: layer(x).sum().backward()) == 2 * 2 * 16 * 100 * 30


def test_elementwise_work_counts_nothing():
    x = torch.randn(64, 64, 14, 14)
    bn = nn.BatchNorm2d(64)
    assert step_limit.counted_flop(lambda: torch.relu(bn(x)) * 2 + 1) == 0


@pytest.mark.parametrize(("name", "ancestors", "kind"), [
    ("aten::convolution_backward", (), "conv/matmul"),
    ("aten::_convolution", (), "conv/matmul"),  # a transposed convolution's compute
    ("aten::mkldnn_convolution", (), "conv/matmul"),
    ("aten::addmm", (), "conv/matmul"),
    ("aten::mm", (), "conv/matmul"),
    ("aten::native_batch_norm_backward", (), "batch norm"),
    ("aten::leaky_relu_backward", (), "elementwise/activations"),
    ("aten::binary_cross_entropy_with_logits", (), "elementwise/activations"),
    ("aten::copy_", (), "casts/copies"),
    ("aten::_fused_adam_", ("Optimizer.step#Adam.step",), "optimizer"),
    ("aten::add_", ("aten::foreach", "Optimizer.step#Adam.step"), "optimizer"),
    ("Optimizer.zero_grad#Adam.zero_grad", (), "optimizer"),
    ("aten::index", (), "data/other"),
    ("aten::empty", (), "data/other"),
    ("autograd::engine::evaluate_function: ConvolutionBackward0", (), "data/other"),
    ("aten::add_", (), "elementwise/activations"),
])
def test_kind_of(name, ancestors, kind):
    assert step_limit.kind_of(name, ancestors) == kind


def test_time_shares_cover_a_step():
    """A small conv + batch norm + ReLU step with Adam: each kind it does shows up, and the
    shares of the profiled wall time add up to one."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                        nn.Flatten(), nn.Linear(16 * 8 * 8, 1))
    optimizer = torch.optim.Adam(net.parameters())
    x = torch.randn(8, 3, 8, 8)

    def step() -> None:
        optimizer.zero_grad()
        net(x).square().mean().backward()
        optimizer.step()

    step()
    record = step_limit.time_shares(step, steps=2)
    assert set(record["shares"]) == set(step_limit.KINDS)
    assert sum(record["shares"].values()) == pytest.approx(1.0)
    for kind in ("conv/matmul", "batch norm", "elementwise/activations", "optimizer"):
        assert record["shares"][kind] > 0, kind
    assert record["step_ms"] > 0
