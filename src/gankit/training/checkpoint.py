"""Checkpoints that load without executing anything: safetensors weights + JSON state.

Layout of one checkpoint, a directory ``checkpoints/step-000500/``:

- ``tensors.safetensors``: every tensor (network weights, optimizer moments, RNG states);
- ``state.json``: everything else (step, config, optimizer hyper-parameters, the precision it
  trained in, gankit version),
  the SHA-256 of the tensor file and a SHA-256 of the state itself, both checked at load so a
  damaged file is reported, not trusted (a flipped digit is still valid JSON).

A checkpoint is written into a temporary sibling directory and renamed into place, so a crash,
a kill or a full disk during a save leaves every earlier checkpoint whole; what such a save
leaves behind (a dot-named temporary directory) is removed at the next start
(:func:`clean_checkpoints`). Nothing is unpickled at load, and every field is validated before
use: any damage is a :class:`~gankit.errors.DamagedCheckpoint` naming the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Set
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from gankit.errors import CheckpointError, DamagedCheckpoint
from gankit.storage.files import give_usual_mode, remove, temporary_sibling
from gankit.training.checkpoint_names import step_of

FORMAT = "gankit-checkpoint/1"
TENSORS, STATE = "tensors.safetensors", "state.json"
_TENSOR_REF, _INT_KEYS = "__tensor__", "__int_keys__"
_STATE_DIGEST = "state_sha256"


def split_tensors(obj: Any, prefix: str, tensors: dict[str, Tensor]) -> Any:
    """Replace every tensor in nested dicts/lists by a reference, collecting it in ``tensors``.

    Used for optimizer ``state_dict()``s, whose per-parameter state is keyed by ints and holds
    tensors; int keys are recorded so that :func:`join_tensors` restores the exact structure.
    """
    if isinstance(obj, Tensor):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {_TENSOR_REF: prefix}
    if isinstance(obj, dict):
        plain = {str(k): split_tensors(v, f"{prefix}.{k}", tensors) for k, v in obj.items()}
        if obj and all(isinstance(k, int) for k in obj):
            return {_INT_KEYS: plain}
        return plain
    if isinstance(obj, (list, tuple)):
        return [split_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    return obj


def join_tensors(obj: Any, tensors: dict[str, Tensor]) -> Any:
    """Inverse of :func:`split_tensors`."""
    if isinstance(obj, dict):
        if set(obj) == {_TENSOR_REF}:
            return tensors[obj[_TENSOR_REF]]
        if set(obj) == {_INT_KEYS}:
            return {int(k): join_tensors(v, tensors) for k, v in obj[_INT_KEYS].items()}
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _state_digest(state: dict[str, Any]) -> str:
    """SHA-256 of the state as JSON; computed on loaded data, so save and load agree exactly."""
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def save_checkpoint(directory: Path, tensors: dict[str, Tensor], state: dict[str, Any]) -> Path:
    """Write a checkpoint atomically to ``directory`` (replacing one that is there); a failed
    write (a full disk, a size limit) is one :class:`CheckpointError` line."""
    directory = Path(directory)
    old = directory.with_name(f".{directory.name}.old")
    tmp = temporary_sibling(directory)  # named first: an interruption at any point finds it
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp / TENSORS)
        # After **state: a state read back from a checkpoint carries its old format and checksum.
        record = {**state, "format": FORMAT, "sha256": _sha256(tmp / TENSORS)}
        record = json.loads(json.dumps(record))  # as load will see it: str keys, lists
        record.pop(_STATE_DIGEST, None)
        record[_STATE_DIGEST] = _state_digest(record)
        with open(tmp / STATE, "w") as f:
            json.dump(record, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        give_usual_mode(tmp)  # a shared run directory: the group reads what was written
        if directory.exists():
            remove(old)
            os.replace(directory, old)
            os.replace(tmp, directory)
            remove(old)
        else:
            os.replace(tmp, directory)
    except BaseException as err:
        remove(tmp)
        if old.exists():
            if directory.exists():  # the new checkpoint is in place: the old one goes
                remove(old)
            else:  # failed between the two renames
                os.replace(old, directory)
        if isinstance(err, (OSError, SafetensorError)):
            raise CheckpointError(f"cannot write checkpoint {directory}: {_reason(err)}") from None
        raise
    return directory


def _reason(err: BaseException) -> str:
    """An OS error as its text ("No space left on device"), safetensors' own as its last part."""
    if isinstance(err, OSError):
        return err.strerror or str(err)
    return str(err).split(": ", 1)[-1]


