"""Checkpoints that load without executing anything: safetensors weights + JSON state.

Layout of one checkpoint, a directory ``checkpoints/step-000500/``:

- ``tensors.safetensors``: every tensor (network weights, optimizer moments, RNG states);
- ``state.json``: everything else (step, config, optimizer hyper-parameters, gankit version),
  the SHA-256 of the tensor file and a SHA-256 of the state itself, both checked at load so a
  damaged file is reported, not trusted (a flipped digit is still valid JSON).

A checkpoint is written into a temporary sibling directory and renamed into place, so a crash or
a kill during a save leaves every earlier checkpoint whole. Nothing is unpickled at load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from gankit.errors import CheckpointError

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


def _step_of(path: Path) -> int | None:
    number = path.name.removeprefix("step-")
    return int(number) if number.isascii() and number.isdigit() else None


def save_checkpoint(directory: Path, tensors: dict[str, Tensor], state: dict[str, Any]) -> Path:
    """Write a checkpoint atomically to ``directory`` (replacing one that is there)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
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
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        old = directory.with_name(f".{directory.name}.old")
        if old.exists() and not directory.exists():  # failed between the two renames
            os.replace(old, directory)
        raise
    return directory


def load_checkpoint(directory: Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Read and verify a checkpoint; any damage raises one-line :class:`CheckpointError`."""
    directory = Path(directory)
    if not (directory / STATE).is_file() or not (directory / TENSORS).is_file():
        raise CheckpointError(f"not a gankit checkpoint: {directory} (needs {TENSORS} and {STATE})")
    try:
        state = json.loads((directory / STATE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as err:
        raise CheckpointError(f"damaged checkpoint {directory / STATE}: {err}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"damaged checkpoint {directory / STATE}: format is not {FORMAT}")
    claimed = state.pop(_STATE_DIGEST, None)
    if claimed != _state_digest(state):
        raise CheckpointError(f"damaged checkpoint {directory / STATE}: checksum mismatch")
    if _sha256(directory / TENSORS) != state.get("sha256"):
        raise CheckpointError(f"damaged checkpoint {directory / TENSORS}: checksum mismatch")
    try:
        tensors = load_file(directory / TENSORS)
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"damaged checkpoint {directory / TENSORS}: {err}") from None
    return tensors, state


def checkpoint_dir(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"step-{step:07d}"


def list_checkpoints(run_dir: Path) -> list[Path]:
    """Finished checkpoints of a run, oldest first (temporary directories are ignored)."""
    root = Path(run_dir) / "checkpoints"
    found = [p for p in root.glob("step-*") if _step_of(p) is not None and (p / STATE).is_file()]
    return sorted(found, key=_step_of)  # by number: step-10000000 comes after step-9999999


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` finished checkpoints, and leftovers of killed saves."""
    found = list_checkpoints(run_dir)
    for old in found[: max(len(found) - keep, 0)]:  # [:-keep] would keep all for keep = 0
        shutil.rmtree(old, ignore_errors=True)
    for leftover in (Path(run_dir) / "checkpoints").glob(".step-*"):
        shutil.rmtree(leftover, ignore_errors=True)

