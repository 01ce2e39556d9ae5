"""The optimizers a run steps and its learning-rate schedule.

One optimizer per recipe phase, with the phase's own learning rate (TTUR, Heusel et al. 2017);
the schedule is a pure function of the step (constant, then linear to 0 from
``train.lr_decay_from``), so a resumed run needs no scheduler state.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from gankit.configuration.schema import Config, TrainConfig


def build_optimizer(params: list[Tensor], lr: float, config: Config) -> torch.optim.Optimizer:
    train = config.train
    if train.optimizer == "rmsprop":  # the WGAN paper's choice (Arjovsky et al. 2017, Alg. 1)
        return torch.optim.RMSprop(params, lr=lr)
    # fused: one kernel for all parameters' moment and weight updates (CPU and CUDA)
    return torch.optim.Adam(params, lr=lr, betas=(train.beta1, train.beta2), fused=True)


def lr_factor(step: int, train: TrainConfig) -> float:
    """Learning-rate multiplier of ``step``: 1, then linear to 0 (``train.lr_decay_from``)."""
    start = train.lr_decay_from * train.steps
    if train.lr_decay_from >= 1 or step < start:
        return 1.0
    return max(0.0, (train.steps - step) / max(train.steps - start, 1.0))


def note_stretch(train: TrainConfig, step: int, old: int, new: int) -> None:
    """Warn when a new ``train.steps`` moves the learning-rate decay: the run (now at ``step``)
    goes on, but it is no longer the run that a ``new``-step config trains from the start."""
    start = train.lr_decay_from
    if start >= 1 or old == new:
        return  # constant learning rates: N + N steps equal 2N straight, bit for bit
    begun = (f"; the decay had begun at step {start * old:.0f}, so the learning rates "
             f"rise again" if step > start * old else "")
    warnings.warn(f"train.steps {old} -> {new} stretches the learning-rate schedule: "
                  f"the linear decay (lr_decay_from {start}) now starts at step "
                  f"{start * new:.0f} instead of {start * old:.0f}{begun}", stacklevel=3)
