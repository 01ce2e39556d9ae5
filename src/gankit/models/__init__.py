"""Networks by part: ``GENERATORS``, ``DISCRIMINATORS``, ``AUTOENCODERS`` (BEGAN's D) and
``TRANSLATORS`` (image-to-image generators), each keyed by family (``mlp``, ``dcgan``, ``unet``,
``resnet``, ``patchgan``; ``resnet-gan``: WGAN-GP's and SN-GAN's ResNet G and D; ``r3gan``:
R3GAN's normalization-free residual G and D); a config picks each part (``model.generator``,
``model.discriminator``), both defaulting to ``model.name``.

Every discriminator returns one :class:`DOutput` record, so feature matching and auxiliary heads
(:mod:`gankit.models.heads`) need no second forward pass.

A family is one module here whose builders register themselves
(``@GENERATORS.register("name")``); the registries import this package's modules before their
first lookup, and load other packages' entry points (docs/extending.md).
"""

from gankit.models.base import (
    AUTOENCODERS,
    DISCRIMINATORS,
    GENERATORS,
    TRANSLATORS,
    DOutput,
    build_part,
    check_family,
    check_part,
    given_parts,
    part_name,
)

__all__ = ["AUTOENCODERS", "DISCRIMINATORS", "GENERATORS", "TRANSLATORS", "DOutput", "build_part",
           "check_family", "check_part", "given_parts", "part_name"]
