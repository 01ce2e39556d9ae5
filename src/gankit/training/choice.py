"""Which checkpoint of a run a command or :func:`gankit.load` reads.

A run is given as its directory (a folder holding ``config.yaml``) or as one of its checkpoint
folders, ``RUN/checkpoints/step-0000500`` (the run is two levels up); the choice is None (the
newest intact checkpoint: newer damaged ones are skipped with a warning), ``"latest"`` (the
same, said explicitly), ``"best"`` (the first of ``RUN/best.json``,
:mod:`gankit.training.best`) or a step number. A checkpoint folder with a choice must be the
checkpoint the choice names (``latest``: the newest folder). In Python the choice may also be
the folder itself (:func:`folder_given`), of the same run. Every refusal is one line, before
anything is loaded: a step the run has not kept, asked for by number or by a folder that does
not exist, lists the steps it has.

A run continued in place from an explicitly chosen checkpoint that is not its newest would
write a second history over the first (``metrics.jsonl``, the newer checkpoints, the best
list): :func:`check_continuation` refuses it, unless the run continues in another directory
(``--out``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gankit.errors import GankitError
from gankit.training.checkpoint_names import step_of

KEYWORDS = ("latest", "best")


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


def parse_choice(text: str | int | None, name: str = "checkpoint") -> str | int | None:
    """``"latest"``, ``"best"``, a step number (as int) or None; anything else one line, whose
    subject is ``name`` (the API's argument; the CLI gives "" since argparse names the flag)."""
    if text is None or text in KEYWORDS:
        return text
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 19:
        return int(text)
    shown = str(text) if len(str(text)) <= 40 else str(text)[:37] + "..."
    subject = f"{name} " if name else ""
    raise GankitError(f"{subject}must be a step number, latest or best, got {shown!r}")


def folder_given(choice: str | int | Path | None) -> Path | None:
    """``choice`` as a checkpoint folder where it names one rather than a choice: a Path, or
    text that is not a step number, latest or best (``gankit.load(run, checkpoint=FOLDER)``,
    ``Run.restore(FOLDER)``); else None."""
    if isinstance(choice, Path):
        return choice
    if isinstance(choice, str) and choice not in KEYWORDS \
            and not (choice.isascii() and choice.isdigit()):
        return Path(choice)
    return None


def checkpoint_folder_run(path: Path) -> Path | None:
    """The run directory of a checkpoint folder ``RUN/checkpoints/step-N``, else None."""
    path = Path(path)
    if (step_of(path) is not None and path.parent.name == "checkpoints"
            and (path.parent.parent / "config.yaml").is_file()):
        return path.parent.parent
    return None


def run_of(path: str | Path) -> Path:
    """The run directory a run argument names (itself, or a checkpoint folder's run)."""
    return checkpoint_folder_run(Path(path)) or Path(path)


def kept_steps(run_dir: Path) -> list[int]:
    """The steps of the run's checkpoint folders, oldest first."""
    from gankit.training.checkpoint import list_checkpoints

    return [step_of(p) for p in list_checkpoints(run_dir)]


def _not_kept(run_dir: Path, step: int) -> GankitError:
    """The one line for a step the run has not kept: the steps it has."""
    kept = ", ".join(map(str, kept_steps(run_dir))) or "none"
    return GankitError(f"run {run_dir} has no checkpoint of step {step}; its checkpoints: "
                       f"{kept}")


def choose(run: str | Path, choice: str | int | Path | None = None,
           name: str = "checkpoint") -> Chosen:
    """Resolve a run argument and a choice (see the module's docstring). ``choice`` may also
    be a checkpoint folder (:func:`folder_given`), which must be one of ``run``'s."""
    from gankit.training.checkpoint import checkpoint_dir, list_checkpoints

    if (folder := folder_given(choice)) is not None:
        chosen = choose(folder, None, name)
        if chosen.how != "folder":
            shown = str(folder) if len(str(folder)) <= 40 else str(folder)[:37] + "..."
            raise GankitError(f"{name} must be a step number, latest, best or a checkpoint "
                              f"folder RUN/checkpoints/step-N, got {shown!r}")
        if chosen.run_dir.resolve() != run_of(run).resolve():
            raise GankitError(f"{name} {folder} is a checkpoint of run {chosen.run_dir}, not "
                              f"of {run}")
        return chosen
    run, choice = Path(run), parse_choice(choice, name)
    if (run_dir := checkpoint_folder_run(run)) is not None:
        step = step_of(run)
        if not run.is_dir():
            raise _not_kept(run_dir, step)
        if choice is not None:  # the folder with a choice: the same checkpoint, or refused
            other = choose(run_dir, choice, name).checkpoint or list_checkpoints(run_dir)[-1]
            if other.resolve() != run.resolve():
                raise GankitError(f"{run} is the checkpoint of step {step}, not the one "
                                  f"{choice} names: give the run directory {run_dir} and the "
                                  f"choice, or the folder alone")
        return Chosen(run_dir, run, "folder")
    if choice is None or choice == "latest":
        return Chosen(run, None, "latest" if choice else "newest")
    if choice == "best":
        from gankit.training.best import best_checkpoint

        path, entry = best_checkpoint(run)
        value = entry["value"]
        return Chosen(run, path, "best", f"best {entry['metric']} {value:.4g}")
    if choice not in kept_steps(run):
        raise _not_kept(run, choice)
    return Chosen(run, checkpoint_dir(run, choice), "step")


def check_continuation(chosen: Chosen, run_dir: Path | None) -> None:
    """Refuse to train on in ``chosen.run_dir`` itself from an explicitly chosen checkpoint
    older than the run's newest (one line naming the newer steps and ``--out``); before the
    checkpoint is loaded (``gankit train --resume``) as after (:meth:`gankit.Run.fit`)."""
    if not chosen.explicit or run_dir is None \
            or Path(run_dir).resolve() != chosen.run_dir.resolve():
        return
    step = chosen.step
    if step is None and chosen.checkpoint is not None:  # not loaded yet: its folder's name
        step = step_of(chosen.checkpoint)
    if step is not None and (newer := newer_steps(run_dir, step)):
        raise GankitError(f"run {run_dir} has checkpoints after step {step} "
                          f"({', '.join(map(str, newer))}); training on from step {step} in "
                          f"place would mix two histories: continue it in another directory "
                          f"with --out DIR")


def newer_steps(run_dir: Path, step: int) -> list[int]:
    """The steps of ``run_dir``'s checkpoints after ``step``: training on from ``step`` in
    ``run_dir`` itself would write a second history over them."""
    return [s for s in kept_steps(run_dir) if s > step]
