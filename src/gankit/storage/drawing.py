"""Pictures drawn beside training: a snapshot hands what it draws to one worker process, so
matplotlib's drawing runs on another core while the steps go on.

A :class:`Drawing` is a plain function of plain data (numpy arrays, numbers, strings) that
writes one PNG. :func:`draw_later` sends it to the worker and returns a
:class:`~concurrent.futures.Future` of the PNG's bytes; :func:`draw_now` draws it here, the
same way, for ``train.draw_in_background: false`` and for what the worker cannot take.

Why a process and not a thread: drawing a figure is Python code holding the GIL for most of its
time, and a small network's training step needs the GIL between its kernels, so a drawing
thread slowed the steps about as much as drawing inline did (measured for issue 29). The worker
imports matplotlib and numpy, never torch, so it starts in about half a second. The browser
view's workers (:mod:`gankit.view.workers`) are another kind: they hold a copy of the networks
and compute with torch; a Drawing needs no networks, its data is computed already.

- The worker draws in order. A drawing whose file a later one in its queue writes again
  (``training.png``, redrawn at every snapshot) is skipped: its future's result is None, and
  only the newest is drawn. Sample pictures name their step and are all drawn.
- A drawing that fails in the worker raises :class:`DrawingFailed` from its future, with the
  worker's traceback. A worker that dies or cannot start leaves its drawings to be drawn here
  by :func:`result` (one warning), so a picture is never lost silently.
- A drawing that does not pickle (a function defined in a notebook cell or a test) is drawn
  here at once.
- Everything the worker writes goes through
  :func:`~gankit.storage.files.replace_atomically`, whole or not at all; when the process
  exits, the worker finishes what it was given (up to :data:`EXIT_WAIT` seconds), so pictures
  of the last snapshot before a Ctrl-C are still written.

The worker receives pickles only from the process that started it, through its own pipes, and
sends back bytes and strings; nothing read from a file is ever unpickled.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import traceback
import warnings
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from gankit.errors import GankitError

EXIT_WAIT = 30.0  # seconds the process waits at exit for the worker to finish its drawings
END = bytes(8)  # a frame of length 0: no more jobs


class DrawingFailed(GankitError):
    """A picture's drawing raised; the message holds what it raised, with the traceback."""


class WorkerLost(Exception):
    """The worker ended before it drew this; :func:`result` draws it here instead."""


@dataclass(frozen=True, eq=False)  # equal only to itself: its arguments are arrays
class Drawing:
    """One picture: ``draw(*args, path=path, **kwargs)`` writes the PNG ``path``.

    ``draw`` is a function of a module (it pickles by reference) and the arguments are plain
    data, so the drawing can be sent to the worker; what needs the networks (samples, D's
    landscape) is computed before, in the training process."""

    draw: Callable[..., Any]
    path: Path
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # absolute from the caller's working directory: the worker has its own, set when it
        # started (a run directory given as "runs/demo" after a chdir)
        object.__setattr__(self, "path", Path(self.path).absolute())

    def __call__(self) -> Path:
        self.draw(*self.args, path=self.path, **self.kwargs)
        return self.path


def draw_now(drawing: Drawing, png: bool = False) -> Future[bytes | None]:
    """Draw here; a done future of the PNG's bytes (with ``png``), else of None."""
    done: Future[bytes | None] = Future()
    try:
        done.set_result(_drawn(drawing, png))
    except Exception as error:  # as the worker reports it: from the future
        done.set_exception(error)
    return done


def draw_later(drawing: Drawing, png: bool = False) -> Future[bytes | None]:
    """Hand ``drawing`` to the worker (started at the first call); a future of the PNG's bytes
    (with ``png``), else of None. Drawn here at once when it does not pickle or no worker
    can run."""
    global _worker
    try:
        job = pickle.dumps(drawing)
    except (pickle.PicklingError, AttributeError, TypeError):
        return draw_now(drawing, png)
    with _starting:
        if _worker is None or not _worker.alive():
            _worker = _start_worker()
    if _worker is None:
        return draw_now(drawing, png)
    return _worker.submit(job, png)


def result(drawing: Drawing, future: Future[bytes | None], png: bool = False) -> bytes | None:
    """The future's PNG bytes, waiting for the worker if it has not drawn it yet; a drawing
    the worker could not finish (it died) is drawn here."""
    try:
        return future.result()
    except WorkerLost:
        return _drawn(drawing, png)


def _drawn(drawing: Drawing, png: bool) -> bytes | None:
    path = drawing()
    return Path(path).read_bytes() if png else None


# ------------------------------------------------------------------------------ the worker

