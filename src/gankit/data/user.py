"""A researcher's own data as a data source: a Tensor, a TensorDataset or an (examples, labels)
pair, given to ``gankit.build(data=...)`` or returned by a factory that ``data.name`` names by
import string (``"package.module:factory"``, called as ``factory(data_config)``).

Points [N, d] become a points source (evaluated by exact W1; mode metrics need known modes);
images [N, C, H, W] (uint8, or float in [-1, 1]) become an image set with their labels. Points
kept in a file (``data.name: points-file``, ``data.path: points.csv`` or ``.npy``) are read by
:func:`load_points_file`: what the browser view saves a drawn data set as.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from gankit.configuration.schema import DataConfig
from gankit.data.distributions import ToyDistribution
from gankit.data.images import ImageDataset, to_uint8
from gankit.data.sources import DATASETS
from gankit.errors import ConfigError


@dataclass
class TensorPoints(ToyDistribution):
    """Points [N, d] given by the user, drawn uniformly with replacement (no known modes)."""

    values: Tensor = field(repr=False)  # [N, dim]

    def points(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu"
               ) -> Tensor:
        index = torch.randint(len(self.values), (n,), generator=generator, device=device)
        return self.values.to(device)[index]


def as_data_source(data: object, config: DataConfig, name: str = "given") -> object:
    """``data`` as something the trainer samples from (a source with ``sample`` and ``spec``
    passes through)."""
    if hasattr(data, "sample") and hasattr(data, "spec"):
        return data
    if isinstance(data, TensorDataset):
        data = data.tensors
    labels = None
    if isinstance(data, (tuple, list)):
        if len(data) not in (1, 2) or not all(isinstance(t, Tensor) for t in data):
            raise ConfigError(f"data {name!r}: give a Tensor, a TensorDataset or an (examples, "
                              f"labels) pair of tensors, got {len(data)} items")
        data, labels = data[0], (data[1] if len(data) == 2 else None)
    if not isinstance(data, Tensor):
        raise ConfigError(f"data {name!r} is a {type(data).__name__}; give a Tensor, a "
                          f"TensorDataset or an (examples, labels) pair")
    if labels is not None:
        labels = _labels(labels, len(data), name)
    if data.dim() == 2 and data.is_floating_point():
        _finite(data, name)
        return TensorPoints(name, data.shape[1], data.float())
    if data.dim() == 4:
        images = data if data.dtype == torch.uint8 else _unit_range_to_uint8(data, name)
        n_classes = int(labels.max()) + 1 if labels is not None else 0
        return ImageDataset(name, images, labels, n_classes=n_classes)
    raise ConfigError(f"data {name!r} is {data.dtype} {list(data.shape)}; give points [N, d] "
                      f"(float) or images [N, C, H, W] (uint8, or float in [-1, 1])")


def _finite(data: Tensor, name: str) -> None:
    if len(data) < 2 or not torch.isfinite(data).all():
        raise ConfigError(f"data {name!r} must hold at least 2 finite examples")


def _unit_range_to_uint8(images: Tensor, name: str) -> Tensor:
    if not images.is_floating_point():
        raise ConfigError(f"data {name!r}: images must be uint8 or float, got {images.dtype}")
    _finite(images, name)
    if images.min() < -1 or images.max() > 1:
        raise ConfigError(f"data {name!r}: float images must lie in [-1, 1] (the generator's "
                          f"tanh range), got [{images.min():.3g}, {images.max():.3g}]")
    return to_uint8(images)


def _labels(labels: Tensor, n: int, name: str) -> Tensor:
    if labels.shape != (n,) or labels.is_floating_point() or (labels < 0).any():
        raise ConfigError(f"data {name!r}: labels must be non-negative integers [N] with "
                          f"N = {n}, got {labels.dtype} {list(labels.shape)}")
    return labels.long()


POINT_FILE_SUFFIXES = (".csv", ".npy")
MAX_POINT_FILE_BYTES = 256 * 2**20  # a points file is a sketch or a table, not a data lake


def save_points(points: Tensor, path: Path) -> None:
    """Write points [N, d] as CSV, one point a line, in full float32 precision, whole or not
    at all (:func:`gankit.storage.files.replace_atomically`)."""
    from gankit.storage.files import replace_atomically

    with replace_atomically(Path(path)) as tmp:
        np.savetxt(tmp, points.numpy(), delimiter=",", fmt="%.9g")


# No label facts: what a user's file holds is known only once it is read.
@DATASETS.register("points-file", uses=("path",), n_classes=0, images=False)
def load_points_file(config: DataConfig) -> TensorPoints:
    """Points [N, d] from ``data.path``: a CSV of numbers (comma or whitespace separated, one
    point a line, ``#`` comments) or a .npy array, loaded without pickle."""
    path = Path(config.path)
    if not config.path:
        raise ConfigError("data set points-file needs data.path: a .csv or .npy file of points")
    if path.suffix not in POINT_FILE_SUFFIXES:
        raise ConfigError(f"data.path {config.path!r} must end in .csv or .npy")
    if not path.is_file():
        raise ConfigError(f"data.path {config.path!r} is not a file")
    if path.stat().st_size > MAX_POINT_FILE_BYTES:
        raise ConfigError(f"data.path {config.path!r} is {path.stat().st_size} bytes; a points "
                          f"file may hold at most {MAX_POINT_FILE_BYTES} bytes")
    try:
        if path.suffix == ".npy":
            values = np.load(path, allow_pickle=False)
        else:
            text = path.read_text().replace(",", " ")
            values = np.loadtxt(text.splitlines(), ndmin=2, dtype=np.float64)
    except (ValueError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"data.path {config.path!r} cannot be read as points: {first}"
                          ) from None
    if values.ndim != 2 or values.shape[1] < 1 or not np.issubdtype(values.dtype, np.number):
        raise ConfigError(f"data.path {config.path!r} holds {values.dtype} {list(values.shape)}; "
                          f"points are numbers [N, d]")
    points = torch.as_tensor(values, dtype=torch.float32)
    _finite(points, f"points-file {config.path}")
    return TensorPoints(path.stem, points.shape[1], points)
