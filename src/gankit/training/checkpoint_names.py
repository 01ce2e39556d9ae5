"""A checkpoint folder's name, ``step-0001500``, read back in one place and without torch, so
that the trainer, the checkpoint choice, ``gankit runs`` and the shell completion agree on
which folders are a run's checkpoints (``step-²`` is none: its digit is no ASCII one)."""

from __future__ import annotations

from pathlib import Path


def step_of(path: str | Path) -> int | None:
    """The step of a folder named ``step-N`` (N in ASCII digits), else None."""
    name = Path(path).name
    number = name.removeprefix("step-")
    if number == name or not (number.isascii() and number.isdigit()):
        return None
    return int(number)