class _Worker:
    """The drawing process, seen from the training process: its pipes, the futures of what
    it was handed and has not answered yet, and two threads. One writes the jobs into the
    pipe, so that the training thread never waits for the worker to read (a toy snapshot's
    job is larger than the pipe holds, and the worker reads between drawings); one reads the
    answers."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.waiting: dict[int, Future[bytes | None]] = {}
        self.lock = threading.Lock()
        self.ids = itertools.count()
        self.outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.closing = False  # END is queued: no more jobs
        threading.Thread(target=self._write, name="gankit-drawing-jobs", daemon=True).start()
        threading.Thread(target=self._answers, name="gankit-drawing-answers",
                         daemon=True).start()

    def alive(self) -> bool:
        """Whether it takes jobs: running, and not told to end."""
        return not self.closing and self.process.poll() is None

    def submit(self, job: bytes, png: bool) -> Future[bytes | None]:
        future: Future[bytes | None] = Future()
        with self.lock:
            key = next(self.ids)
            self.waiting[key] = future
        self.outbox.put(_frame((key, job, png)))
        return future

    def _write(self) -> None:
        """Write each job as it comes; after :data:`END`, close the pipe. A worker that is
        gone takes no more: its answers' reader settles the futures."""
        while True:
            frame = self.outbox.get()
            try:
                _send(self.process.stdin, frame)
                if frame == END:
                    self.process.stdin.close()
            except (OSError, ValueError):
                pass
            if frame == END:
                return

    def _answers(self) -> None:
        """Settle each future as the worker answers; when it ends, the unanswered ones raise
        :class:`WorkerLost`, for :func:`result` to draw them here."""
        while True:
            try:
                key, outcome, payload = pickle.load(self.process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                self.process.stdout.close()
                break
            with self.lock:
                future = self.waiting.pop(key)
            if outcome == "failed":
                future.set_exception(DrawingFailed(payload))
            else:
                future.set_result(payload)
        with self.lock:
            lost, self.waiting = self.waiting, {}
        for future in lost.values():
            future.set_exception(WorkerLost())
        if lost:
            warnings.warn("gankit's drawing process ended; the pictures it had not drawn are "
                          "drawn in the training process", RuntimeWarning, stacklevel=1)

    def close(self, wait: float) -> None:
        """No more drawings: the worker finishes what it has and exits. The end is said in a
        frame of its own, not by closing the pipe alone: a process forked from this one (a
        DataLoader's workers) may still hold the pipe open."""
        with self.lock:
            first, self.closing = not self.closing, True
        if first:
            self.outbox.put(END)
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            self.process.kill()


_worker: _Worker | None = None
_starting = threading.Lock()
_start_failed = False


def _start_worker() -> _Worker | None:
    """The worker process, importing this same gankit; None (warned once) where no process
    can be started."""
    global _start_failed
    if _start_failed:
        return None
    source = str(Path(__file__).resolve().parents[2])  # the folder that holds gankit/
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH"))
                                         if p)}
    try:
        process = subprocess.Popen([sys.executable, "-m", "gankit.storage.drawing"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    except OSError as error:
        _start_failed = True
        warnings.warn(f"gankit draws pictures in the training process: no drawing process "
                      f"could start ({error})", RuntimeWarning, stacklevel=3)
        return None
    return _Worker(process)


@atexit.register
def _close_worker() -> None:
    if _worker is not None:
        _worker.close(EXIT_WAIT)


def _send(stream: IO[bytes] | None, data: bytes) -> None:
    if stream is None:
        raise OSError("no pipe")
    stream.write(data)
    stream.flush()


def serve(jobs: int, answers: IO[bytes]) -> None:
    """The worker's loop: read the jobs that have arrived on the file descriptor ``jobs``,
    draw the oldest (skipped when a later queued job writes its file again), answer (key,
    "drawn" | "skipped" | "failed", PNG bytes | None | traceback). Everything that has
    arrived is read before each drawing, so a redraw queued behind a newer one is always
    seen. Ends when ``jobs`` closes and everything given is answered."""
    queue: deque[tuple[int, Drawing | str, bool]] = deque()
    reading = True
    while reading or queue:
        while reading and select.select([jobs], [], [], 0 if queue else None)[0]:
            frame = _read_frame(jobs)
            if frame is None:
                reading = False
            else:
                queue.append(_job(frame))
        if not queue:
            continue
        key, drawing, png = queue.popleft()
        if isinstance(drawing, str):
            answer = (key, "failed", drawing)
        elif any(isinstance(later, Drawing) and later.path == drawing.path
                 for _, later, _ in queue):
            answer = (key, "skipped", None)
        else:
            try:
                answer = (key, "drawn", _drawn(drawing, png))
            except Exception:
                answer = (key, "failed",
                          f"drawing {drawing.path} failed:\n{traceback.format_exc()}")
        _send(answers, pickle.dumps(answer))


def _frame(message: object) -> bytes:
    """A job as the pipe carries it: its length, then its pickle."""
    payload = pickle.dumps(message)
    return struct.pack(">Q", len(payload)) + payload


def _read_frame(fd: int) -> bytes | None:
    """The next frame's payload, or None at the end (:data:`END`, or the pipe closed)."""
    header = _read_exactly(fd, 8)
    size = 0 if header is None else struct.unpack(">Q", header)[0]
    return _read_exactly(fd, size) if size else None


def _read_exactly(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _job(frame: bytes) -> tuple[int, Drawing | str, bool]:
    """(key, the drawing or why it could not be read, whether to send its PNG back); reading
    it imports the drawing's module, and one this process cannot find fails alone."""
    key, job, png = pickle.loads(frame)
    try:
        return key, pickle.loads(job), png
    except Exception:
        return key, f"a drawing could not be read:\n{traceback.format_exc()}", png


def main() -> None:
    """The worker process: ``python -m gankit.storage.drawing``, its jobs on stdin."""
    # Ctrl-C goes to the whole process group: the training process decides what to do, and
    # this one finishes the drawings it was given when that process closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # whatever a drawing prints must not enter the answers
    serve(sys.stdin.fileno(), answers)


if __name__ == "__main__":
    # through the module's own name: the drawings unpickle as gankit.storage.drawing.Drawing,
    # which this file, run as __main__, would define a second time
    from gankit.storage import drawing

    drawing.main()
