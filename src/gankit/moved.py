"""Module paths from before the package was grouped into subpackages (issue 26), kept working:
``import gankit.divergences`` gives a module that forwards every attribute to
``gankit.theory.divergences``, with a DeprecationWarning naming the new path (a module split in
several forwards to each in turn). Installed by ``import gankit``; nothing is imported until an
old path is."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings
from typing import Any

MOVED_MODULES: dict[str, str | tuple[str, ...]] = {
    "gankit.trainer": "gankit.training.trainer",
    "gankit.checkpoint": "gankit.training.checkpoint",
    "gankit.distributed": "gankit.training.distributed",
    "gankit.hardware": "gankit.training.hardware",
    "gankit.memory": "gankit.training.memory",
    "gankit.interrupts": "gankit.training.interrupts",
    "gankit.runlog": "gankit.training.runlog",
    "gankit.image_losses": "gankit.losses.image",
    "gankit.penalties": "gankit.losses.penalties",
    "gankit.divergences": "gankit.theory.divergences",
    "gankit.mutual_information": "gankit.theory.mutual_information",
    "gankit.cli": "gankit.commandline.cli",
    "gankit.export": "gankit.storage.export",
    "gankit.files": "gankit.storage.files",
    "gankit.sample_files": "gankit.storage.sample_files",
    "gankit.imports": "gankit.configuration.imports",
    "gankit.arrays": "gankit.metrics.arrays",
    "gankit.latent_layout": "gankit.models.latent_layout",
    "gankit.history_pool": "gankit.recipes.history_pool",
    "gankit.transforms": "gankit.data.transforms",
    "gankit.plots": "gankit.evaluation.plots",
    "gankit.evaluation.samplers": ("gankit.sampling.energies", "gankit.sampling.mcmc",
                                   "gankit.sampling.sources", "gankit.sampling.settings",
                                   "gankit.sampling.paths"),
    "gankit.data.translation": ("gankit.data.two_domains", "gankit.data.domain_folders",
                                "gankit.data.translation_tasks", "gankit.data.morphology"),
    "gankit.evaluation.toy": "gankit.evaluation.points",
    "gankit.evaluation.translation": "gankit.evaluation.image_to_image",
    "gankit.metrics.toy": "gankit.metrics.mode_collapse",
    "gankit.data.toy": "gankit.data.distributions",
}


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path of :data:`MOVED_MODULES` and loads it as a forwarding module."""

    def find_spec(self, name: str, path: Any = None, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(name, self) if name in MOVED_MODULES else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module, filled by exec_module

    def exec_module(self, module: types.ModuleType) -> None:
        new = MOVED_MODULES[module.__name__]
        names = (new,) if isinstance(new, str) else new
        warnings.warn(f"{module.__name__} moved to {' and '.join(names)}; import it from there",
                      DeprecationWarning, stacklevel=2)
        targets = [importlib.import_module(name) for name in names]

        def forward(attr: str) -> Any:  # PEP 562: what the module itself does not hold
            for target in targets:
                if hasattr(target, attr):
                    return getattr(target, attr)
            raise AttributeError(f"module {module.__name__!r} (now {', '.join(names)}) has no "
                                 f"attribute {attr!r}")

        module.__getattr__ = forward
        module.__dir__ = lambda: sorted({a for target in targets for a in dir(target)})


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (after the standard finders: a module that
    exists at an old path, which none does, would win)."""
    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(MovedModules())
