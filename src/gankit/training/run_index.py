"""What a folder of runs holds, read from their JSON and YAML alone: ``gankit runs`` and
:func:`gankit.list_runs`.

A run directory is a folder holding ``config.yaml``; under a root, runs are found at any depth
except inside another run's ``checkpoints``, ``samples`` or ``tensorboard`` folder. Its summary
comes from files a reader can trust without loading a tensor: the newest checkpoint's
``state.json`` (step, the config it trained with and the name it was built from, ``elapsed``:
the seconds of training steps, summed over resumes, which compare runs whatever their
snapshots and checkpoints cost, unlike wall-clock time), ``eval.json`` (the final metrics),
``best.json`` (the kept best checkpoints, when ``train.keep_best`` is on) and
``config.yaml``. Nothing here imports torch, so a list of a hundred runs answers at once; a
damaged or missing file leaves its fields empty rather than hiding the run.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gankit.configuration.yaml_io import read_yaml
from gankit.errors import GankitError
from gankit.training.best import read_best
from gankit.training.checkpoint_names import step_of
from gankit.training.metric_names import NOT_METRICS
from gankit.training.runlog import read_json_or_none

CONFIG_FILE = "config.yaml"
EVAL_FILE = "eval.json"
STATE_FILE = "state.json"
# What a run writes below itself; a config.yaml in there is not another run
RUN_PARTS = frozenset({"checkpoints", "samples", "tensorboard"})
# The metrics a table shows first when a run has them: the headline of each kind of data
# (images: FID and KID; 2-D toys: modes and W1; translation: L1 and PSNR), up to HEADLINE_COUNT
HEADLINE = ("fid", "kid", "precision", "recall", "stacked_modes", "modes", "high_quality", "w1",
            "class_accuracy", "l1", "psnr", "ssim")
HEADLINE_COUNT = 3


@dataclass(frozen=True)
class RunSummary:
    """One run as ``gankit runs`` lists it; ``None`` where the run does not tell (no checkpoint
    yet, no eval.json)."""

    path: Path
    name: str  # the path below the listed folder (the folder's own name for a run given alone)
    # the shipped config name or YAML path the run was built from (state.json's config_name);
    # for a run built from a Config or a dict, or before issue 29, its data set (data.name)
    config: str | None
    recipe: str | None
    step: int | None  # the newest checkpoint's
    steps: int | None  # train.steps of the config the newest checkpoint trained with
    status: str  # "finished", "stopped" (step < steps) or "empty" (no checkpoint)
    # seconds spent in training steps up to the newest checkpoint, summed over resumes
    # (the trainer's ``elapsed``: snapshots, checkpoints and start-up not counted)
    train_time: float | None
    metrics: dict[str, float] = field(default_factory=dict)  # eval.json's figures
    metrics_step: int | None = None  # the step eval.json measured (an older one after eval
    # of a chosen checkpoint)
    best: dict[str, Any] | None = None  # best.json's first: {"metric", "value", "step", "path"}

    def headline(self) -> dict[str, float]:
        """The few metrics a table has room for: :data:`HEADLINE`'s present ones, else the
        first figures eval.json holds."""
        chosen = [name for name in HEADLINE if name in self.metrics] or list(self.metrics)
        return {name: self.metrics[name] for name in chosen[:HEADLINE_COUNT]}

    def record(self) -> dict[str, Any]:
        """The summary as JSON-ready data (``gankit runs --json``)."""
        return {"name": self.name, "path": str(self.path), "config": self.config,
                "recipe": self.recipe, "step": self.step, "steps": self.steps,
                "status": self.status, "train_time_s": self.train_time,
                "metrics": self.metrics, "metrics_step": self.metrics_step, "best": self.best}


def is_run(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file()


def find_runs(root: Path) -> list[Path]:
    """Every run directory under ``root`` (``root`` itself if it is one), sorted by path; a
    missing or unreadable root is one line, a subfolder that cannot be read a warning."""
    root = Path(root)
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise GankitError(f"{root} {what}; give a folder of runs (default: runs)")
    def unreadable(err: OSError) -> None:
        if Path(err.filename) == root:
            raise GankitError(f"cannot read {root}: {err.strerror}")
        warnings.warn(f"cannot read {err.filename} ({err.strerror}); its runs are not listed",
                      stacklevel=1)

    found = []
    for folder, subfolders, _ in os.walk(root, onerror=unreadable):
        if is_run(Path(folder)):
            found.append(Path(folder))
            subfolders[:] = [name for name in subfolders if name not in RUN_PARTS]
        subfolders.sort()
    return sorted(found)


def list_runs(directory: str | Path = "runs", sort: str = "name",
              reverse: bool = False) -> list[RunSummary]:
    """The runs under ``directory`` summarized, sorted by ``sort`` (:func:`sort_runs`)."""
    root = Path(directory)
    runs = [summarize(path, _name(path, root)) for path in find_runs(root)]
    return sort_runs(runs, sort, reverse)


def _name(path: Path, root: Path) -> str:
    return path.name if path == root else path.relative_to(root).as_posix()


def summarize(run_dir: Path, name: str | None = None) -> RunSummary:
    """The summary of one run directory, from its JSON and YAML files only. The config is the
    one the newest checkpoint trained with (its state.json holds it whole, and JSON reads ~50x
    faster than YAML: 300 runs in 0.1 s, not 1.7 s); config.yaml only for a run with no
    checkpoint."""
    run_dir = Path(run_dir)
    state = newest_state(run_dir)
    config = state.get("config") if state and isinstance(state.get("config"), dict) else None
    config = read_config(run_dir) if config is None else config
    step = state.get("step") if state else None
    steps = _field(config, "train", "steps")
    if step is None:
        status = "empty"
    else:
        status = "finished" if isinstance(steps, int) and step >= steps else "stopped"
    elapsed = state.get("elapsed") if state else None
    evaluation = read_json_or_none(run_dir / EVAL_FILE) or {}
    return RunSummary(
        path=run_dir, name=run_dir.name if name is None else name,
        config=_text((state or {}).get("config_name")) or _text(_field(config, "data", "name")),
        recipe=_text(config.get("recipe")), step=step,
        steps=steps if isinstance(steps, int) else None, status=status,
        train_time=float(elapsed) if _is_number(elapsed) else None,
        metrics=eval_metrics(evaluation),
        metrics_step=evaluation.get("step") if isinstance(evaluation.get("step"), int) else None,
        best=best_checkpoint(run_dir))


def read_config(run_dir: Path) -> dict[str, Any]:
    """A run's config.yaml as plain data, read as a config is (size and nesting bounded); an
    unreadable one as an empty mapping (the run is still listed, with its fields empty)."""
    try:
        data = read_yaml(Path(run_dir) / CONFIG_FILE)
    except GankitError:
        return {}
    return data if isinstance(data, dict) else {}


def _field(config: dict[str, Any], section: str, key: str) -> Any:
    values = config.get(section)
    return values.get(key) if isinstance(values, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def newest_state(run_dir: Path) -> dict[str, Any] | None:
    """The ``state.json`` of the newest checkpoint whose state reads as JSON with a step (a
    save cut short or a damaged file falls back to the one before); None for no checkpoint.
    The tensors are not read: a list of runs must not cost a load of each."""
    folders = [(step, p) for p in (Path(run_dir) / "checkpoints").glob("step-*")
               if (step := step_of(p)) is not None]
    for _, folder in sorted(folders, reverse=True):
        state = read_json_or_none(folder / STATE_FILE)
        if state is not None and isinstance(state.get("step"), int):
            return state
    return None


def eval_metrics(record: dict[str, Any]) -> dict[str, float]:
    """The numeric figures of an ``eval.json`` record (null, a non-finite figure, stays out;
    so do the figures of :data:`NOT_METRICS`)."""
    return {key: value for key, value in record.items()
            if key not in NOT_METRICS and _is_number(value)}


def best_checkpoint(run_dir: Path) -> dict[str, Any] | None:
    """The best of ``best.json`` (the list ``train.keep_best`` keeps, best first, read by
    :func:`gankit.training.best.read_best`) as ``{"metric", "value", "step", "path"}`` (the
    path relative to the run, as best.json has it); None without the file or an entry."""
    record = read_best(run_dir)
    if not (record and record["checkpoints"] and isinstance(record.get("metric"), str)):
        return None
    first = record["checkpoints"][0]
    return {"metric": record["metric"], "value": first["value"], "step": first["step"],
            "path": first["path"]}


# --- sorting -----------------------------------------------------------------------------

def natural(text: str) -> list[str | int]:
    """A sort key that reads numbers as numbers: ``seed-2`` before ``seed-10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"([0-9]+)", text)]


