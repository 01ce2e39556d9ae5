"""Which checkpoint of a run a command or :func:`gankit.load` reads.

A run is given as its directory (a folder holding ``config.yaml``) or as one of its checkpoint
folders, ``RUN/checkpoints/step-0000500`` (the run is two levels up); the choice is None (the
newest intact checkpoint: newer damaged ones are skipped with a warning), ``"latest"`` (the
same, said explicitly), ``"best"`` (the first of ``RUN/best.json``,
:mod:`gankit.training.best`) or a step number. Every refusal is one line, before anything is
loaded: a step the run has not kept lists the steps it has.

A run continued in place from an explicitly chosen checkpoint that is not its newest would
write a second history over the first (``metrics.jsonl``, the newer checkpoints, the best
list): :func:`check_continuation` refuses it, unless the run continues in another directory
(``--out``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gankit.errors import GankitError

KEYWORDS = ("latest", "best")
_FOLDER = re.compile(r"step-[0-9]+")


@dataclass(frozen=True)
class Chosen:
    """A checkpoint choice, resolved: ``run_dir`` and the ``checkpoint`` folder (None until
    loaded for the newest intact one), ``how`` it was chosen (``newest``, ``latest``, ``best``,
    ``step``, ``folder``), ``note`` (the best list's metric and value) and, once loaded, the
    ``step``."""

    run_dir: Path
    checkpoint: Path | None
    how: str
    note: str = ""
    step: int | None = None

    @property
    def explicit(self) -> bool:
        """Whether a particular checkpoint was asked for (not simply the newest)."""
        return self.how not in ("newest", "latest")

    def relative(self) -> str:
        """The checkpoint folder relative to the run (``checkpoints/step-0001200``), as eval
        records, exports and samples' metadata record it."""
        assert self.checkpoint is not None
        try:
            return self.checkpoint.relative_to(self.run_dir).as_posix()
        except ValueError:
            return self.checkpoint.as_posix()

    def record(self) -> dict[str, object]:
        """What a file written from this checkpoint records of it."""
        return {"run": str(self.run_dir), "checkpoint": self.relative(), "step": self.step}

    def describe(self) -> str:
        """``step 1200 (best fid 31.4) of runs/x``: the line a command prints."""
        note = self.note or (self.how if self.how in KEYWORDS else "")
        return f"step {self.step}{f' ({note})' if note else ''} of {self.run_dir}"


def parse_choice(text: str | int | None) -> str | int | None:
    """``"latest"``, ``"best"``, a step number (as int) or None; anything else one line."""
    if text is None or text in KEYWORDS:
        return text
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 19:
        return int(text)
    shown = str(text) if len(str(text)) <= 40 else str(text)[:37] + "..."
    raise GankitError(f"--checkpoint must be a step number, latest or best, got {shown!r}")


def checkpoint_folder_run(path: Path) -> Path | None:
    """The run directory of a checkpoint folder ``RUN/checkpoints/step-N``, else None."""
    path = Path(path)
    if (_FOLDER.fullmatch(path.name) and path.parent.name == "checkpoints"
            and (path.parent.parent / "config.yaml").is_file()):
        return path.parent.parent
    return None


def run_of(path: str | Path) -> Path:
    """The run directory a run argument names (itself, or a checkpoint folder's run)."""
    return checkpoint_folder_run(Path(path)) or Path(path)


def choose(run: str | Path, choice: str | int | None = None) -> Chosen:
    """Resolve a run argument and a choice (see the module's docstring)."""
    from gankit.training.checkpoint import checkpoint_dir, list_checkpoints

    run, choice = Path(run), parse_choice(choice)
    if (run_dir := checkpoint_folder_run(run)) is not None:
        step = int(run.name.removeprefix("step-"))
        if choice is not None and choice != "latest" and choice != step:
            other = choose(run_dir, choice) if choice == "best" else None
            if other is None or other.checkpoint.resolve() != run.resolve():
                raise GankitError(f"{run} is the checkpoint of step {step}; --checkpoint "
                                  f"{choice} names another: give the run directory "
                                  f"{run_dir} with --checkpoint, or the folder alone")
        return Chosen(run_dir, run, "folder")
    if choice is None or choice == "latest":
        return Chosen(run, None, "latest" if choice else "newest")
    if choice == "best":
        from gankit.training.best import best_checkpoint

        path, entry = best_checkpoint(run)
        value = entry["value"]
        return Chosen(run, path, "best", f"best {entry['metric']} {value:.4g}")
    steps = [int(p.name.removeprefix("step-")) for p in list_checkpoints(run)]
    if choice not in steps:
        kept = ", ".join(map(str, steps)) if steps else "none"
        raise GankitError(f"--checkpoint {choice}: run {run} has no checkpoint of step "
                          f"{choice}; its checkpoints: {kept}")
    return Chosen(run, checkpoint_dir(run, choice), "step")


def check_continuation(chosen: Chosen, run_dir: Path | None) -> None:
    """Refuse to train on in ``chosen.run_dir`` itself from an explicitly chosen checkpoint
    older than the run's newest (one line naming the newer steps and ``--out``)."""
    if not chosen.explicit or run_dir is None or chosen.step is None \
            or Path(run_dir).resolve() != chosen.run_dir.resolve():
        return
    if newer := newer_steps(chosen.run_dir, chosen.step):
        raise GankitError(f"run {run_dir} has checkpoints after step {chosen.step} "
                          f"({', '.join(map(str, newer))}); training on from step "
                          f"{chosen.step} in place would mix two histories: continue it in "
                          f"another directory with --out DIR")


def newer_steps(run_dir: Path, step: int) -> list[int]:
    """The steps of ``run_dir``'s checkpoints after ``step``: training on from ``step`` in
    ``run_dir`` itself would write a second history over them."""
    from gankit.training.checkpoint import list_checkpoints

    return [s for s in (int(p.name.removeprefix("step-")) for p in list_checkpoints(run_dir))
            if s > step]
