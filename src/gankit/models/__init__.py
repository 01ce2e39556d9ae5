"""Generator and discriminator networks, keyed by the config's ``model.name``.

Every discriminator returns one :class:`DOutput` record, so feature matching and auxiliary heads
need no second forward pass. ``AUTOENCODERS`` holds each family's auto-encoder D (BEGAN).
"""

from gankit.models import dcgan, mlp
from gankit.models.base import AUTOENCODERS, MODELS, DOutput

AUTOENCODERS.register("mlp")(mlp.build_mlp_autoencoder)
AUTOENCODERS.register("dcgan")(dcgan.build_dcgan_autoencoder)

__all__ = ["AUTOENCODERS", "MODELS", "DOutput"]
