"""Precise BN: a copy of a network with its batch-norm statistics recomputed over given
batches, against the batches' own means and variances; the original and other layers kept."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.models.batch_statistics import with_population_statistics


def test_statistics_are_the_averages_of_the_batches_means_and_variances():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    batches = [torch.randn(16, 3, generator=torch.Generator().manual_seed(i)) * (i + 1)
               for i in range(3)]
    twin = with_population_statistics(net, batches)
    with torch.no_grad():
        hidden = [net[0](b) for b in batches]
    mean = torch.stack([h.mean(0) for h in hidden]).mean(0)
    var = torch.stack([h.var(0, unbiased=True) for h in hidden]).mean(0)
    assert torch.allclose(twin[1].running_mean, mean, atol=1e-5)
    assert torch.allclose(twin[1].running_var, var, rtol=1e-4)
    assert not twin.training
    assert torch.equal(net[1].running_mean, torch.zeros(4))  # the original is untouched
    assert torch.equal(net[1].running_var, torch.ones(4))


def test_only_batch_norm_runs_in_training_mode():
    net = nn.Sequential(spectral_norm(nn.Linear(3, 4)), nn.BatchNorm1d(4), nn.Dropout(0.5))
    u = net[0].parametrizations.weight[0]._u.clone()
    twin = with_population_statistics(net, [torch.randn(8, 3)])
    assert torch.equal(twin[0].parametrizations.weight[0]._u, u)  # no power iteration
    x = torch.randn(5, 3)
    assert torch.equal(twin(x), twin(x))  # dropout off, statistics fixed


def test_a_network_without_batch_norm_comes_back_as_an_eval_copy():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    twin = with_population_statistics(net, [torch.randn(4, 2)])
    assert twin is not net and not twin.training and net.training
    x = torch.randn(3, 2)
    assert torch.equal(twin(x), net.eval()(x))


def test_sync_batch_norm_is_recomputed_without_the_process_group(monkeypatch):
    """Rank 0 evaluates alone: a SyncBatchNorm in training mode would wait for the others (here,
    as if in a job of two, it would raise on the CPU)."""
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda group=None: 2)
    net = nn.Sequential(nn.Linear(3, 4), nn.SyncBatchNorm(4))
    batches = [torch.randn(16, 3), torch.randn(16, 3)]
    twin = with_population_statistics(net, batches)
    plain = with_population_statistics(nn.Sequential(net[0], nn.BatchNorm1d(4)), batches)
    assert torch.allclose(twin[1].running_mean, plain[1].running_mean)
    assert torch.allclose(twin[1].running_var, plain[1].running_var)
    assert isinstance(net[1], nn.SyncBatchNorm)  # the original keeps its kind
