"""Networks by part: ``GENERATORS``, ``DISCRIMINATORS`` and ``AUTOENCODERS`` (BEGAN's D), each
keyed by family (``mlp``, ``dcgan``); a config picks each part (``model.generator``,
``model.discriminator``), both defaulting to ``model.name``.

Every discriminator returns one :class:`DOutput` record, so feature matching and auxiliary heads
(:mod:`gankit.models.heads`) need no second forward pass.
"""

from gankit.models import dcgan, mlp  # noqa: F401  (registers the families)
from gankit.models.base import (
    AUTOENCODERS,
    DISCRIMINATORS,
    GENERATORS,
    DOutput,
    build_part,
    check_family,
    check_part,
    given_parts,
    part_name,
)

__all__ = ["AUTOENCODERS", "DISCRIMINATORS", "GENERATORS", "DOutput", "build_part",
           "check_family", "check_part", "given_parts", "part_name"]
