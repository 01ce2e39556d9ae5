"""The digit classifier's weights file: safetensors with its provenance (data set,
architecture, held-out accuracy, seed, epochs) as one JSON value, written atomically, and the
shipped files' pinned SHA-256, checked before anything is read."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from gankit.errors import CheckpointError, GankitError
from gankit.metrics.digit_classifier.network import DigitClassifier, DigitNet, DigitNetConfig
from gankit.storage.files import replace_atomically

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
# Pinned checksums of the shipped files: a changed file is refused rather than silently changing
# every score computed with it.
SHA256 = {
    "mnist5k": "5ffd43a5e5aa388b97f00c7cbcd8a354002fbd526dca0257f8ea72caf9f2fceb",
    "digits8": "991952e95063185e488a55b8825518a3b262d1411df153432778371a4ceb419e",
}
FORMAT = "gankit-digit-classifier/1"
_META_KEY = "gankit"  # one JSON value: safetensors orders several keys differently per process


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_classifier(classifier: DigitClassifier, path: str | Path, *, accuracy: float,
                    seed: int, epochs: int) -> str:
    """Write the weights and their provenance (safetensors, atomically); return the SHA-256."""
    path = Path(path)
    meta = {"format": FORMAT, "dataset": classifier.dataset_name,
            "architecture": asdict(classifier.net.config), "held_out_accuracy": accuracy,
            "seed": seed, "epochs": epochs}
    tensors = {k: v.detach().cpu().contiguous() for k, v in classifier.net.state_dict().items()}
    with replace_atomically(path) as tmp:
        save_file(tensors, str(tmp), {_META_KEY: json.dumps(meta, sort_keys=True)})
    return file_sha256(path)


def load_classifier_file(path: str | Path, sha256: str | None,
                         device: torch.device | str = "cpu") -> DigitClassifier:
    """A classifier written by :func:`save_classifier`. ``sha256`` is the checksum the file must
    have, checked before anything is read; pass ``None`` to skip the check on purpose."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"digit classifier weights {path} not found")
    if sha256 is not None and (actual := file_sha256(path)) != sha256:
        raise CheckpointError(f"digit classifier weights {path} have sha256 {actual}, expected "
                              f"{sha256}: the file is damaged or not the one pinned")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[_META_KEY])
            tensors = {key: f.get_tensor(key) for key in f.keys()}
        dataset, arch = meta["dataset"], meta["architecture"]
        config = DigitNetConfig(**{**arch, "channels": tuple(arch["channels"])})
        with torch.device("meta"):  # no initialisation: no work, no draw from the global RNG
            net = DigitNet(config)
        net.load_state_dict(tensors, assign=True)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError, RuntimeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise CheckpointError(f"{path} is not a gankit digit classifier: {reason}") from None
    return DigitClassifier(net, dataset, device, info=meta)


def load_digit_classifier(dataset_name: str = "mnist5k",
                          device: torch.device | str = "cpu") -> DigitClassifier:
    """The shipped classifier of ``dataset_name`` (mnist5k: 28x28, digits8: 8x8), checksum
    verified against :data:`SHA256`."""
    if dataset_name not in SHA256:
        raise GankitError(f"no shipped digit classifier for {dataset_name!r}; shipped: "
                          f"{', '.join(sorted(SHA256))}")
    path = WEIGHTS / f"{dataset_name}-classifier.safetensors"
    return load_classifier_file(path, SHA256[dataset_name], device)

