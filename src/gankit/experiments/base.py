"""The experiment registry: name -> function(out_dir, quick) -> dict of figures (also saved)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gankit.registry import Registry

Experiment = Callable[..., dict[str, Any]]  # (out_dir: Path, quick: bool) -> figures
EXPERIMENTS: Registry[Experiment] = Registry("experiment", package="gankit.experiments",
                                           group="gankit.experiments")


def output_paths(out_dir: Path, name: str) -> tuple[Path, Path]:
    """Where an experiment writes its picture and its figures (the writes create
    ``out_dir``; ``gankit experiment`` checks both paths before the experiment runs)."""
    out_dir = Path(out_dir)
    return out_dir / f"{name}.png", out_dir / f"{name}.json"


@torch.no_grad()
def critic_on_grid(critic: Callable[[Tensor], Tensor], x: np.ndarray) -> np.ndarray:
    """A 1-D critic's raw outputs [N] at the points x [N], without gradients, as float64."""
    points = torch.as_tensor(x, dtype=torch.float32)[:, None]  # [N, 1]
    return critic(points).double().numpy()
