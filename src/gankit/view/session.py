"""One page's live training session: a :class:`gankit.api.Run` trained step by step in a thread
of its own, its frames and metrics drawn by two worker processes (:mod:`gankit.view.workers`).

How the session shares the CPU: the training thread runs the library's own steps
(:meth:`gankit.training.trainer.Trainer.train_steps`) with one torch thread, as ``gankit train``
does
with ``train.threads: 1``; every ``steps_per_frame`` steps it copies the weights into the frame
process's shared memory and trains on while that process draws the frame on the other core.
The metrics process does the same every ``METRICS_EVERY`` steps (exact W1 and the MALA chains
take a tenth of a second). Processes, not threads: they draw without taking Python's GIL from
the training loop. The training thread waits only when a worker has not finished its previous
job, so frames come at fixed steps whatever the machine's speed: the same settings give the
same frames (seeded replay).

All page messages go through one queue into the training thread, which alone touches the run:
nothing needs a lock, and a bad message is answered with an error and changes nothing.
"""

from __future__ import annotations

import copy
import queue
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gankit.api import Run, build, load
from gankit.configuration.messages import show_value
from gankit.configuration.resolve import build_config, load_config
from gankit.configuration.yaml_io import dump_yaml, read_yaml
from gankit.data import ToyDistribution
from gankit.data.user import TensorPoints, load_points_file, save_points
from gankit.errors import ConfigError, GankitError, NonFiniteLossError
from gankit.storage.files import replace_atomically
from gankit.training.choice import Chosen, choose, newer_steps, run_of
from gankit.training.runlog import RunLogger
from gankit.view import frames
from gankit.view.settings import (
    DRAWN,
    LIMITS,
    MAX_DRAWN_POINTS,
    OWN_LOSS,
    VIEW_TRAINING,
    ViewSettings,
    check_base,
    loss_choices,
    loss_defaults,
    parse_points,
    parse_settings,
    settings_of,
    toy_sets,
    view_config,
)
from gankit.view.workers import SnapshotWorker

Message = dict[str, Any] | bytes
METRICS_EVERY = 400  # steps between live metrics
MAX_STEPS_PER_FRAME = 100
MAX_DELAY_MS = 2000
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
POINTS_FILE = "points.csv"
# what a metrics record was measured at, and for which run: not figures
SETTINGS_KEYS = ("step", "n", "seed", "n_modes", "generation")
# No message: close()'s wake-up call, or an empty queue while playing. A private object, not a
# value a page can send (JSON's null arrives as None, and is answered as any bad message is).
_NO_MESSAGE = object()


