"""gankit: train, sample and evaluate GANs, with the theory made executable."""

__version__ = "0.1.0"

from gankit.api import Run, build, load  # noqa: E402

__all__ = ["Run", "__version__", "build", "load"]
