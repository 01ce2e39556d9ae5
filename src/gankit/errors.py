"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""

from __future__ import annotations

import signal
from pathlib import Path


class GankitError(Exception):
    """Base class: anything the user can fix by changing input, config or files."""


class ConfigError(GankitError, ValueError):
    """A config key, type or value is not allowed; the message names it and what is allowed."""


class CheckpointError(GankitError):
    """A checkpoint is missing, damaged or does not match the run it is loaded into."""


class NonFiniteLossError(GankitError):
    """Training produced NaN or inf; the message names the step and the last good checkpoint."""


class TrainingInterrupted(GankitError):
    """SIGINT/SIGTERM arrived; a checkpoint of the last finished step was saved first."""

    def __init__(self, signum: int, step: int, checkpoint: Path | None) -> None:
        self.signum = signum
        where = f"checkpoint saved to {checkpoint}" if checkpoint else "no run directory to save to"
        super().__init__(f"interrupted by {signal.Signals(signum).name} at step {step}; {where}")
