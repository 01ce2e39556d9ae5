"""Runs side by side: one logged figure of several runs against step, on shared axes, with a
table of where each ended and where it was best (``gankit compare``, :func:`gankit.compare_runs`).

Each run's curve is read from its ``metrics.jsonl`` (:func:`gankit.training.runlog.read_metrics`),
so any figure a run logs compares: a snapshot metric (``fid``, written ``eval/fid``), a loss term
(``d_loss``), a learning rate (``lr/g``). A checkpoint folder stands for its run up to that
step. Nothing here imports torch, and matplotlib only when a figure is drawn.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gankit.errors import GankitError
from gankit.training.checkpoint_names import step_of
from gankit.training.choice import checkpoint_folder_run
from gankit.training.metric_names import greater_is_better
from gankit.training.run_index import format_value, is_run, read_config
from gankit.training.runlog import read_metrics

# What ``compare`` draws when no --metric is given: the first one every run logs, the
# headline of each kind of data (images, StackedMNIST, 2-D toys, translation)
DEFAULT_METRICS = ("eval/fid", "eval/stacked_modes", "eval/w1", "eval/modes", "eval/l1")
# The trainer's own figures, no measure of the run's quality
NOT_CURVES = frozenset({"step", "steps_per_s"})


@dataclass(frozen=True)
class Curve:
    """One run's values of one logged figure, by step."""

    run: str  # the run as given
    metric: str  # the name metrics.jsonl logs it under
    steps: list[int]
    values: list[float]

    @property
    def last(self) -> tuple[int, float] | None:
        """(step, value) of the newest point; None if the run never logged a value of it."""
        return (self.steps[-1], self.values[-1]) if self.steps else None

    @property
    def best(self) -> tuple[int, float] | None:
        """(step, value) of the best finite value (the earliest of equals); None if none is."""
        finite = [(s, v) for s, v in zip(self.steps, self.values, strict=True) if math.isfinite(v)]
        if not finite:
            return None
        sign = -1 if greater_is_better(self.metric) else 1
        return min(finite, key=lambda point: (sign * point[1], point[0]))

    def record(self) -> dict[str, Any]:
        last, best = self.last, self.best
        return {"run": self.run, "metric": self.metric,
                "last_step": last and last[0], "last": last and last[1],
                "best_step": best and best[0], "best": best and best[1],
                "points": len(self.steps)}


def run_and_last_step(given: Path) -> tuple[Path, int | None]:
    """A run directory as given, or a checkpoint folder ``RUN/checkpoints/step-N`` as (RUN, N)
    (:func:`gankit.training.choice.checkpoint_folder_run`); anything else is one line."""
    given = Path(given)
    if is_run(given):
        return given, None
    if (run_dir := checkpoint_folder_run(given)) is not None:
        return run_dir, step_of(given)
    raise GankitError(f"not a gankit run directory (no config.yaml): {given}")


def logged(records: list[dict[str, Any]]) -> list[str]:
    """The figures a run logs, in the order of first appearance."""
    names = dict.fromkeys(key for record in records for key in record)
    return [name for name in names if name not in NOT_CURVES]


def logged_as(metric: str, names: list[str]) -> str | None:
    """The name under which a run logs ``metric``: itself, or ``eval/metric`` for a snapshot
    metric given as its short name (``fid``)."""
    for candidate in (metric, f"eval/{metric}"):
        if candidate in names:
            return candidate
    return None


def default_metric(logs: dict[str, list[str]]) -> str:
    """The metric compared when none is named: the first of :data:`DEFAULT_METRICS` that every
    run logs, else their first shared snapshot metric; none shared is one line."""
    shared = [name for name in next(iter(logs.values()))
              if all(name in names for names in logs.values())]
    for name in (*DEFAULT_METRICS, *(n for n in shared if n.startswith("eval/"))):
        if name in shared:
            return name
    if shared:
        raise GankitError(f"the runs log no snapshot metric in common; give --metric, one of "
                          f"{', '.join(shared)}")
    raise GankitError(f"the runs log no figure in common: {_what_they_log(logs)}")


def read_curves(runs: list[str | Path], metric: str | None = None) -> list[Curve]:
    """Each run's curve of ``metric`` (the default of :func:`default_metric` when None); a run
    that does not log it is one line naming the run and what it logs, before anything is
    drawn."""
    if not runs:
        raise GankitError("compare needs at least one run directory")
    labels = [str(Path(given)) for given in runs]  # runs/a/ and runs/a are one run
    found = {label: run_and_last_step(Path(label)) for label in labels}
    _refuse_twice(labels, found)
    run_dirs, records, logs = {}, {}, {}
    for label in labels:
        run_dirs[label], last_step = found[label]
        records[label] = [r for r in read_metrics(run_dirs[label])
                          if last_step is None or r["step"] <= last_step]
        logs[label] = logged(records[label])
    if metric is None:
        metric = default_metric(logs)
    if missing := {run: names for run, names in logs.items()
                   if logged_as(metric, names) is None}:
        raise GankitError(f"no {metric} in {_what_they_log(missing)}")
    names = {label: logged_as(metric, logs[label]) for label in labels}
    if any(name.startswith("eval/") for name in names.values()):
        _warn_if_measured_apart(run_dirs)
    curves = []
    for label, kept in records.items():
        points = [(r["step"], float(r[names[label]])) for r in kept
                  if _is_value(r.get(names[label]))]
        curves.append(Curve(label, names[label], [s for s, _ in points], [v for _, v in points]))
    return curves