def load_checkpoint(directory: Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read and verify a checkpoint; any damage raises a one-line :class:`DamagedCheckpoint`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"not a gankit checkpoint: {directory} is not a folder")
    for name in (STATE, TENSORS):
        if not (directory / name).is_file():
            raise DamagedCheckpoint(f"not a complete gankit checkpoint: {directory} has no "
                                    f"{name}")
    try:
        state = json.loads((directory / STATE).read_text())
    except (ValueError, OSError, RecursionError) as err:
        raise DamagedCheckpoint(f"damaged checkpoint {directory / STATE}: {err}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise DamagedCheckpoint(f"damaged checkpoint {directory / STATE}: format is not {FORMAT}")
    claimed = state.pop(_STATE_DIGEST, None)
    if claimed != _state_digest(state):
        raise DamagedCheckpoint(f"damaged checkpoint {directory / STATE}: checksum mismatch")
    if _sha256(directory / TENSORS) != state.get("sha256"):
        raise DamagedCheckpoint(f"damaged checkpoint {directory / TENSORS}: checksum mismatch")
    validate_state(directory / STATE, state)
    try:
        tensors = load_file(directory / TENSORS)
    except (SafetensorError, OSError) as err:
        raise DamagedCheckpoint(f"damaged checkpoint {directory / TENSORS}: {err}") from None
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise DamagedCheckpoint(f"damaged checkpoint {directory / TENSORS}: tensor {key} "
                                    f"holds non-finite values")
    return tensors, state


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Every field of state.json that gankit writes, with what it must be; a field that a reader
# needs but is absent is reported by that reader (the trainer, the run).
_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "step": (lambda v: _is_int(v) and 0 <= v < 2**63, "an integer in [0, 2^63)"),
    "elapsed": (lambda v: _is_number(v) and v >= 0, "a finite number >= 0"),
    "gankit_version": (lambda v: isinstance(v, str), "a string"),
    "config": (lambda v: isinstance(v, dict), "a mapping"),
    "device": (lambda v: v in ("cpu", "cuda"), "'cpu' or 'cuda'"),
    "optimizers": (lambda v: isinstance(v, dict) and all(isinstance(o, dict) for o in v.values()),
                   "a mapping of optimizer states"),
    "optimizer_types": (lambda v: isinstance(v, dict)
                        and all(isinstance(t, str) for t in v.values()),
                        "a mapping of optimizer names to class names"),
    "lr_scale": (lambda v: _is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "rollbacks": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "precision": (lambda v: v in ("fp32", "bf16"), "'fp32' or 'bf16'"),
}


def validate_state(path: Path, state: dict[str, Any]) -> None:
    """Check each known field's type and range."""
    for name, (valid, allowed) in _FIELDS.items():
        if name in state and not valid(state[name]):
            shown = json.dumps(state[name])
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise DamagedCheckpoint(f"damaged checkpoint {path}: field {name} must be "
                                    f"{allowed}, got {shown}")


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:07d}"


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """Every ``step-N`` folder of a run, finished or not, oldest first: by number, so
    step-10000000 comes after step-9999999 (temporary dot-named folders are not included)."""
    root = Path(run_dir) / "checkpoints"
    return sorted((p for p in root.glob("step-*") if step_of(p) is not None and p.is_dir()),
                  key=step_of)


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Finished checkpoints of a run (those with their state file), oldest first."""
    return [p for p in checkpoint_dirs(run_dir) if (p / STATE).is_file()]


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def latest_intact_checkpoint(run_dir: Path) -> Path | None:
    """The newest checkpoint that loads and verifies (the "last good" one of an error)."""
    for path in reversed(checkpoint_dirs(run_dir)):
        try:
            load_checkpoint(path)
        except DamagedCheckpoint:
            continue
        return path
    return None


def clean_checkpoints(run_dir: Path) -> None:
    """Remove what killed saves and prunes leave (dot-named temporary folders, empty step
    folders); a checkpoint caught between the two renames of a re-save is put back."""
    root = Path(run_dir) / "checkpoints"
    for old in root.glob(".step-*.old"):
        final = old.with_name(old.name.removeprefix(".").removesuffix(".old"))
        if not final.exists() and (old / STATE).is_file():
            os.replace(old, final)
    for leftover in root.glob(".step-*"):
        remove(leftover)
    for folder in checkpoint_dirs(run_dir):
        if not any(folder.iterdir()):
            folder.rmdir()


def prune_checkpoints(run_dir: Path, keep: int, protected: Set[Path] = frozenset()) -> None:
    """Delete all but the newest ``keep`` finished checkpoints and those in ``protected``
    (resolved paths: the best list of ``train.keep_best``), and leftovers of killed saves
    and incomplete folders older than those kept.
    Each is renamed to a dot-name first, so that a kill in the middle of deleting it leaves a
    temporary folder (cleaned at the next start), never a half-deleted ``step-N``."""
    found = list_checkpoints(run_dir)
    old_ones = [p for p in found[: max(len(found) - keep, 0)]  # [:-keep]: all for keep = 0
                if p.resolve() not in protected]
    if keep and len(found) >= keep:  # incomplete folders older than those kept go too
        first_kept = step_of(found[-keep])
        old_ones += [p for p in checkpoint_dirs(run_dir)
                     if step_of(p) < first_kept and p not in found]
    for old in old_ones:
        doomed = old.with_name(f".{old.name}.pruned")
        try:
            os.replace(old, doomed)
        finally:  # an interruption between the rename and the deletion leaves nothing either
            remove(doomed)
    for leftover in (Path(run_dir) / "checkpoints").glob(".step-*"):
        remove(leftover)