_COLUMNS: dict[str, Callable[[RunSummary], Any]] = {
    "name": lambda run: natural(run.name),
    "config": lambda run: run.config,
    "recipe": lambda run: run.recipe,
    "step": lambda run: run.step,
    "steps": lambda run: run.steps,
    "status": lambda run: run.status,
    "time": lambda run: run.train_time,
    "best": lambda run: run.best["value"] if run.best else None,
}


def sort_keys(runs: list[RunSummary]) -> list[str]:
    """What ``--sort`` takes for these runs: the columns and every metric one of them has."""
    return [*_COLUMNS, *sorted({name for run in runs for name in run.metrics})]


def sort_runs(runs: list[RunSummary], key: str = "name",
              reverse: bool = False) -> list[RunSummary]:
    """``runs`` ordered by a column or a metric (ascending; ``reverse`` descending); runs
    without that value come last either way, in name order. Names sort as people number
    runs: ``seed-2`` before ``seed-10``."""
    if key not in _COLUMNS and not any(key in run.metrics for run in runs):
        if not runs:
            return runs
        raise GankitError(f"--sort {key}: no run has it; sort by {', '.join(sort_keys(runs))}")
    value = _COLUMNS.get(key, lambda run: run.metrics.get(key))
    by_name = sorted(runs, key=lambda run: natural(run.name))
    known = sorted((run for run in by_name if value(run) is not None), key=value,
                   reverse=reverse)
    return known + [run for run in by_name if value(run) is None]


