r"""Batch-norm population statistics recomputed for one kind of input ("precise BN").

A GAN's D normalizes each batch by that batch's own mean and variance in training, and its real
and generated batches come separately. Its running averages (momentum 0.1) are then a mix of
real and generated statistics from the last ten or so batches of a game that is still moving,
so D in eval mode is a network it never was in training, and one that differs from step to
step. Reading real examples through D (InfoGAN's Q as a classifier of real digits) is faithful
with the statistics D used for real batches: their population values, recomputed with the
weights fixed (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm", Sec. 3, precise BN).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


class _ProcessBatchNorm(_BatchNorm):
    """Batch norm over this process's batch only. A :class:`torch.nn.SyncBatchNorm` in the
    copy becomes one: in training mode it would wait for the other processes of a torchrun
    job, and the statistics are recomputed on one process (rank 0's evaluation)."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input, got {input.dim()}D")


def with_population_statistics(module: nn.Module, batches: Iterable[Tensor]) -> nn.Module:
    """A copy of ``module`` in eval mode whose batch-norm layers hold the mean and variance of
    their inputs over ``batches`` (equal-weight averages of the per-batch values, the unbiased
    variance as torch keeps it); its weights, and ``module`` itself, unchanged. Only the
    batch-norm layers run in training mode for this, so nothing else (a spectral norm's power
    iteration, dropout) moves. A module without batch norm comes back as an eval-mode copy."""
    twin = copy.deepcopy(module).eval()
    norms = [m for m in twin.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    for norm in norms:
        if isinstance(norm, nn.SyncBatchNorm):
            norm.__class__ = _ProcessBatchNorm  # same parameters and buffers, no collectives
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average over the batches
        norm.train()
    if norms:
        with torch.no_grad():
            for batch in batches:
                twin(batch)
    for norm in norms:
        norm.eval()
    return twin
