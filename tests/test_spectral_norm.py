"""Our spectral normalization against the largest singular value and against torch's own."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.models.spectral_norm import spectral_norm


def normalized_weight(layer: nn.Linear) -> torch.Tensor:
    return layer.weight.detach().clone()  # the parametrization recomputes it on access


def test_power_iteration_finds_the_largest_singular_value():
    torch.manual_seed(0)
    layer = spectral_norm(nn.Linear(7, 5))
    x = torch.randn(3, 7)
    for _ in range(100):  # one power iteration per training forward pass
        layer(x)
    w = layer.parametrizations.weight.original.detach()
    sigma = torch.linalg.matrix_norm(w, ord=2).item()
    torch.testing.assert_close(normalized_weight(layer), w / sigma, rtol=1e-4, atol=1e-6)
    assert torch.linalg.matrix_norm(normalized_weight(layer), ord=2).item() == pytest.approx(
        1.0, rel=1e-4)


def test_matches_torchs_spectral_norm():
    torch.manual_seed(1)
    ours = spectral_norm(nn.Linear(6, 4))
    theirs = nn.utils.parametrizations.spectral_norm(nn.Linear(6, 4))
    with torch.no_grad():
        theirs.parametrizations.weight.original.copy_(ours.parametrizations.weight.original)
        theirs.bias.copy_(ours.bias)
    x = torch.randn(5, 6)
    for _ in range(60):
        ours(x), theirs(x)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)


def test_one_step_from_the_same_u_equals_torchs():
    """Before convergence too, step for step. torch keeps v and iterates u <- Wv, v <- W^T u;
    we keep u and iterate v <- W^T u, u <- W v, v <- W^T u: the same sequence, so torch's
    state v = normalize(W^T u) gives the same sigma at every step."""
    torch.manual_seed(2)
    ours = spectral_norm(nn.Conv2d(3, 8, 4))
    theirs = nn.utils.parametrizations.spectral_norm(nn.Conv2d(3, 8, 4))
    with torch.no_grad():
        theirs.parametrizations.weight.original.copy_(ours.parametrizations.weight.original)
        theirs.bias.copy_(ours.bias)
        u = ours.parametrizations.weight[0].u
        w = ours.parametrizations.weight.original.flatten(1)
        theirs.parametrizations.weight[0]._v.copy_(torch.nn.functional.normalize(w.T @ u, dim=0))
    x = torch.randn(2, 3, 9, 9)
    for _ in range(3):  # each forward: one iteration from the shared state, then sigma
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(ours.parametrizations.weight[0].u,
                                   theirs.parametrizations.weight[0]._u)


def test_eval_mode_keeps_the_estimate_and_gradients_reach_the_weight():
    torch.manual_seed(2)
    layer = spectral_norm(nn.Linear(3, 3))
    u = layer.parametrizations.weight[0].u.clone()
    layer.eval()
    layer(torch.randn(2, 3))
    assert torch.equal(u, layer.parametrizations.weight[0].u)
    layer.train()
    layer(torch.randn(2, 3)).sum().backward()
    assert layer.parametrizations.weight.original.grad.abs().sum() > 0


def test_spectrally_normalized_discriminator(make_run):
    run = make_run(model={"spectral_norm": True}, loss={"name": "hinge"}, train={"steps": 3})
    D = run.recipe.nets["D"]
    linears = [m for m in D.modules() if isinstance(m, nn.Linear)]
    assert linears and all(hasattr(m, "parametrizations") for m in linears)
    run.fit()
    for layer in linears:  # after training, each normalized layer has spectral norm close to 1
        assert torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item() < 1.3
