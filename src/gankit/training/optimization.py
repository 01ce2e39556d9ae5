"""The optimizers a run steps and its learning-rate schedule.

One optimizer per recipe phase, with the phase's own learning rate (TTUR, Heusel et al. 2017);
the schedules are pure functions of the step (constant, then a linear or cosine decay from
``train.lr_decay_from``: :func:`decay_weight`), so a resumed run needs no scheduler state. The
same decay moves the learning rates (to ``train.lr_final`` times their start), Adam's beta2 (to
``train.beta2_final``) and a recipe's own values (R3GAN's gamma), as R3GAN's training does with
its cosine schedules (Huang et al. 2024, Sec. 4 and their code's schedulers).
"""

from __future__ import annotations

import logging
import math
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


def decay_weight(step: int, train: TrainConfig) -> float:
    """How much of the decay is left at ``step`` (0-based: the steps already trained): 1 until
    ``train.lr_decay_from`` of the schedule's length, then down toward 0 at the end by
    ``train.decay_shape``, with t the fraction of the decay done: 1 - t (linear) or
    (1 + cos(pi t)) / 2 (cosine). The length is ``train.steps`` or, after going on at the final
    rate, ``train.lr_schedule_steps``; past it, the weight of its last step (the value the run
    ended on). The last step has t = 1 - 1 / (length - decay start), so a linear decay to 0
    trains its last step at 1 / (length - decay start) of the rate, not at 0."""
    length = train.lr_schedule_steps or train.steps
    step = min(step, length - 1)
    start = train.lr_decay_from * length
    if train.lr_decay_from >= 1 or step < start:
        return 1.0
    left = (length - step) / max(length - start, 1.0)  # 1 - t
    if train.decay_shape == "cosine":
        return (1.0 - math.cos(math.pi * left)) / 2  # (1 + cos(pi t)) / 2
    return max(0.0, left)


def scheduled(first: float, final: float | None, step: int, train: TrainConfig) -> float:
    """A value that goes from ``first`` to ``final`` by the run's decay (:func:`decay_weight`);
    ``final`` None: constant."""
    if final is None:
        return first
    return final + (first - final) * decay_weight(step, train)


def lr_factor(step: int, train: TrainConfig) -> float:
    """Learning-rate multiplier of ``step``: 1, then decaying to ``train.lr_final``."""
    return scheduled(1.0, train.lr_final, step, train)


def beta2(step: int, train: TrainConfig) -> float:
    """Adam's beta2 at ``step``: ``train.beta2``, moving to ``train.beta2_final`` if set."""
    return scheduled(train.beta2, train.beta2_final, step, train)


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
    return (f"train.steps {old} -> {new} stretches the learning-rate schedule: the "
            f"{train.decay_shape} decay (lr_decay_from {start}) now starts at step "
            f"{start * new:.0f} instead of {start * length:.0f}, so the learning rates (and "
            f"any scheduled beta2 or gamma) move back; to keep the schedule and train on at "
            f"its final rate: fit(on_extend=\"final_lr\") or --continue-at-final-lr")
