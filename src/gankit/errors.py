"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""


class GankitError(Exception):
    """Base class: anything the user can fix by changing input, config or files."""


class ConfigError(GankitError, ValueError):
    """A config key, type or value is not allowed; the message names it and what is allowed."""


class CheckpointError(GankitError):
    """A checkpoint is missing, damaged or does not match the run it is loaded into."""


class NonFiniteLossError(GankitError):
    """Training produced NaN or inf; the message names the step and the last good checkpoint."""
