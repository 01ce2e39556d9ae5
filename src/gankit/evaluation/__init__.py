"""What a run measures and draws, decided in one place (:func:`plan_for`), and the latent
sources that sampling, metrics and pictures all draw from.

- ``dispatch``: :func:`plan_for` (recipe, data) -> :class:`EvaluationPlan`;
- ``plan``: the plan, the fixed evaluation seed, the snapshot hook that runs during training,
  and :data:`~gankit.evaluation.plan.PLANS`, the plan for each data kind;
- ``toy``: mode metrics, exact W1 and the samples over D for points;
- ``images``: image metrics, sample grids and interpolation strips;
- ``image_metrics``: the registered image metrics, one function each;
- ``features``: which feature space images are measured in (the registered extractors);
- ``latents``: :class:`LatentSource` (the prior by default), :func:`generate`, slerp paths.
- ``conditional``: what a generator with codes adds: class accuracy and intra-FID, InfoGAN's
  matched accuracy and traversals, CAAE's re-conditioned rows.

Latent samplers beyond the prior (``--sampler``) live in :mod:`gankit.sampling`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gankit.evaluation.dispatch import plan_for
    from gankit.evaluation.features import feature_name
    from gankit.evaluation.latents import LatentSource, PriorLatents, generate, has_generator
    from gankit.evaluation.plan import EVAL_SEED, EvaluationPlan, Measurement, eval_settings

# Loaded on first use: the drawing process imports gankit.evaluation.plots, and must not pay
# for torch, which the other modules import (gankit.storage.drawing).
_HOMES = {"plan_for": "dispatch", "feature_name": "features", "LatentSource": "latents",
          "PriorLatents": "latents", "generate": "latents", "has_generator": "latents",
          "EVAL_SEED": "plan", "EvaluationPlan": "plan", "Measurement": "plan",
          "eval_settings": "plan"}
__all__ = ["EVAL_SEED", "EvaluationPlan", "LatentSource", "Measurement", "PriorLatents",
           "eval_settings", "feature_name", "generate", "has_generator", "plan_for"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'gankit.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gankit.evaluation.{_HOMES[name]}"), name)
