"""Training recipes, keyed by the config's ``recipe``: which networks, optimizers and loss terms."""

from gankit.recipes import gan  # noqa: F401  (registers "gan")
from gankit.recipes.base import RECIPES, OptimizerSpec, Phase, PhaseOutput, Recipe, StepContext

__all__ = ["RECIPES", "OptimizerSpec", "Phase", "PhaseOutput", "Recipe", "StepContext"]
