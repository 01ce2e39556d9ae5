"""A trainer's state as a checkpoint holds it, and its way back in.

A checkpoint (:mod:`gankit.training.checkpoint`) is tensors for safetensors plus plain data for
JSON. Of a trainer it holds the networks' weights, the optimizers' moments (split into tensors
and JSON), a streamed data set's position (``data_stream``), and both random streams: the
recipe's ``torch.Generator`` and torch's global RNG, which the trainer seeds from
``train.seed`` and owns while it trains (dropout draws from it).
With all of them a resumed run continues bit-exactly.

The functions take the objects they read or fill explicitly; :mod:`gankit.training.resume`
keeps the trainer's counters (step, elapsed time, rollbacks) and calls these in order:
:func:`validate` every field first, so that a damaged checkpoint changes nothing, then
:func:`load_networks` and :func:`load_streams`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gankit.errors import CheckpointError, DamagedCheckpoint
from gankit.training.checkpoint import checkpoint_dirs, join_tensors, split_tensors

State = tuple[dict[str, Tensor], dict[str, Any]]  # (tensors for safetensors, plain for JSON)


# --------------------------------------------------------------------------- random streams
def cuda_indices(device: torch.device) -> list[int]:
    """The CUDA devices whose global RNG a ``torch.random.fork_rng`` must fork for ``device``."""
    return [device.index or 0] if device.type == "cuda" else []


def read_global_rng(device: torch.device) -> dict[str, Tensor]:
    """torch's global RNG states that draws on ``device`` use, under their checkpoint keys."""
    states = {"rng.torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["rng.cuda"] = torch.cuda.get_rng_state(device)
    return states


def set_global_rng(states: dict[str, Tensor], device: torch.device) -> None:
    torch.set_rng_state(states["rng.torch"])
    if "rng.cuda" in states:
        torch.cuda.set_rng_state(states["rng.cuda"], device)


class GlobalRng:
    """torch's global RNG as a run's own stream: seeded from ``train.seed`` (apart from the
    initialization's stream, which :class:`gankit.api.Run` seeds with ``train.seed`` itself),
    installed while the trainer trains (:meth:`owned`), and the caller's put back after."""

    def __init__(self, seed: int, device: torch.device) -> None:
        self.device = device
        self.owning = False  # inside owned(), where torch's global RNG is the run's own
        digest = hashlib.sha256(f"gankit global rng {seed}".encode()).digest()
        with torch.random.fork_rng(devices=cuda_indices(device)):
            torch.manual_seed(int.from_bytes(digest[:8], "little"))
            self._states = read_global_rng(device)

    @contextmanager
    def owned(self) -> Iterator[None]:
        """Draw from the run's stream inside, and give the caller's back afterwards."""
        with torch.random.fork_rng(devices=cuda_indices(self.device)):
            set_global_rng(self._states, self.device)
            self.owning = True
            try:
                yield
            finally:
                self._states = read_global_rng(self.device)
                self.owning = False

    def states(self) -> dict[str, Tensor]:
        """The run's stream as it is now, under its checkpoint keys."""
        return read_global_rng(self.device) if self.owning else self._states

    def replace(self, states: dict[str, Tensor]) -> None:
        """Continue from ``states`` (a checkpoint's), at once if the run's stream is in use;
        a stream that ``states`` lacks (a CPU checkpoint's CUDA one) stays as it was."""
        self._states = {**self._states, **states}
        if self.owning:
            set_global_rng(self._states, self.device)


# ------------------------------------------------------------------------------ state out
def network_state(nets: nn.ModuleDict, optimizers: Mapping[str, torch.optim.Optimizer]
                  ) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The weights as ``nets.*`` tensors, and each optimizer's state with its tensors moved
    into the same dict (``optim.<name>.*``) and the rest left as plain data."""
    tensors = {f"nets.{k}": v for k, v in nets.state_dict().items()}
    plain = {name: split_tensors(opt.state_dict(), f"optim.{name}", tensors)
             for name, opt in optimizers.items()}
    return tensors, plain


def copy_state(state: State) -> State:
    """A copy of a trainer's state in memory (state_dict tensors are the live ones): the
    rollback target of ``train.on_nonfinite: rollback``."""
    tensors, plain = state
    return {k: v.detach().clone() for k, v in tensors.items()}, json.loads(json.dumps(plain))


# ------------------------------------------------------------------------------- state in
def validate(path: Path, tensors: dict[str, Tensor], plain: dict[str, Any],
             device: torch.device, rng: torch.Generator,
             optimizers: Mapping[str, torch.optim.Optimizer]) -> None:
    """The fields a trainer needs are there and are the sizes its objects take
    (:class:`DamagedCheckpoint`), and the run has the optimizers the checkpoint trained
    with (:class:`CheckpointError`)."""
    for field in ("step", "config", "optimizers"):
        if field not in plain:
            raise DamagedCheckpoint(f"damaged checkpoint {path}: field {field} is missing")
    expected = {"rng.torch": torch.get_rng_state()}
    if plain.get("device", device.type) == device.type:
        expected["rng.generator"] = rng.get_state()
        if "rng.cuda" in tensors:
            expected["rng.cuda"] = torch.cuda.get_rng_state(device)
    for key, like in expected.items():
        if key not in tensors:
            raise DamagedCheckpoint(f"damaged checkpoint {path}: tensor {key} is missing")
        if tensors[key].dtype != like.dtype or tensors[key].shape != like.shape:
            raise DamagedCheckpoint(
                f"damaged checkpoint {path}: tensor {key} is {tensors[key].dtype} "
                f"{list(tensors[key].shape)}, a random state is {like.dtype} "
                f"{list(like.shape)}")
    position = plain.get("data_stream", {"epoch": 0, "offset": 0, "images": 1})
    if not (isinstance(position, dict) and all(
            isinstance(position.get(key), int) and position[key] >= 0
            for key in ("epoch", "offset", "images"))):
        raise DamagedCheckpoint(f"damaged checkpoint {path}: data_stream must hold the epoch, "
                                f"offset and images counts (ints >= 0), got {position!r}")
    missing = sorted(set(optimizers) - set(plain["optimizers"]))
    if missing:
        raise CheckpointError(f"checkpoint {path} does not match this model: it has no "
                              f"state for optimizer {missing[0]!r}")
    for name, kind in plain.get("optimizer_types", {}).items():
        if name in optimizers and type(optimizers[name]).__name__ != kind:
            raise CheckpointError(
                f"checkpoint {path} trained optimizer {name!r} with {kind}, the config asks "
                f"for {type(optimizers[name]).__name__}; keep train.optimizer to resume")


def load_networks(source: str, tensors: dict[str, Tensor], plain: dict[str, Any],
                  nets: nn.ModuleDict, optimizers: Mapping[str, torch.optim.Optimizer]) -> None:
    """Put validated weights and optimizer moments into ``nets`` and ``optimizers``; the
    current config's hyper-parameters (learning rates, betas) win over the saved ones."""
    saved = {k.removeprefix("nets."): v for k, v in tensors.items() if k.startswith("nets.")}
    check_same_networks(source, saved, nets.state_dict())
    try:
        nets.load_state_dict(saved)
        for name, opt in optimizers.items():
            opt.load_state_dict(join_tensors(plain["optimizers"][name], tensors))
    except (RuntimeError, KeyError, ValueError, TypeError) as err:
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f"{source} does not match this model: {first}") from None
    for opt in optimizers.values():
        for group in opt.param_groups:
            group.update(opt.defaults)


