"""Generator and discriminator networks, keyed by the config's ``model.name``.

Every discriminator returns one :class:`DOutput` record, so feature matching and auxiliary heads
need no second forward pass.
"""

from gankit.models import mlp  # noqa: F401  (registers "mlp")
from gankit.models.base import MODELS, DOutput

__all__ = ["MODELS", "DOutput"]