class ViewSession:
    """The state behind one page: its run, play/pause, speed and the workers that draw it.

    Args:
        base: config data the view starts from (a shipped config, a YAML file's, a run's).
        runs: the only directory the session saves to and opens runs from.
        emit: sends a message to the page (a dict as JSON, bytes as a binary frame); called
            from the session's threads.
        opened: a run directory (at its newest checkpoint) or a checkpoint folder to open at
            the start instead of training ``base`` afresh.
    """

    def __init__(self, base: dict[str, Any], runs: Path, emit: Callable[[Message], None],
                 opened: Path | None = None) -> None:
        self.base, self.runs, self.emit = base, Path(runs), emit
        self.run: Run | None = None
        self.settings: ViewSettings | None = None
        self.points: torch.Tensor | None = None  # the drawn data set
        self.playing = False
        self.steps_per_frame, self.delay_ms = 4, 0
        self.generation = 0  # which run a frame belongs to: the page drops older ones
        self.phase_steps = {"d": 0, "g": 0}
        self._own_dirs: set[Path] = set()  # saved or opened by this session: may be rewritten
        # opened at an older checkpoint than their newest -> (that step, the newer steps)
        self._opened_older: dict[Path, tuple[int, list[int]]] = {}
        # (step, figures) of the run: its losses and live metrics, for metrics.jsonl on save
        self.history: list[tuple[int, dict[str, float]]] = []
        self._logged: dict[Path, int] = {}  # run directory -> history entries written there
        self._workers: list[SnapshotWorker] = []
        self._next_metrics = 0
        self.draws: frames.Draws | None = None  # the run's fixed latents and samples
        self._chunk = 1  # the batch D judges the heat map's grid in
        self._commands: queue.Queue[Any] = queue.Queue()
        self._closed = threading.Event()
        self._opened = opened
        self._thread = threading.Thread(target=self._loop, name="gankit-view-train",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ from the server
    def submit(self, message: Any) -> None:
        """A message from the page; it is checked and carried out in the session's thread."""
        self._commands.put(message)

    def close(self) -> None:
        """Stop training and the workers (the page went away, or the server stops)."""
        self._closed.set()
        self._commands.put(_NO_MESSAGE)
        self._thread.join()

    # ------------------------------------------------------------------ the session's thread
    def _loop(self) -> None:
        try:
            self._start()
            while not self._closed.is_set():
                try:
                    command = self._commands.get(block=not self.playing)
                except queue.Empty:  # playing, and nothing from the page: the next frame
                    command = _NO_MESSAGE
                if command is not _NO_MESSAGE:
                    self._carry_out(command)
                if self.playing and not self._closed.is_set():
                    self._carry_out({"type": "play_frame"})
                    if self.delay_ms:
                        self._closed.wait(self.delay_ms / 1000)
        finally:
            self._stop_workers()

    def _start(self) -> None:
        self.emit({"type": "hello", "datasets": [*toy_sets(), DRAWN], "losses": loss_choices(),
                   "limits": _page_limits(), "steps_per_frame": self.steps_per_frame,
                   "runs": self._run_names()})
        try:
            if self._opened is not None:
                self._open_dir(self._opened)
            else:
                settings = self._base_settings()
                points = None
                if settings.dataset == DRAWN:  # a config of a points file: a drawing
                    points = load_points_file(build_config(self.base).data).values
                self._new_run(settings, points)
        except Exception as err:  # a config the view cannot train, or the library's failure
            self.emit({"type": "error", "message": _one_line(err)})

    def _base_settings(self) -> ViewSettings:
        """The settings of the config the session started from (or opened last)."""
        config = build_config(self.base)
        check_base(config, "the config")
        return settings_of(config, DRAWN if config.data.name == "points-file" else
                           config.data.name)

    def _carry_out(self, message: Any) -> None:
        """One page message; a bad one is answered with one error line and changes nothing."""
        try:
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                raise ConfigError(f"a message must be an object with a type, got "
                                  f"{show_value(message)}")
            kind = message["type"]
            handler = COMMANDS.get(kind)
            if handler is None:
                raise ConfigError(f"unknown message type {show_value(kind)}; known: "
                                  f"{', '.join(COMMANDS)}")
            if kind not in ("settings", "defaults", "runs", "open", "invalid") and \
                    self.run is None:
                raise ConfigError("no run yet: send settings first")
            handler(self, message)
        except NonFiniteLossError as err:
            self.playing = False
            self.emit({"type": "error", "message": f"{err.what}; lower the learning rates, "
                                                   f"or reset"})
            self._status()
        except Exception as err:  # a user's mistake, or the library's failure (a full disk)
            self.playing = self.playing and isinstance(err, GankitError)
            self.emit({"type": "error", "message": _one_line(err)})
            self._status()

    # ------------------------------------------------------------------ commands
    def _cmd_settings(self, message: dict[str, Any]) -> None:
        settings = parse_settings(message.get("settings"))
        points = parse_points(message.get("points")) if settings.dataset == DRAWN else None
        self._new_run(settings, points)

    def _cmd_reset(self, message: dict[str, Any]) -> None:
        self._new_run(self.settings, self.points)

    def _cmd_play(self, message: dict[str, Any]) -> None:
        self.playing = True
        self._status()

    def _cmd_play_frame(self, message: dict[str, Any]) -> None:
        """While playing: the steps of one frame (the session's own message, not the page's)."""
        if self.playing:
            self._train(self.steps_per_frame, None)

    def _cmd_pause(self, message: dict[str, Any]) -> None:
        self.playing = False
        self._status()

    def _cmd_step(self, message: dict[str, Any]) -> None:
        phase = message.get("phase")
        if phase not in ("d", "g", "full"):
            raise ConfigError(f"phase must be d, g or full, got {show_value(phase)}")
        self.playing = False
        self._train(1, None if phase == "full" else phase)
        self._status()

    def _cmd_speed(self, message: dict[str, Any]) -> None:
        steps, delay = message.get("steps_per_frame"), message.get("delay_ms", 0)
        for name, value, high in (("steps_per_frame", steps, MAX_STEPS_PER_FRAME),
                                  ("delay_ms", delay, MAX_DELAY_MS)):
            low = 1 if name == "steps_per_frame" else 0
            if isinstance(value, bool) or not isinstance(value, int) or \
                    not low <= value <= high:
                raise ConfigError(f"{name} must be an integer in [{low}, {high}], got "
                                  f"{show_value(value)}")
        self.steps_per_frame, self.delay_ms = steps, delay
        self._status()

    def _cmd_defaults(self, message: dict[str, Any]) -> None:
        loss, dataset = message.get("loss"), message.get("dataset")
        current = self.settings or self._base_settings()
        if not isinstance(dataset, str) or dataset not in (*toy_sets(), DRAWN):
            dataset = current.dataset
        fresh = loss_defaults(self.base, current, loss if isinstance(loss, str) else OWN_LOSS,
                              dataset)
        self.emit({"type": "defaults", "settings": fresh.to_page()})

    def _cmd_save(self, message: dict[str, Any]) -> None:
        path = self._save(self._run_dir(message.get("name")))
        self.emit({"type": "saved", "path": str(path), "step": self.run.step,
                   "runs": self._run_names()})

    def _cmd_open(self, message: dict[str, Any]) -> None:
        path = self._run_dir(message.get("name"))
        if path.name not in self._run_names():
            raise ConfigError(f"no run {show_value(path.name)} in {self.runs}; its runs are "
                              f"{', '.join(self._run_names()) or 'none yet'}")
        self._open_dir(path)

    def _cmd_invalid(self, message: dict[str, Any]) -> None:
        """What the server could not read as JSON (:func:`gankit.view.messages.parse_message`)."""
        raise ConfigError(f"unreadable message: {message.get('reason')}")

    def _cmd_runs(self, message: dict[str, Any]) -> None:
        self.emit({"type": "runs", "runs": self._run_names()})

    # ------------------------------------------------------------------ runs
    def _new_run(self, settings: ViewSettings, points: torch.Tensor | None) -> None:
        """Build and show a fresh run of ``settings``: the previous one stays until this one
        is built, so a refused setting leaves the page as it was."""
        config = view_config(self.base, settings)
        run = build(config, progress=False, snapshots=False, data=points)
        self._show(run, settings, points)

    def _open_dir(self, path: Path) -> None:
        """Open a run directory (at its newest checkpoint) or one of its checkpoint folders to
        watch and train on (:func:`open_run`); saving writes the view's settings into its
        config. Saving into the run itself is refused when it was opened at an older
        checkpoint than its newest: that would mix two histories
        (:func:`gankit.training.choice.check_continuation`)."""
        run = open_run(path)
        run_dir = run.checkpoint.run_dir
        data = run.data
        drawn = run.config.data.name == "points-file"
        points = data.values if drawn and isinstance(data, TensorPoints) else None
        self.base = read_yaml(run_dir / "config.yaml")
        if newer := newer_steps(run_dir, run.step):
            self._opened_older[run_dir.resolve()] = (run.step, newer)
        else:
            self._own_dirs.add(run_dir.resolve())
        self._show(run, settings_of(run.config, DRAWN if drawn else run.config.data.name),
                   points)

    def _show(self, run: Run, settings: ViewSettings, points: torch.Tensor | None) -> None:
        if not isinstance(run.data, ToyDistribution) or run.data.dim != 2:
            raise ConfigError("the view trains 2-D points")
        for worker in self._workers:
            worker.wait()  # the last run's frame and metrics are out
        self.run, self.settings, self.points = run, settings, points
        self.playing = False
        self.generation += 1
        self.phase_steps = {"d": 0, "g": 0}
        self.history, self._logged = [], {}
        self.draws = frames.Draws.of(run.recipe, run.data)
        self._chunk = max(run.config.data.batch_size // run.config.model.pack, 1)
        if not self._workers:  # one pair of processes for all the session's runs
            self._workers = [SnapshotWorker("frame", self._deliver_frame, self._report),
                             SnapshotWorker("metrics", self._deliver_metrics, self._report)]
        context = {"draws": self.draws, "chunk": self._chunk, "data": run.data}
        for worker in self._workers:
            worker.setup(run.recipe, run.config, run.data.spec, context)
        self._next_metrics = run.step
        self.emit({"type": "ready", "generation": self.generation, "settings": settings.to_page(),
                   "box": self.draws.box.to_page(), "real": frames.rounded(self.draws.real_shown),
                   "step": run.step, "recipe": run.config.recipe,
                   "loss_name": run.config.loss.name, "latent_dim": run.config.model.latent_dim})
        self._status()
        self._hand_over({})

    def _stop_workers(self) -> None:
        for worker in self._workers:
            worker.close()
        self._workers = []

    # ------------------------------------------------------------------ training and drawing
    def _train(self, steps: int, phase: str | None) -> None:
        losses = self.run.trainer.train_steps(steps, phase)
        self.history.append((self.run.step, losses))
        for name in ("d", "g") if phase is None else (phase,):
            repeats = self.run.config.train.n_critic if name == "d" and phase is None else 1
            self.phase_steps[name] += steps * repeats
        self._hand_over(losses)

    def _hand_over(self, losses: dict[str, float]) -> None:
        info = {"step": self.run.step, "generation": self.generation,
                "d_steps": self.phase_steps["d"], "g_steps": self.phase_steps["g"],
                "losses": losses}
        frame_worker, metrics_worker = self._workers
        frame_worker.offer(info)
        if self.run.step >= self._next_metrics:
            metrics_worker.offer(info)
            self._next_metrics = (self.run.step // METRICS_EVERY + 1) * METRICS_EVERY

    def _deliver_frame(self, message: bytes, info: dict[str, Any]) -> None:
        self.emit(message)

    def _deliver_metrics(self, message: dict[str, Any], info: dict[str, Any]) -> None:
        if message["generation"] == self.generation:
            self.history.append((message["step"], _eval_figures(message)))
        self.emit(message)

    def _report(self, message: str) -> None:
        self.emit({"type": "error", "message": message})

    def _status(self) -> None:
        self.emit({"type": "status", "playing": self.playing, "step": self.run.step if self.run
                   else 0, "steps_per_frame": self.steps_per_frame, "delay_ms": self.delay_ms,
                   "generation": self.generation})

    # ------------------------------------------------------------------ run directories
    def _run_dir(self, name: Any) -> Path:
        if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
            raise ConfigError(f"a run name is 1 to 64 letters, digits, '.', '_' or '-', "
                              f"starting with a letter or digit; got {show_value(name)}")
        return self.runs / name

    def _run_names(self) -> list[str]:
        if not self.runs.is_dir():
            return []
        return sorted(p.name for p in self.runs.iterdir()
                      if RUN_NAME.fullmatch(p.name) and (p / "config.yaml").is_file())

    def _save(self, path: Path) -> Path:
        """Write the run as a run directory that ``gankit train --resume``, ``sample`` and
        ``eval`` accept: the checkpoint, then config.yaml (train.steps = the step reached; a
        drawn data set as points.csv beside it), eval.json, and in metrics.jsonl and
        TensorBoard the losses and live metrics the page has drawn since the last save. A
        directory lists as a run once its config is written, after its checkpoint."""
        run = self.run
        if path.exists() and path.resolve() not in self._own_dirs:
            if opened := self._opened_older.get(path.resolve()):
                raise ConfigError(f"{path} has checkpoints after step {opened[0]} "
                                  f"({', '.join(map(str, opened[1]))}), where this run was "
                                  f"opened; saving it there would mix two histories: choose "
                                  f"another name")
            raise ConfigError(f"{path} already exists; choose another name")
        for worker in self._workers:
            worker.wait()  # the metrics of the steps so far are in the history
        path.mkdir(parents=True, exist_ok=True)
        self._own_dirs.add(path.resolve())
        config = copy.deepcopy(run.config)
        config.train.steps = run.config.train.steps = max(run.step, 1)
        if self.points is not None:
            save_points(self.points, path / POINTS_FILE)
            config.data.name, config.data.path = "points-file", str((path / POINTS_FILE).resolve())
        run.run_dir = run.trainer.run_dir = path
        run.trainer.save()
        with replace_atomically(path / "config.yaml") as tmp:  # whole or not at all
            tmp.write_text(dump_yaml(config.to_dict()))
        record = run.eval_record()
        run.save_evaluation(record)
        logger = RunLogger(path)
        try:
            new = self.history[self._logged.get(path.resolve(), 0):]
            for step, figures in sorted(new, key=lambda entry: entry[0]):  # metrics come late
                logger.log(step, figures)
            logger.log(run.step, _eval_figures(record))
        finally:
            logger.close()
        self._logged[path.resolve()] = len(self.history)
        return path


def _one_line(err: Exception) -> str:
    """A gankit error's own line; any other failure as its type and first line."""
    if isinstance(err, GankitError):
        return str(err)
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first}"


def _eval_figures(record: dict[str, Any]) -> dict[str, float]:
    """A metrics record's figures as ``eval/`` scalars (not its settings: step, n, seed)."""
    return {f"eval/{k}": float(v) for k, v in record.items() if k not in SETTINGS_KEYS
            and isinstance(v, (int, float)) and not isinstance(v, bool)}


def _page_limits() -> dict[str, Any]:
    return {**{k: list(v) for k, v in LIMITS.items() if k != "seed"},
            "drawn_points": MAX_DRAWN_POINTS, "steps_per_frame": MAX_STEPS_PER_FRAME,
            "delay_ms": MAX_DELAY_MS}


COMMANDS: dict[str, Callable[[ViewSession, dict[str, Any]], None]] = {
    "settings": ViewSession._cmd_settings, "reset": ViewSession._cmd_reset,
    "play": ViewSession._cmd_play, "play_frame": ViewSession._cmd_play_frame,
    "pause": ViewSession._cmd_pause,
    "step": ViewSession._cmd_step, "speed": ViewSession._cmd_speed,
    "defaults": ViewSession._cmd_defaults, "save": ViewSession._cmd_save,
    "open": ViewSession._cmd_open, "runs": ViewSession._cmd_runs,
    "invalid": ViewSession._cmd_invalid,
}


def open_run(path: Path, checkpoint: str | int | None = None) -> Run:
    """A run directory or checkpoint folder loaded at ``checkpoint`` as the view trains every
    run: at constant learning rates on one thread (a ``gankit train`` run's decay would have
    reached 0 at its last step); a run the view cannot draw is one line."""
    run = load(path, [f"train.{key}={value}" for key, value in VIEW_TRAINING.items()],
               progress=False, checkpoint=checkpoint)
    check_base(run.config, str(path))
    return run


def base_config_data(source: str | Path, checkpoint: str | int | None = None
                     ) -> tuple[dict[str, Any], Chosen | None]:
    """What ``gankit view SOURCE [--checkpoint STEP|latest|best]`` starts from: a run directory
    or a checkpoint folder (opened at the checkpoint chosen, :func:`gankit.training.choice.
    choose`; a step the run has not kept is one line now) or a shipped config name or YAML
    file (trained afresh), resolved as a run's config.yaml is: keys its recipe does not read
    are off, so a preset's recipe (ring8-meg) builds."""
    path = Path(source).expanduser()
    if path.is_dir():
        if not (run_of(path) / "config.yaml").is_file():
            raise GankitError(f"not a gankit run directory (no config.yaml): {path}")
        chosen = choose(path, checkpoint)
        return read_yaml(chosen.run_dir / "config.yaml"), chosen
    if checkpoint is not None:
        raise GankitError(f"--checkpoint chooses a checkpoint of a run directory; {source} is "
                          f"a config, trained afresh")
    return load_config(source).to_dict(), None


