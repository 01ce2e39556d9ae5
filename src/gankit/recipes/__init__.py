"""Training recipes, keyed by the config's ``recipe``: which networks, optimizers and loss terms.

:data:`RECIPES` imports every module of this package before its first lookup, so a recipe is one
new file that registers itself (``@RECIPES.register("name")``): docs/adding-a-recipe.md walks
through one; another package adds one through the entry point group ``gankit.recipes``.
"""

from gankit.recipes.base import RECIPES, OptimizerSpec, Phase, PhaseOutput, Recipe, StepContext

__all__ = ["RECIPES", "OptimizerSpec", "Phase", "PhaseOutput", "Recipe", "StepContext"]
