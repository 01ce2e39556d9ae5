"""Losses: the adversarial losses, pure functions of D's outputs filled into the ``LOSSES``
registry (:mod:`~gankit.losses.adversarial`), losses on images (:mod:`~gankit.losses.image`) and
the gradient penalties (:mod:`~gankit.losses.penalties`). ``LOSSES`` and ``LossSpec`` are
re-exported here, where a loss of another package registers."""

from gankit.losses.adversarial import LOSSES, LossSpec

__all__ = ["LOSSES", "LossSpec"]
