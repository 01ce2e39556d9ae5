"""Arrays at the metrics' boundary: anything array-like to float64 NumPy, checked once.

Divergences and metrics accept lists, NumPy arrays and torch tensors (any device, any grad
state) and answer bad input with a ``ValueError`` that names the argument and its shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def to_numpy(x: Any) -> np.ndarray:
    """Convert a list, numpy array or torch tensor (any device, any grad state) to float64 numpy."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(device="cpu", dtype=torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def as_matrix(x: Any, name: str, min_rows: int = 1, vector_as_column: bool = False
              ) -> np.ndarray:
    """``x`` as a finite float64 matrix [N, d] with N >= ``min_rows`` and d >= 1; with
    ``vector_as_column`` a vector [N] is read as N points in 1-D."""
    arr = to_numpy(x)
    if vector_as_column and arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < min_rows or arr.shape[1] == 0:
        shapes = "[N] or [N, d]" if vector_as_column else "[N, d]"
        raise ValueError(f"{name} has shape {arr.shape}; expected {shapes} with N >= {min_rows} "
                         f"and d >= 1")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has non-finite entries (NaN or inf); entries must be finite")
    return arr
