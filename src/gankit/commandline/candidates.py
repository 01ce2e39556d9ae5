"""What the project offers a TAB: shipped config and preset names, run directories, checkpoint
steps, experiments, feature spaces, data sets, ``gankit runs``' columns and the figures runs
log. Each is read without torch (the configs' first lines, folder names, the registries'
declarations, the keys at the ends of metrics.jsonl), so a completion answers in a Python
start-up; :mod:`gankit.commandline.completion` picks one by the argument's kind.

Each function takes the word typed so far (and, where the answer depends on the rest of the
line, the words before it) and returns ``(value, description)`` pairs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from gankit.training.checkpoint_names import step_of

RUN_MARKER = "config.yaml"  # a run directory is a folder holding its config
_SEARCH_DEPTH = 3  # runs/view/NAME below the current directory
_SEARCH_LIMIT = 2000  # folders looked at, at most: a TAB in a home directory stays quick


def _matching(prefix: str, named: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, text) for name, text in named.items() if name.startswith(prefix)]


def config_names(prefix: str) -> list[tuple[str, str]]:
    """Shipped data-set configs and, once the word holds one whole (or only one fits), its
    ``DATASET-PRESET`` forms: 300 names at once would bury the fifteen data sets."""
    from gankit.configuration.compose import config_summary, shipped_configs

    datasets, presets = shipped_configs()
    fitting = [name for name in datasets if name.startswith(prefix)]
    found = [(name, config_summary(name)) for name in fitting]
    for dataset in datasets:
        if prefix.startswith(dataset) or fitting == [dataset]:
            found += _matching(prefix, {f"{dataset}-{preset}": config_summary(f"presets/{preset}")
                                        for preset in presets})
    return found


def run_directories(prefix: str) -> list[tuple[str, str]]:
    """Run directories whose path starts with ``prefix``, searched from the folder the prefix
    names (the current one for a bare name) a few levels down, not into the runs themselves;
    inside a run (``runs/x/``), its checkpoint folders, which name a checkpoint as a run does."""
    typed = prefix[:prefix.rfind("/") + 1]  # "", "runs/" or "/": kept as typed
    root = Path(os.path.expanduser(typed or "."))
    if _is_run(root) or (root.name == "checkpoints" and _is_run(root.parent)):
        inside = typed + "checkpoints/" if _is_run(root) else typed
        run = root if _is_run(root) else root.parent
        return _matching(prefix, {inside + step.name: "" for step in _step_folders(run)})
    return [(text, "") for text, folder in _folders(root, typed, prefix, [_SEARCH_LIMIT])
            if _is_run(folder)]


def _folders(root: Path, typed: str, prefix: str, budget: list[int], depth: int = _SEARCH_DEPTH
             ) -> Iterator[tuple[str, Path]]:
    """The visible sub-folders of ``root`` to ``depth`` levels whose path as typed
    (``typed + NAME``) starts with ``prefix``, without entering a run directory; at most
    ``budget[0]`` of them in all."""
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:  # unreadable, or not a folder
        return
    for entry in entries:
        text = typed + entry.name
        if (budget[0] <= 0 or entry.name.startswith(".") or not text.startswith(prefix)
                or not _is_folder(entry)):
            continue
        budget[0] -= 1
        yield text, Path(entry.path)
        if depth > 1 and not _is_run(entry.path):
            yield from _folders(Path(entry.path), text + "/", prefix, budget, depth - 1)


def _is_run(folder: str | Path) -> bool:
    """A run directory: a folder holding its config (``os.path``: a folder that cannot be read
    is not one, where ``Path.is_file`` would raise)."""
    return os.path.isfile(os.path.join(folder, RUN_MARKER))


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a link that cannot be followed (/proc/1/cwd)
        return False


def _step_folders(run: Path) -> list[Path]:
    """The ``checkpoints/step-N`` folders of a run, oldest first (their names, read without
    :mod:`gankit.training.checkpoint`, which imports torch)."""
    steps = [path for path in (run / "checkpoints").glob("step-*")
             if step_of(path) is not None and path.is_dir()]
    return sorted(steps, key=step_of)


def checkpoints(prefix: str, words: list[str]) -> list[tuple[str, str]]:
    """``latest``, ``best`` (a run that keeps its best: ``best.json``) and the steps of the
    first run directory on the line; both names without one. A checkpoint folder on the line
    takes its own step only, and ``latest``/``best`` where they name that folder: any other
    choice is refused for it (:func:`gankit.training.choice.choose`)."""
    run, folder = next((named for named in map(_run_of, words) if named[0] is not None),
                       (None, None))
    steps = [] if run is None else _step_folders(run)
    named = {"latest": "the newest intact checkpoint"}
    if run is None or (run / "best.json").is_file():
        named["best"] = "the best by train.keep_best's metric"
    if folder is not None:
        named = {name: text for name, text in named.items()
                 if same_path(folder, (steps[-1:] if name == "latest" else _best(run))[:1])}
        steps = [folder]
    named |= {str(step_of(step)): "" for step in steps}
    return _matching(prefix, named)


def _run_of(word: str) -> tuple[Path | None, Path | None]:
    """The run a word of the line names and, for one of its checkpoint folders, the folder:
    (run, None), (run, folder), or (None, None) for a word that names no run."""
    if word.startswith("-"):
        return None, None
    path = Path(os.path.expanduser(word))
    if _is_run(path):
        return path, None
    run = path.parent.parent
    if (path.parent.name == "checkpoints" and step_of(path) is not None and path.is_dir()
            and _is_run(run)):
        return run, path
    return None, None


def _best(run: Path) -> list[Path]:
    """The best checkpoint's folder as ``best.json`` lists it (read without torch), or none."""
    try:
        listed = json.loads((run / "best.json").read_text())["checkpoints"][0]["path"]
    except (OSError, ValueError, LookupError, TypeError):  # no list, or not one we can read
        return []
    return [run / listed]


