"""The k best checkpoints of a run by one snapshot metric (``train.keep_best``), kept apart
from the newest ``keep_checkpoints`` and listed in ``RUN/best.json``:

    {"metric": "fid", "mode": "min", "k": 2,
     "checkpoints": [{"step": 1200, "value": 31.4, "path": "checkpoints/step-0001200"}, ...]}

best first, ``path`` relative to the run directory. GAN quality is not monotone in the steps,
so the best moment of a run is usually not its last one (Lightning's ``ModelCheckpoint`` keeps
its ``save_top_k`` the same way).

The file is the list's only home: after each snapshot the trainer calls :func:`after_snapshot`,
which reads it, ranks the snapshot's value among the listed ones and writes it back
(atomically). A run resumed in place therefore keeps its list; entries of steps after the
resumed step belong to another history and drop out. It must rank by the list's metric and
mode (:func:`check_same_list`): another would start a new list and delete the listed
checkpoints. A ``best.json`` that exists but does not parse stops the list, with one warning,
and nothing is pruned while it lasts: its folders cannot be told apart from the others.
A run continued elsewhere (``--out``)
starts from the source's list (:func:`carry`), with paths into the source directory written
relative to the new one, so a new checkpoint must beat them to enter; the new run never deletes
a checkpoint outside its own directory. Reading the list imports no torch.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gankit.errors import GankitError
from gankit.training.metric_names import NOT_METRICS
from gankit.training.runlog import read_json_or_none, write_json

if TYPE_CHECKING:
    from gankit.configuration.schema import KeepBest
    from gankit.training.trainer import Trainer

BEST_FILE = "best.json"
_damage_said: set[Path] = set()  # the damaged lists warned about (once each, per process)


def read_best(run_dir: Path) -> dict[str, Any] | None:
    """``RUN/best.json`` as written by :func:`after_snapshot`; None when the run has none (no
    ``train.keep_best``, or no snapshot measured yet) or the file is not a list of entries."""
    record = read_json_or_none(Path(run_dir) / BEST_FILE)
    if record is None or not isinstance(record.get("checkpoints"), list):
        return None
    entries = [e for e in record["checkpoints"] if isinstance(e, dict)
               and isinstance(e.get("step"), int) and isinstance(e.get("path"), str)
               and isinstance(e.get("value"), (int, float))]
    return {**record, "checkpoints": entries}


def damaged(run_dir: Path) -> bool:
    """Whether ``RUN/best.json`` exists but is not a list (said once, as a warning): then
    nothing is pruned, and the list is not written, until it is fixed or removed."""
    path = Path(run_dir) / BEST_FILE
    if not path.is_file() or read_best(run_dir) is not None:
        return False
    if path.resolve() not in _damage_said:
        _damage_said.add(path.resolve())
        warnings.warn(f"{path} is damaged (not a best list): no checkpoint is pruned and the "
                      f"list is not kept until it is removed or fixed", stacklevel=3)
    return True


def listed_paths(run_dir: Path) -> set[Path]:
    """The checkpoint folders the best list holds, resolved: what pruning must not delete;
    every checkpoint folder where the list is :func:`damaged`."""
    from gankit.training.checkpoint import list_checkpoints

    if damaged(run_dir):
        return {p.resolve() for p in list_checkpoints(run_dir)}
    record = read_best(run_dir) or {"checkpoints": []}
    return {(Path(run_dir) / e["path"]).resolve() for e in record["checkpoints"]}


def check_same_list(run_dir: Path, keep: KeepBest | None) -> None:
    """Refuse, in one line, to keep the best in ``run_dir`` by another metric or mode than its
    ``best.json`` does: a new list would delete the checkpoints the old one holds."""
    record = read_best(run_dir)
    if keep is None or record is None \
            or (record.get("metric"), record.get("mode")) == (keep.metric, keep.order):
        return
    raise GankitError(f"train.keep_best ranks by {keep.metric} ({keep.order}), but "
                      f"{Path(run_dir) / BEST_FILE} lists the best by {record.get('metric')} "
                      f"({record.get('mode')}), whose checkpoints a new list would delete: "
                      f"keep that metric and mode here, or continue in another directory "
                      f"with --out DIR, where a new list starts")


def ranked(entries: list[dict[str, Any]], mode: str, k: int) -> list[dict[str, Any]]:
    """The ``k`` best of ``entries``, best first; of equal values the earlier step ranks first."""
    sign = 1.0 if mode == "min" else -1.0
    return sorted(entries, key=lambda e: (sign * e["value"], e["step"]))[:k]


def _entries_for(run_dir: Path, keep: KeepBest, step: int) -> list[dict[str, Any]]:
    """The listed entries that still count at ``step``: earlier steps of a list by the same
    metric and mode (another's entries do not compare: a run continued elsewhere starts
    anew)."""
    record = read_best(run_dir)
    if record is None or (record.get("metric"), record.get("mode")) != (keep.metric, keep.order):
        return []
    return [e for e in record["checkpoints"] if e["step"] < step]


def _write(run_dir: Path, keep: KeepBest, entries: list[dict[str, Any]]) -> None:
    write_json(Path(run_dir) / BEST_FILE, {"metric": keep.metric, "mode": keep.order,
                                            "k": keep.k, "checkpoints": entries})


def check_measured(keep: KeepBest | None, measures: frozenset[str] | None) -> None:
    """Refuse, before the first step, a metric the run's snapshots will not measure, where the
    plan knows what they measure (``measures``; toy data); else :func:`after_snapshot` does
    at the first snapshot."""
    if keep is not None and measures is not None and keep.metric not in measures:
        raise GankitError(f"train.keep_best.metric {keep.metric!r} is not measured by this "
                          f"run's snapshots; they measure {', '.join(sorted(measures))}")


def after_snapshot(trainer: Trainer) -> None:
    """Rank the snapshot just measured, as its curve logs it (:attr:`Trainer.last_curve`: the
    final snapshot's toy W1 over the same first points as every other's), among the best
    list; if it enters, checkpoint the step (unless :attr:`Trainer.saved_step` says it is
    saved) and list it; one pushed out goes unless it is among the newest
    ``keep_checkpoints``. A metric the snapshot does not measure is one line naming those it
    does (not its settings). Rank 0 only (the hooks run there)."""
    keep = trainer.config.train.keep_best
    record = trainer.last_curve
    if keep is None or trainer.run_dir is None or record.get("step") != trainer.step:
        return
    if keep.metric not in record:
        measured = [k for k, v in record.items() if k not in NOT_METRICS
                    and isinstance(v, (int, float)) and not isinstance(v, bool)]
        raise GankitError(f"train.keep_best.metric {keep.metric!r} is not measured by this run's "
                          f"snapshots; they measure {', '.join(measured) or 'nothing'}")
    value = record[keep.metric]
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return  # a failed measurement never ranks
    from gankit.training.checkpoint import checkpoint_dir, prune_checkpoints

    run_dir = trainer.run_dir
    if damaged(run_dir):
        return
    check_same_list(run_dir, keep)  # changed on the run since load() checked it
    folder = checkpoint_dir(run_dir, trainer.step)
    entry = {"step": trainer.step, "value": float(value),
             "path": folder.relative_to(run_dir).as_posix()}
    entries = _entries_for(run_dir, keep, trainer.step)
    best = ranked([*entries, entry], keep.order, keep.k)
    if entry not in best:
        return
    if trainer.saved_step != trainer.step or not folder.is_dir():
        trainer.save()  # its checks: finite weights, the rollback target, saved_step
    _write(run_dir, keep, best)  # before pruning: a kill between the two loses no listed one
    prune_checkpoints(run_dir, trainer.config.train.keep_checkpoints, listed_paths(run_dir))


def carry(source: Path, run_dir: Path, step: int, keep: KeepBest | None) -> None:
    """Start the best list of a run continued from ``source`` at ``step`` in another
    ``run_dir``: the source's entries up to ``step``, their paths relative to ``run_dir``."""
    if keep is None or Path(source).resolve() == Path(run_dir).resolve():
        return
    entries = _entries_for(source, keep, step + 1)
    for e in entries:
        e["path"] = Path(os.path.relpath(Path(source) / e["path"], run_dir)).as_posix()
    if entries:
        _write(run_dir, keep, ranked(entries, keep.order, keep.k))


def best_checkpoint(run_dir: Path) -> tuple[Path, dict[str, Any]]:
    """The best listed checkpoint of a run and its entry; one line where the run keeps no
    list (no ``train.keep_best``) or has measured nothing yet."""
    from gankit.configuration.yaml_io import read_yaml

    record = read_best(run_dir)
    if record is None or not record["checkpoints"]:
        config = read_yaml(Path(run_dir) / "config.yaml")
        train = config.get("train") if isinstance(config, dict) else None
        if not (isinstance(train, dict) and train.get("keep_best")):
            raise GankitError(f"--checkpoint best: run {run_dir} keeps no best checkpoints "
                              f"(train.keep_best is not set); give a step or latest")
        raise GankitError(f"--checkpoint best: run {run_dir} has no best checkpoint yet (no "
                          f"snapshot has measured its metric); give a step or latest")
    entry = record["checkpoints"][0]
    return Path(run_dir) / entry["path"], {**entry, "metric": record.get("metric")}
