"""The one place that decides, from the recipe and the data, what a run measures and draws."""

from __future__ import annotations

from typing import Any

from gankit.errors import GankitError
from gankit.evaluation.conditional import has_codes, with_codes
from gankit.evaluation.latents import LatentSource, PriorLatents, has_generator
from gankit.evaluation.plan import PLANS, EvaluationPlan
from gankit.recipes import Recipe


def plan_for(recipe: Recipe, data: Any, latents: LatentSource | None = None) -> EvaluationPlan:
    """What a run of ``recipe`` on ``data`` measures and draws, with latents from ``latents``
    (default: the recipe's prior; a truncation or MCMC sampler is chosen here).

    Points: toy mode metrics and exact W1, samples over D's contour. Images: feature metrics,
    a sample grid and an interpolation strip. A recipe whose generator takes codes adds their
    metrics and pictures (:mod:`gankit.evaluation.conditional`: class accuracy and intra-FID,
    InfoGAN's matched accuracy and traversals, CAAE's re-conditioned rows). A recipe without
    an unconditional generator has nothing to sample: it measures nothing and draws only its
    training curves. A translation recipe measures its held-out translations and draws input
    | output | target rows (:mod:`gankit.evaluation.image_to_image`). Recipes with more to show
    extend the plan here, so that no other module looks at the recipe or the data's type. The
    plan for each data kind is the one registered in :data:`~gankit.evaluation.plan.PLANS`.
    """
    kind = getattr(data, "kind", None)
    # the kinds whose plans serve this recipe: translation data for a translating recipe
    kinds = [k for k in PLANS if PLANS.facts(k).get("translates", False) == recipe.translates]
    if recipe.translates:
        if kind not in kinds:
            raise GankitError(f"recipe {type(recipe).__name__} translates images, but its data "
                              f"source has kind {kind!r}, not one of {', '.join(kinds)}")
        return PLANS[kind](recipe, data, None)
    if kind not in kinds:
        raise GankitError(f"data source {type(data).__name__} has kind {kind!r}; evaluation "
                          f"knows the kinds {', '.join(kinds)} (set the source's 'kind')")
    latents = PriorLatents(recipe) if latents is None else latents
    if not has_generator(recipe):
        return EvaluationPlan(kind, latents)
    plan = PLANS[kind](recipe, data, latents)
    return with_codes(plan, recipe, data) if has_codes(recipe) else plan
