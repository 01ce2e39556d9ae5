"""Training recipes, keyed by the config's ``recipe``: which networks, optimizers and loss terms."""

from gankit.recipes import began, gan  # noqa: F401  (register "began", "gan")
from gankit.recipes.base import RECIPES, OptimizerSpec, Phase, PhaseOutput, Recipe, StepContext

__all__ = ["RECIPES", "OptimizerSpec", "Phase", "PhaseOutput", "Recipe", "StepContext"]
