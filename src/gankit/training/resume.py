"""How a trainer saves, rolls back and resumes: the checkpoint side of :class:`Trainer`.

:meth:`Trainer.save`, :meth:`Trainer.state` and :meth:`Trainer.restore` are these functions;
the loop calls :func:`roll_back` on a non-finite loss. They read and write the trainer's own
fields (step, optimizers, random streams, rollback bookkeeping); what a checkpoint holds and
how each part goes back in is :mod:`gankit.training.run_state`.

Under ``train.precision: auto`` the checkpoint records the precision the run trained in, and a
resume keeps it rather than probe the hardware again. Under torch.distributed only rank 0
writes. Weights that are no longer finite are never saved, so the newest checkpoint is always
one to go back to.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gankit import __version__
from gankit.errors import NonFiniteLossError
from gankit.training import run_state
from gankit.training.best import listed_paths
from gankit.training.checkpoint import (
    checkpoint_dir,
    latest_intact_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from gankit.training.hardware import agreed_precision, resumed_precision
from gankit.training.optimization import extend_schedule

if TYPE_CHECKING:
    from gankit.training.trainer import Trainer


def state(trainer: Trainer) -> run_state.State:
    """Everything needed to continue: (tensors for safetensors, plain data for JSON)."""
    tensors, optimizers = run_state.network_state(trainer.recipe.nets, trainer.optimizers)
    tensors["rng.generator"] = trainer.rng.get_state()
    tensors |= trainer.global_rng.states()
    plain = {"step": trainer.step, "elapsed": trainer.elapsed, "gankit_version": __version__,
             "config": trainer.config.to_dict(), "device": trainer.device.type,
             "optimizers": optimizers,
             "optimizer_types": {k: type(v).__name__ for k, v in trainer.optimizers.items()},
             "lr_scale": trainer.lr_scale, "rollbacks": trainer.rollbacks,
             "precision": trainer.precision.precision}
    if trainer.stream is not None:  # where a streamed data set's epoch has got to
        plain["data_stream"] = trainer.stream.state()
    if trainer.config_name is not None:  # what gankit runs names the run's config by
        plain["config_name"] = trainer.config_name
    if trainer.resumed_from is not None:  # carried from checkpoint to checkpoint
        plain["resumed_from"] = trainer.resumed_from
    return tensors, plain


def last_good(trainer: Trainer) -> Path | None:
    """The newest checkpoint that verifies: the one an error tells the user to go back to."""
    return latest_intact_checkpoint(trainer.run_dir) if trainer.run_dir is not None else None


def save(trainer: Trainer) -> Path | None:
    """Checkpoint the current step (rank 0 only); keeps the newest ``keep_checkpoints`` and
    those the best list holds (:mod:`gankit.training.best`).

    Weights that are no longer finite are never saved: the run stops (or rolls back)
    instead, naming the last good checkpoint, so that one stays the newest. Under
    ``on_nonfinite: rollback`` the saved state is also kept in memory as the rollback
    target (with or without a run directory).
    """
    bad = [name for name, p in trainer.recipe.nets.named_parameters()
           if not torch.isfinite(p).all()]
    if bad:  # checked on every rank, so that all of them stop together
        raise NonFiniteLossError(f"non-finite weights ({bad[0]}) after step {trainer.step}",
                                 last_good(trainer))
    if trainer.config.train.on_nonfinite == "rollback":
        trainer.rollback_target = run_state.copy_state(trainer.state())
    if trainer.run_dir is None or not trainer.is_main:
        return None
    tensors, plain = trainer.state()
    path = save_checkpoint(checkpoint_dir(trainer.run_dir, trainer.step), tensors, plain)
    trainer.saved_step = trainer.step
    prune_checkpoints(trainer.run_dir, trainer.config.train.keep_checkpoints,
                      listed_paths(trainer.run_dir))
    return path


def roll_back(trainer: Trainer, err: NonFiniteLossError) -> None:
    """``train.on_nonfinite: rollback``: back to the last good state (the newest checkpoint,
    or the start of this fit), learning rates times ``rollback_lr_factor``; ``err`` again
    under ``stop`` or after ``max_rollbacks``."""
    train = trainer.config.train
    if train.on_nonfinite != "rollback" or trainer.rollback_target is None:
        raise err
    if trainer.rollbacks >= train.max_rollbacks:
        raise NonFiniteLossError(f"{err.what}; gave up after {trainer.rollbacks} rollback(s) "
                                 f"(train.max_rollbacks)", last_good(trainer)) from None
    rollbacks, lr_scale = trainer.rollbacks + 1, trainer.lr_scale * train.rollback_lr_factor
    tensors, plain = trainer.rollback_target
    apply_state(trainer, "the last good state", {k: v.clone() for k, v in tensors.items()},
                plain)
    trainer.rollbacks, trainer.lr_scale = rollbacks, lr_scale
    warnings.warn(f"{err.what}: rolled back to step {trainer.step}, learning rates "
                  f"x{lr_scale:g} (rollback {rollbacks} of {train.max_rollbacks})", stacklevel=2)
    trainer.log({"train/rollbacks": float(rollbacks), "train/lr_scale": lr_scale})


def restore(trainer: Trainer, path: Path) -> None:
    """Load a checkpoint written by :func:`save` into ``trainer``: every field is validated
    first (:class:`DamagedCheckpoint`), then the run must match the model."""
    tensors, plain = load_checkpoint(path)
    run_state.validate(path, tensors, plain, trainer.device, trainer.rng, trainer.optimizers)
    apply_state(trainer, f"checkpoint {path}", tensors, plain)
    trainer.saved_step = trainer.step
    if isinstance(plain.get("config_name"), str):  # kept by every checkpoint the run goes on to
        trainer.config_name = plain["config_name"]
    if "precision" in plain:  # older checkpoints: this start's choice, as it was
        _resume_precision(trainer, path, plain["precision"])
    train = trainer.config.train
    saved_steps = plain["config"].get("train", {}).get("steps")
    if isinstance(saved_steps, int) and saved_steps < train.steps:
        # applied now, so that sampling sees the run's schedule; said only if training goes on
        trainer.schedule_note = extend_schedule(train, trainer.step, saved_steps, train.steps)


def _resume_precision(trainer: Trainer, path: Path, recorded: str) -> None:
    """Continue in the precision the checkpoint trained in (``train.precision: auto``), so
    that the resumed run is the run it continues; one warning where the hardware forces
    another (:func:`gankit.training.hardware.resumed_precision`), given when training goes
    on (a run loaded to sample trains in neither)."""
    choice = agreed_precision(resumed_precision(trainer.precision, recorded, trainer.device),
                              trainer.world_size, trainer.device)
    if choice.requested == "auto" and choice.precision != recorded:
        trainer.precision_note = (f"checkpoint {path} trained in {recorded}; continuing in "
                                  f"{choice.precision}: {choice.reason}")
    trainer.precision, trainer.autocast_dtype = choice, choice.autocast_dtype


def apply_state(trainer: Trainer, source: str, tensors: dict[str, Tensor],
                plain: dict[str, Any]) -> None:
    """Put a validated state (a checkpoint's, or the rollback target) into ``trainer``."""
    run_state.load_networks(source, tensors, plain, trainer.recipe.nets, trainer.optimizers)
    trainer.global_rng.replace(
        run_state.load_streams(source, tensors, plain, trainer.device, trainer.rng))
    trainer.step = int(plain["step"])
    trainer.elapsed = float(plain.get("elapsed", 0.0))
    trainer.lr_scale = float(plain.get("lr_scale", 1.0))
    trainer.rollbacks = int(plain.get("rollbacks", 0))
    trainer.resumed_from = plain.get("resumed_from")
    if trainer.stream is not None and "data_stream" in plain:
        trainer.stream.seek(plain["data_stream"])
