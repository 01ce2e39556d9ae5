"""The one place that decides, from the recipe and the data, what a run measures and draws."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gankit.errors import GankitError
from gankit.evaluation.conditional import has_codes, with_codes
from gankit.evaluation.images import image_plan
from gankit.evaluation.latents import LatentSource, PriorLatents, has_generator
from gankit.evaluation.plan import EvaluationPlan
from gankit.evaluation.toy import toy_plan
from gankit.evaluation.translation import translation_plan
from gankit.recipes import Recipe

# data kind (the data source's ``kind``, set in gankit.data) -> the plan for it
PLANS: dict[str, Callable[[Recipe, Any, LatentSource], EvaluationPlan]] = {
    "points": toy_plan,
    "images": image_plan,
}
TRANSLATION_KINDS = ("pairs", "unpaired")  # what translation sources are (gankit.data)


def plan_for(recipe: Recipe, data: Any, latents: LatentSource | None = None) -> EvaluationPlan:
    """What a run of ``recipe`` on ``data`` measures and draws, with latents from ``latents``
    (default: the recipe's prior; a truncation or MCMC sampler is chosen here).

    Points: toy mode metrics and exact W1, samples over D's contour. Images: feature metrics,
    a sample grid and an interpolation strip. A recipe whose generator takes codes adds their
    metrics and pictures (:mod:`gankit.evaluation.conditional`: class accuracy and intra-FID,
    InfoGAN's matched accuracy and traversals, CAAE's re-conditioned rows). A recipe without
    an unconditional generator has nothing to sample: it measures nothing and draws only its
    training curves. A translation recipe measures its held-out translations and draws input
    | output | target rows (:mod:`gankit.evaluation.translation`). Recipes with more to show
    extend the plan here, so that no other module looks at the recipe or the data's type.
    """
    kind = getattr(data, "kind", None)
    if recipe.translates:
        if kind not in TRANSLATION_KINDS:
            raise GankitError(f"recipe {type(recipe).__name__} translates images, but its data "
                              f"source has kind {kind!r}, not one of "
                              f"{', '.join(TRANSLATION_KINDS)}")
        return translation_plan(recipe, data)
    if kind not in PLANS:
        raise GankitError(f"data source {type(data).__name__} has kind {kind!r}; evaluation "
                          f"knows the kinds {', '.join(PLANS)} (set the source's 'kind')")
    latents = PriorLatents(recipe) if latents is None else latents
    if not has_generator(recipe):
        return EvaluationPlan(kind, latents)
    plan = PLANS[kind](recipe, data, latents)
    return with_codes(plan, recipe, data) if has_codes(recipe) else plan
