"""What a run built from data given to ``gankit.build(data=...)`` records of that data, so that
``gankit.load(RUN, data=...)`` can check the data given again before anything runs.

A run directory cannot hold the researcher's tensors, only what they were: each batch field's
shape and dtype, the classes, the number of examples and a SHA-256 of the tensors given. Kept
in ``given.json`` beside ``config.yaml``. A different shape, dtype or class count would not fit
the trained networks: one error line naming both. Other examples of the same shape train, but
the resumed run is then not the run that was interrupted: one warning.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from gankit.errors import ConfigError

GIVEN_FILE = "given.json"


def describe_data(given: object, source: Any) -> dict[str, Any]:
    """The record of ``given`` (the object passed to ``gankit.build``) and of the data source
    made of it: ``fields`` {key: [dtype, *shape of one example]}, ``n_classes``, and where
    ``given`` is tensors, ``examples`` and their ``sha256``."""
    spec = source.spec
    record: dict[str, Any] = {
        "fields": {key: [str(field.dtype).removeprefix("torch."), *field.shape]
                   for key, field in sorted(spec.fields.items())},
        "n_classes": spec.n_classes}
    tensors = _tensors(given)
    if tensors:
        record["examples"] = len(tensors[0])
        record["sha256"] = _digest(tensors)
    return record


def check_same_data(recorded: dict[str, Any], described: dict[str, Any], run_dir: Path
                    ) -> None:
    """Refuse data whose examples the run's networks cannot take (one line naming both);
    warn where the examples differ from those the run trained on."""
    was, now = recorded.get("fields", {}), described["fields"]
    for key in sorted(was.keys() | now.keys()):
        if key not in now:
            raise ConfigError(f"run {run_dir} trained on data with {_field(key, was[key])}; the "
                              f"data given has no {key!r} (its fields: {_fields(now)})")
        if key not in was:
            raise ConfigError(f"the data given has {_field(key, now[key])}; run {run_dir} "
                              f"trained on data without it (its fields: {_fields(was)})")
        if was[key] != now[key]:
            raise ConfigError(f"the data given has {_field(key, now[key])}; run {run_dir} "
                              f"trained on {_field(key, was[key])}")
    if recorded.get("n_classes") != described["n_classes"]:
        raise ConfigError(f"the data given has {described['n_classes']} classes; run {run_dir} "
                          f"trained on {recorded.get('n_classes')}")
    if "sha256" in recorded and recorded["sha256"] != described.get("sha256"):
        count = described.get("examples", "other")
        warnings.warn(f"the data given ({count} examples) is not the data run {run_dir} "
                      f"trained on ({recorded.get('examples')} examples, another SHA-256): "
                      f"training goes on, but not as the run would have", stacklevel=3)


def _field(key: str, entry: list[Any]) -> str:
    """A field's record ``["float32", 1, 8, 8]`` as a message says it: 'x' float32 [N, 1, 8, 8]."""
    dtype, *shape = entry
    return f"{key!r} {dtype} [{', '.join(map(str, ['N', *shape]))}]"


def _fields(record: dict[str, list[Any]]) -> str:
    return ", ".join(_field(key, entry) for key, entry in record.items()) or "none"


def _tensors(given: object) -> list[Tensor]:
    """The tensors of a Tensor, a TensorDataset or a tuple of tensors; [] for a data source."""
    if isinstance(given, TensorDataset):
        given = given.tensors
    if isinstance(given, Tensor):
        return [given]
    if isinstance(given, (tuple, list)) and all(isinstance(t, Tensor) for t in given):
        return list(given)
    return []


def _digest(tensors: list[Tensor]) -> str:
    """SHA-256 over each tensor's dtype, shape and bytes (any dtype, bfloat16 included)."""
    digest = hashlib.sha256()
    for tensor in tensors:
        values = tensor.detach().cpu().contiguous()
        digest.update(f"{values.dtype}{list(values.shape)}".encode())
        digest.update(values.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()
