"""Frames and metrics drawn in processes of their own, on shared-memory copies of the trained
networks, so that they run on the other core without taking Python's GIL from the training
thread (as threads of one process they made the steps of 4 ms frames take 10).

A worker is a child process (forked from a forkserver that has already imported torch and
gankit, so one starts in milliseconds) that holds a recipe built from the run's config whose
weights and buffers are tensors in shared memory. :meth:`SnapshotWorker.offer` waits until the
child has finished its last job, copies the trained recipe's state into those tensors (one
fused copy) and sends the job's facts (step, losses); the child draws, and a thread of the
session's process hands what it drew to the page.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import torch
import torch.multiprocessing

from gankit.configuration.schema import Config
from gankit.data.spec import DataSpec
from gankit.recipes import RECIPES, Recipe
from gankit.view import frames

WORKER_NICENESS = 5  # below the training: a late frame costs less than a slower run
_CONTEXT = torch.multiprocessing.get_context("forkserver")
# POT too: its import takes seconds, which a child would spend inside its first metrics job
# while the training waits for it
_CONTEXT.set_forkserver_preload(["gankit.view.workers", "ot"])


def frame_message(recipe: Recipe, context: dict[str, Any], info: dict[str, Any]) -> bytes:
    """The binary frame message of the recipe's state (:func:`gankit.view.frames.encode`)."""
    drawn = frames.frame(recipe, context["draws"], context["chunk"])
    label = drawn.pop("heat_label")
    heat = drawn["heat"]
    header = {"type": "frame", **info, "heat_label": label,
              "heat_range": [float(heat.min()), float(heat.max())],
              "arrow_max": float(drawn["arrows"].norm(dim=1).max())}
    return frames.encode(header, drawn)


def metrics_message(recipe: Recipe, context: dict[str, Any], info: dict[str, Any]
                    ) -> dict[str, Any]:
    """The live metrics event of the recipe's state (:func:`gankit.view.frames.metrics`)."""
    record = frames.metrics(recipe, context["data"], context["draws"])
    return {"type": "metrics", "step": info["step"], "generation": info["generation"],
            **record}


JOBS: dict[str, Callable[[Recipe, dict[str, Any], dict[str, Any]], Any]] = {
    "frame": frame_message, "metrics": metrics_message}


def _serve(connection: Connection, job: str) -> None:
    """The child: set up recipes as they come, run ``job`` on each offered state."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    torch.set_num_threads(1)
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    recipe: Recipe | None = None
    context: dict[str, Any] = {}
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):  # the session's process is gone
            return
        if message is None:
            return
        kind, payload = message
        try:
            if kind == "setup":
                config, spec, state, context = payload
                recipe = RECIPES[config.recipe](config, spec)
                recipe.nets.load_state_dict(state, assign=True)  # the shared tensors
                recipe.eval()  # batch norm's running statistics, no dropout
                continue
            connection.send(("done", JOBS[job](recipe, context, payload)))
        except Exception as err:  # a frame that cannot be drawn must not end the worker
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            connection.send(("error", f"{job} failed at step {payload.get('step')}: "
                                      f"{type(err).__name__}: {first}"))


class SnapshotWorker:
    """A child process running ``job`` ("frame" or "metrics") at states of a trained recipe;
    what it returns goes to ``deliver(result, info)``, its failures to ``report``."""

    def __init__(self, job: str, deliver: Callable[[Any, dict[str, Any]], None],
                 report: Callable[[str], None]) -> None:
        self._deliver, self._report = deliver, report
        self._connection, child = _CONTEXT.Pipe()
        self._process = _CONTEXT.Process(target=_serve, args=(child, job), daemon=True,
                                         name=f"gankit-view-{job}")
        self._process.start()
        child.close()
        self._idle = threading.Event()
        self._idle.set()
        self._info: dict[str, Any] = {}
        self._copies: list[torch.Tensor] = []
        self._sources: list[torch.Tensor] = []
        self._reader = threading.Thread(target=self._read, name=f"gankit-view-{job}-reader",
                                        daemon=True)
        self._reader.start()

    def setup(self, recipe: Recipe, config: Config, spec: DataSpec,
              context: dict[str, Any]) -> None:
        """Work on ``recipe`` from now on (a new run of the session)."""
        self._idle.wait()
        state = {k: v.detach().clone().share_memory_()
                 for k, v in recipe.nets.state_dict().items()}
        self._copies, self._sources = list(state.values()), list(recipe.nets.state_dict().values())
        self._connection.send(("setup", (config, spec, state, context)))

    def offer(self, info: dict[str, Any]) -> None:
        """Wait for the previous job, copy the trained recipe's state, start the job on it."""
        self._idle.wait()
        self._idle.clear()
        with torch.no_grad():
            torch._foreach_copy_(self._copies, self._sources)
        self._info = info
        self._connection.send(("job", info))

    def wait(self) -> None:
        self._idle.wait()

    def close(self) -> None:
        self._idle.wait()
        with contextlib.suppress(OSError):
            self._connection.send(None)
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        self._connection.close()
        self._reader.join(timeout=10)

    def _read(self) -> None:
        while True:
            try:
                kind, result = self._connection.recv()
            except (EOFError, OSError):  # closed, or the child died: nobody waits on it now
                self._idle.set()
                return
            if kind == "done":
                self._deliver(result, self._info)
            else:
                self._report(result)
            self._idle.set()