def same_path(path: Path, others: list[Path]) -> bool:
    """Whether ``path`` names one of ``others``, however each is spelled."""
    return any(os.path.realpath(path) == os.path.realpath(other) for other in others)


def experiment_names(prefix: str) -> list[tuple[str, str]]:
    from gankit.registry import declared

    named = {name: d.summary for name, d in
             declared("gankit.experiments.base:EXPERIMENTS").items()}
    return _matching(prefix, named | {"list": "list the experiments"})


def feature_spaces(prefix: str) -> list[tuple[str, str]]:
    from gankit.commandline.flags import feature_extractors

    return _matching(prefix, {name: d.summary for name, d in feature_extractors().items()})


def data_sets(prefix: str) -> list[tuple[str, str]]:
    from gankit.configuration.compose import config_summary, shipped_configs

    return _matching(prefix, {name: config_summary(name) for name in shipped_configs()[0]})


def sort_keys(prefix: str) -> list[tuple[str, str]]:
    """The columns ``gankit runs --sort`` takes (a metric of eval.json too, typed whole)."""
    from gankit.training.run_index import sort_keys as columns

    return _matching(prefix, dict.fromkeys(columns([]), ""))


_METRICS_READ = 1 << 20  # bytes of metrics.jsonl read from each end: a TAB stays quick


def logged_metrics(prefix: str, words: list[str]) -> list[tuple[str, str]]:
    """The figures every run on the line logs, as ``gankit compare --metric`` takes them: a
    snapshot metric by its short name (``fid`` for ``eval/fid``). Read from the keys of
    ``metrics.jsonl``'s first and last megabyte, not its records: a TAB stays quick, and
    snapshots log from the first interval to the final step."""
    from gankit.training.run_comparison import NOT_CURVES

    runs = [run for run, _ in map(_run_of, words) if run is not None]
    shared = set.intersection(*map(_logged_names, runs)) if runs else set()
    short = {name: name.removeprefix("eval/") for name in shared - NOT_CURVES}
    return _matching(prefix, {text: "snapshot metric" if name != text else ""
                              for name, text in sorted(short.items())})


def _logged_names(run: Path) -> set[str]:
    """The keys metrics.jsonl's ends hold (a key is ``"NAME":``; values hold no quotes)."""
    try:
        with open(run / "metrics.jsonl", "rb") as file:
            text = file.read(_METRICS_READ)
            file.seek(max(len(text), file.seek(0, os.SEEK_END) - _METRICS_READ))
            text += b"\n" + file.read()
    except OSError:  # no metrics yet
        return set()
    return {key.decode(errors="replace") for key in re.findall(rb'"([^"\\]+)"\s*:', text)}
