"""SIGINT and SIGTERM as one exception, raised once, that no ``except Exception`` swallows.

Python's own handling is uneven: SIGINT raises ``KeyboardInterrupt`` wherever the program is
(a traceback, and a second Ctrl-C during cleanup raises again inside it), SIGTERM kills the
process without a word. gankit's handler instead raises :class:`Interrupted` at the first
signal and ignores every later one, so the unwinding (removing a half-written temporary file,
closing the logs) always finishes and the CLI ends with one line and status 128 + signal.

The trainer defers the first signal to the end of the step it interrupts (:func:`deferred`),
so that it can checkpoint a finished step; a second signal then stops at once, abandoning the
step (and a checkpoint being written, whose temporary directory is removed). Finished
checkpoints are never touched either way.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A SIGINT or SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that library
    code catching ``Exception`` lets it through."""

    def __init__(self, signum: int, detail: str = "") -> None:
        self.signum = signum
        self.detail = detail
        super().__init__(signum, detail)

    def __str__(self) -> str:
        name = signal.Signals(self.signum).name
        return f"interrupted by {name}" + (f" {self.detail}" if self.detail else "")


class _State:
    """Process-wide: signal handlers are process-wide too."""

    raised: int | None = None  # the signal already raised as Interrupted: ignore later ones
    deferring = False  # inside deferred(): the first signal waits for the block to end
    pending: int | None = None  # that deferred first signal
    outstanding: int | None = None  # a signal waiting to be delivered again (see _importing)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _State.raised is not None:
        return  # already stopping: the unwinding must finish, whatever else arrives
    if _State.deferring and _State.pending is None:
        _State.pending = signum
        return
    if _importing(frame):
        _State.outstanding = signum
        # An exception raised into an import is not safe: compile() of a module without its
        # .pyc drops it and carries on (the signal is lost), and a C extension's
        # initialization turns it into an ImportError, a RecursionError or an abort. So the
        # signal is delivered again a moment later, until it lands outside the imports.
        threading.Timer(0.01, os.kill, (os.getpid(), signum)).start()
        return
    _State.raised = _State.pending or signum
    _State.outstanding = None
    raise Interrupted(_State.raised)


def _importing(frame: FrameType | None) -> bool:
    """Whether the import system is on the stack of ``frame``."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def install() -> dict[int, Any]:
    """Handle SIGINT and SIGTERM as above (main thread only); returns the previous handlers
    for :func:`restore`. Starts afresh: an interruption caught earlier is forgotten."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _State.raised = _State.pending = _State.outstanding = None
    _State.deferring = False
    return {signum: signal.signal(signum, _handle) for signum in SIGNALS}


def restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def ignore_from_now() -> int | None:
    """The outcome is decided: a signal arriving from now on changes nothing. Returns a signal
    that arrived but was never delivered (the work ended inside imports while it waited)."""
    _State.raised = _State.raised or 0
    return _State.outstanding


def ignore_while_exiting() -> None:
    """For the process's last moments: Python resets its handlers to the default (death by
    the signal, status -N) while it shuts down, but leaves ignored signals ignored."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


@contextmanager
def deferred() -> Iterator[None]:
    """A first signal inside the block is only recorded (see :func:`raise_pending`). Nests: an
    inner block (a file's rename inside a training step) leaves the outer one deferring."""
    outer = _State.deferring
    _State.deferring = True
    try:
        yield
    finally:
        _State.deferring = outer


def raise_pending() -> None:
    """Raise :class:`Interrupted` for a signal that :func:`deferred` held back, if any."""
    if _State.pending is not None and _State.raised is None:
        _State.raised = _State.pending
        raise Interrupted(_State.pending)