def _refuse_twice(labels: list[str], found: dict[str, tuple[Path, int | None]]) -> None:
    """One line for a run given twice, however spelled (``runs/a``, ``/abs/runs/a``,
    ``runs/b/../a``): the same run directory, resolved, up to the same step."""
    seen: dict[tuple[Path, int | None], str] = {}
    for label in labels:
        run_dir, last_step = found[label]
        first = seen.setdefault((run_dir.resolve(), last_step), label)
        if first == label and labels.count(label) > 1:
            raise GankitError(f"{label} is given twice; give each run once")
        if first != label:
            raise GankitError(f"{first} and {label} are one run, given twice; give each run "
                              f"once")


def _warn_if_measured_apart(run_dirs: dict[str, Path]) -> None:
    """A snapshot metric compares across runs only when measured against the same real data,
    in the same feature space, on as many samples (FID's bias depends on the count, Chong &
    Forsyth 2020): a warning when the runs' configs differ in those."""
    setups = {}
    for label, run_dir in run_dirs.items():
        data = read_config(run_dir).get("data")
        data = data if isinstance(data, dict) else {}
        where = f"{data.get('name')}" + (f" {data['path']}" if data.get("path") else "")
        setups[label] = (f"{where}, features {data.get('features') or 'default'}, "
                         f"n_eval {data.get('n_eval')}")
    if len(set(setups.values())) > 1:
        warnings.warn("the runs' snapshots measure different data, feature spaces or sample "
                      "counts, so their values may not compare: " + "; ".join(
                          f"{label}: {setup}" for label, setup in setups.items()), stacklevel=3)


def _what_they_log(logs: dict[str, list[str]]) -> str:
    """``a, b (they log x, y); c (it logs nothing yet)``: runs that log the same names, in
    whatever order they first logged them, once, the names in the first such run's order."""
    groups: dict[frozenset[str], list[str]] = {}
    order: dict[frozenset[str], list[str]] = {}
    for run, names in logs.items():
        groups.setdefault(frozenset(names), []).append(run)
        order.setdefault(frozenset(names), names)
    return "; ".join(f"{', '.join(runs)} ({'they' if len(runs) > 1 else 'it'} log"
                     f"{'' if len(runs) > 1 else 's'} {', '.join(order[key]) or 'nothing yet'})"
                     for key, runs in groups.items())


def _is_value(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def draw_curves(curves: list[Curve]) -> Any:  # -> matplotlib Figure
    """The curves on one pair of axes against step, a colour and a legend entry per run, a
    star at each run's best value."""
    from gankit.storage.figures import subplots

    fig, ax = subplots(figsize=(7, 4.2))
    for curve in curves:
        line, = ax.plot(curve.steps, curve.values, marker="o" if len(curve.steps) < 30 else None,
                        markersize=3, label=curve.run)
        if best := curve.best:  # a star where the table's "best" is, in the run's colour
            ax.scatter(*best, marker="*", s=90, color=line.get_color(), zorder=3)
    metric = curves[0].metric
    ax.set_xlabel("step")
    ax.set_ylabel(metric.removeprefix("eval/"))
    ax.set_title(f"{metric.removeprefix('eval/')} "
                 f"({'higher' if greater_is_better(metric) else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def save_curves(curves: list[Curve], out: Path) -> Path:
    """Draw the curves and write the PNG to exactly ``out``, whole or not at all."""
    from gankit.storage.figures import save_figure

    return save_figure(draw_curves(curves), Path(out), trim=False)


def compare_runs(runs: list[str | Path], metric: str | None = None,
                 out: str | Path | None = None, overwrite: bool = False) -> list[Curve]:
    """The API of ``gankit compare``: each run's curve of ``metric`` and, with ``out``, their
    figure written there (an existing file only with ``overwrite``); every check runs before
    anything is written."""
    from gankit.storage.files import check_output

    path = None if out is None else check_output(out, "file", overwrite)
    curves = read_curves(runs, metric)
    if path is not None:
        save_curves(curves, path)
    return curves


def table_rows(curves: list[Curve]) -> list[list[str]]:
    """The table ``gankit compare`` prints, header first."""
    metric = curves[0].metric.removeprefix("eval/")
    direction = "max" if greater_is_better(curves[0].metric) else "min"
    rows = [["run", f"last {metric}", "at step", f"best ({direction})", "at step", "points"]]
    for curve in curves:
        last, best = curve.last, curve.best
        rows.append([curve.run, _shown(last and last[1]), _shown(last and last[0]),
                     _shown(best and best[1]), _shown(best and best[0]),
                     str(len(curve.steps))])
    return rows


def _shown(value: float | int | None) -> str:
    return "-" if value is None else format_value(value)
