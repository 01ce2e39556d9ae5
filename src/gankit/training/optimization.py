"""The optimizers a run steps and its learning-rate schedule.

One optimizer per recipe phase, with the phase's own learning rate (TTUR, Heusel et al. 2017);
the schedule is a pure function of the step (constant, then linear to 0 from
``train.lr_decay_from``), so a resumed run needs no scheduler state.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config, TrainConfig
from gankit.errors import GankitError

if TYPE_CHECKING:
    from gankit.recipes.base import OptimizerSpec


def build_optimizer(params: list[Tensor], lr: float, config: Config) -> torch.optim.Optimizer:
    train = config.train
    if train.optimizer == "rmsprop":  # the WGAN paper's choice (Arjovsky et al. 2017, Alg. 1)
        return torch.optim.RMSprop(params, lr=lr)
    # fused: one kernel for all parameters' moment and weight updates (CPU and CUDA)
    return torch.optim.Adam(params, lr=lr, betas=(train.beta1, train.beta2), fused=True)


def build_optimizers(specs: Mapping[str, OptimizerSpec], nets: nn.ModuleDict,
                     config: Config) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per recipe optimizer spec, over the parameters of its networks."""
    optimizers = {}
    for name, spec in specs.items():
        if not (params := parameters(nets, spec.networks)):
            raise GankitError(f"optimizer {name!r} has nothing to train: networks "
                              f"{', '.join(spec.networks)} have no parameters")
        optimizers[name] = build_optimizer(params, spec.lr, config)
    return optimizers


def parameters(nets: nn.ModuleDict, names: Sequence[str]) -> list[Tensor]:
    """The parameters of the networks ``names``, in order."""
    return [p for name in names for p in nets[name].parameters()]


def lr_factor(step: int, train: TrainConfig) -> float:
    """Learning-rate multiplier of ``step``: 1, then linear to 0 (``train.lr_decay_from``)."""
    start = train.lr_decay_from * train.steps
    if train.lr_decay_from >= 1 or step < start:
        return 1.0
    return max(0.0, (train.steps - step) / max(train.steps - start, 1.0))


def note_stretch(train: TrainConfig, step: int, old: int, new: int, stacklevel: int = 3) -> None:
    """Warn when a new ``train.steps`` moves the learning-rate decay: the run (now at ``step``)
    goes on, but it is no longer the run that a ``new``-step config trains from the start;
    ``stacklevel`` as :func:`warnings.warn` counts from the caller's caller."""
    start = train.lr_decay_from
    if start >= 1 or old == new:
        return  # constant learning rates: N + N steps equal 2N straight, bit for bit
    begun = (f"; the decay had begun at step {start * old:.0f}, so the learning rates "
             f"rise again" if step > start * old else "")
    warnings.warn(f"train.steps {old} -> {new} stretches the learning-rate schedule: "
                  f"the linear decay (lr_decay_from {start}) now starts at step "
                  f"{start * new:.0f} instead of {start * old:.0f}{begun}", stacklevel=stacklevel)
