"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""

from __future__ import annotations

from pathlib import Path

from gankit.training.interrupts import Interrupted


class GankitError(Exception):
    """Base class: anything the user can fix by changing input, config or files."""


class ConfigError(GankitError, ValueError):
    """A config key, type or value is not allowed; the message names it and what is allowed."""


class CheckpointError(GankitError):
    """A checkpoint is missing, damaged or does not match the run it is loaded into."""


class NonFiniteLossError(GankitError):
    """Training produced NaN or inf; the message names the step and the last good checkpoint."""

    def __init__(self, what: str, last_good: Path | None) -> None:
        self.what = what  # "non-finite loss in phase 'd' at step 7 (d_loss=nan)"
        super().__init__(f"{what}; last good checkpoint: {last_good or 'none'}")


class DamagedCheckpoint(CheckpointError):
    """A checkpoint's files are missing, unreadable or fail validation: a resume skips it for
    an older intact one (a checkpoint that does not *match* the model is not skipped)."""


class TrainingInterrupted(Interrupted):
    """SIGINT/SIGTERM stopped training; names the newest finished checkpoint (saved at the last
    finished step unless a second signal cut that save short)."""

    def __init__(self, signum: int, step: int, checkpoint: Path | None, saved: bool) -> None:
        if checkpoint is None:
            where = "no checkpoint written"
        else:
            where = f"checkpoint {'saved to' if saved else 'kept:'} {checkpoint}"
        super().__init__(signum, f"at step {step}; {where}")