def load_streams(source: str, tensors: dict[str, Tensor], plain: dict[str, Any],
                 device: torch.device, rng: torch.Generator) -> dict[str, Tensor]:
    """Set ``rng`` to the saved stream and return the saved global RNG states that draws on
    ``device`` use (for :meth:`GlobalRng.replace`). A checkpoint from another device type
    keeps the weights and starts a fresh ``rng``."""
    if plain.get("device", device.type) == device.type:
        rng.set_state(tensors["rng.generator"])
    else:  # a CUDA generator's state does not fit a CPU one: same weights, new random stream
        warnings.warn(f"{source} was written on {plain['device']}, this run is on "
                      f"{device.type}: continuing with a fresh random stream", stacklevel=5)
    states = {"rng.torch": tensors["rng.torch"]}
    if device.type == "cuda" and "rng.cuda" in tensors:  # a CPU checkpoint has none
        states["rng.cuda"] = tensors["rng.cuda"]
    return states


def check_same_networks(source: str, saved: dict[str, Tensor], model: dict[str, Tensor]
                        ) -> None:
    """Name the first tensor whose presence or shape differs between a checkpoint and the model
    built from the config (torch's own message lists every key, in one paragraph)."""
    for key in sorted(saved.keys() | model.keys()):
        if key not in model:
            raise CheckpointError(f"{source} does not match this model: it has "
                                  f"{key} {list(saved[key].shape)}, the model has no such tensor")
        if key not in saved:
            raise CheckpointError(f"{source} does not match this model: the model has "
                                  f"{key} {list(model[key].shape)}, the checkpoint has none")
        if saved[key].shape != model[key].shape:
            raise CheckpointError(f"{source} does not match this model: {key} is "
                                  f"{list(saved[key].shape)} in the checkpoint and "
                                  f"{list(model[key].shape)} in the model")


def restore_newest_intact(run_dir: Path | None, restore: Callable[[Path], None]) -> Path:
    """``restore`` the newest checkpoint of ``run_dir`` that it takes; newer damaged or
    incomplete ones (:class:`DamagedCheckpoint`) are skipped with one warning, and none intact
    is one error line."""
    skipped: list[str] = []
    for path in reversed(checkpoint_dirs(run_dir)) if run_dir else []:
        try:
            restore(path)
        except DamagedCheckpoint as err:
            skipped.append(str(err))
            continue
        if skipped:
            warnings.warn(f"skipped {len(skipped)} damaged checkpoint(s) newer than "
                          f"{path.name} (newest: {skipped[0]}); using {path}", stacklevel=3)
        return path
    if skipped:
        raise CheckpointError(f"no intact checkpoint in {run_dir}/checkpoints: all "
                              f"{len(skipped)} are damaged (newest: {skipped[0]})")
    raise CheckpointError(f"no checkpoint in {run_dir}/checkpoints")
