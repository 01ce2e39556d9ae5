"""Augmentation of what D sees, for small data sets: DiffAugment's differentiable
transformations (:mod:`gankit.augment.diffaugment`) with a fixed or ADA's adaptive probability
(:mod:`gankit.augment.adaptive`). A recipe applies it through
:meth:`gankit.recipes.base.Recipe.seen_by_d`; the config's ``augment`` section sets it."""

from gankit.augment.adaptive import AugmentPipe, check_augment
from gankit.augment.diffaugment import AUGMENTATIONS, Augmentation, policy_names

__all__ = ["AUGMENTATIONS", "AugmentPipe", "Augmentation", "check_augment", "policy_names"]
