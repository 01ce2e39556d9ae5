"""The optimizers a run steps and its learning-rate schedule.

One optimizer per recipe phase, with the phase's own learning rate (TTUR, Heusel et al. 2017);
the schedule is a pure function of the step (constant, then linear to 0 from
``train.lr_decay_from``), so a resumed run needs no scheduler state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from gankit.configuration.schema import Config, TrainConfig
from gankit.errors import GankitError

if TYPE_CHECKING:
    from gankit.recipes.base import OptimizerSpec

# Where a note of the schedule goes (extend_schedule): silent for API users unless they
# configure logging; the CLI prints gankit's info lines as "gankit: ..." on stderr.
log = logging.getLogger(__name__)


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
    """Learning-rate multiplier of ``step`` (0-based: the steps already trained): 1, then
    linear to 0 from ``train.lr_decay_from`` over the schedule's length, ``train.steps`` or,
    after going on at the final rate, ``train.lr_schedule_steps``; past that length, the
    multiplier of its last step, 1 / (length - decay start) for a schedule that decays to 0
    (the rate the run ended on, not 0)."""
    length = train.lr_schedule_steps or train.steps
    step = min(step, length - 1)
    start = train.lr_decay_from * length
    if train.lr_decay_from >= 1 or step < start:
        return 1.0
    return max(0.0, (length - step) / max(length - start, 1.0))


def extend_schedule(train: TrainConfig, step: int, old: int, new: int) -> str | None:
    """A run at ``step`` goes on from ``train.steps`` ``old`` to ``new``: set ``train.steps``
    and, by ``train.on_extend``, the schedule's length. "stretch" spans the schedule over the
    new length; "final_lr" keeps the length the schedule had and trains on at its last rate
    (:func:`lr_factor`). A constant schedule is the same either way.

    Returns the one line worth saying, or None. Both choices are runs the user asked for
    (config.yaml and the checkpoints record the key), so only the one that changes rates
    already used says anything: the default stretch of a decay that had begun, whose learning
    rates rise again. The caller says it where training goes on (:data:`log`, an info line
    the CLI prints), never on a restore to sample or evaluate."""
    length = train.lr_schedule_steps or old
    train.steps = new
    train.lr_schedule_steps = length if train.on_extend == "final_lr" else 0
    start = train.lr_decay_from
    if train.on_extend == "final_lr" or start >= 1 or old == new or step <= start * length:
        return None  # asked for, constant, or the decay not begun: the rates used stay
    return (f"train.steps {old} -> {new} stretches the learning-rate schedule: the linear "
            f"decay (lr_decay_from {start}) now starts at step {start * new:.0f} instead of "
            f"{start * length:.0f}, so the learning rates rise again; to keep the schedule "
            f"and train on at its final rate: fit(on_extend=\"final_lr\") or "
            f"--continue-at-final-lr")
