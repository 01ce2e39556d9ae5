"""gankit: train, sample and evaluate GANs, with the theory made executable.

``import gankit`` is light: the API (and with it torch) loads on first use of ``gankit.build``,
``gankit.load`` or ``gankit.Run``, so the command line answers ``--help`` at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gankit import moved

__version__ = "0.1.0"
__all__ = ["Run", "__version__", "build", "compare_runs", "fit_features", "list_runs", "load"]

moved.install()  # the module paths from before the subpackages keep working (gankit.moved)

if TYPE_CHECKING:
    from gankit.api import Run, build, load
    from gankit.training.run_comparison import compare_runs
    from gankit.training.run_index import list_runs


def __getattr__(name: str) -> Any:
    if name in ("Run", "build", "load"):
        from gankit import api

        return getattr(api, name)
    if name == "fit_features":  # gankit.metrics.learned.fit: a feature space for any images
        from gankit.metrics.learned import fit

        return fit
    if name == "list_runs":  # a folder of runs summarized, read without torch
        from gankit.training.run_index import list_runs

        return list_runs
    if name == "compare_runs":  # runs' curves of one metric side by side
        from gankit.training.run_comparison import compare_runs

        return compare_runs
    raise AttributeError(f"module 'gankit' has no attribute {name!r}")