# --- the table ---------------------------------------------------------------------------

def format_value(value: float) -> str:
    """A figure in four significant digits (31.42, 0.01234, 1.235e+05), an integer whole."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def format_duration(seconds: float | None) -> str:
    """``12.3s``, ``4m05s``, ``2h07m``: the scale a run list is read at."""
    if seconds is None:
        return "-"
    if round(seconds, 1) < 60:  # 59.96 s is "1m00s", not "60.0s"
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def table_rows(runs: list[RunSummary]) -> list[list[str]]:
    """The table of ``gankit runs``, header first."""
    rows = [["name", "config", "recipe", "step", "status", "metrics", "time", "best"]]
    for run in runs:
        step = "-" if run.step is None else str(run.step)
        best = "-" if run.best is None else (f"{run.best['metric']}="
                                             f"{format_value(run.best['value'])}"
                                             f"@{run.best['step']}")
        metrics = " ".join(f"{k}={format_value(v)}" for k, v in run.headline().items())
        if metrics and run.metrics_step is not None and run.metrics_step != run.step:
            metrics += f" @{run.metrics_step}"  # eval.json of an older checkpoint: say so
        rows.append([run.name, run.config or "-", run.recipe or "-",
                     f"{step}/{run.steps if run.steps is not None else '-'}", run.status,
                     metrics or "-",
                     format_duration(run.train_time), best])
    return rows


def format_table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(map(len, column)) for column in zip(*rows, strict=True)]
    return "\n".join("  ".join(cell.ljust(width)
                               for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)
