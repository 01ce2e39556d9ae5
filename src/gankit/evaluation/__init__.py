"""What a run measures and draws, decided in one place (:func:`plan_for`), and the latent
sources that sampling, metrics and pictures all draw from.

- ``dispatch``: :func:`plan_for` (recipe, data) -> :class:`EvaluationPlan`;
- ``plan``: the plan, the fixed evaluation seed and the snapshot hook that runs during training;
- ``toy``: mode metrics, exact W1 and the samples over D for points;
- ``images``: feature metrics, sample grids and interpolation strips;
- ``features``: the feature spaces images are measured in (digit classifier, InceptionV3);
- ``latents``: :class:`LatentSource` (the prior by default), :func:`generate`, slerp paths.
- ``conditional``: what a generator with codes adds: class accuracy and intra-FID, InfoGAN's
  matched accuracy and traversals, CAAE's re-conditioned rows.
- ``samplers``: latent energies from G and D (DDLS) or U (MEG), Langevin and MALA over them, the
  truncation trick; each also as a latent source (``--sampler``).
"""

from gankit.evaluation.dispatch import plan_for
from gankit.evaluation.features import feature_name
from gankit.evaluation.latents import LatentSource, PriorLatents, generate, has_generator
from gankit.evaluation.plan import EVAL_SEED, EvaluationPlan, Measurement, eval_settings

__all__ = ["EVAL_SEED", "EvaluationPlan", "LatentSource", "Measurement", "PriorLatents",
           "eval_settings", "feature_name", "generate", "has_generator", "plan_for"]
