"""Training recipes, keyed by the config's ``recipe``: which networks, optimizers and loss terms.

Every module of this package is imported here, so a recipe is one new file that registers
itself (``@RECIPES.register("name")``): docs/adding-a-recipe.md walks through one.
"""

import importlib
import pkgutil

from gankit.recipes.base import RECIPES, OptimizerSpec, Phase, PhaseOutput, Recipe, StepContext

for _module in pkgutil.iter_modules(__path__):  # sorted by file name: a fixed order
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["RECIPES", "OptimizerSpec", "Phase", "PhaseOutput", "Recipe", "StepContext"]
