"""Theory made executable: each experiment checks one statement of GAN theory numerically and
writes a PNG and a JSON of its figures. Keyed by the name ``gankit experiment NAME`` uses; an
experiment is one module here that registers itself (``@EXPERIMENTS.register("name")``), found
at the registry's first lookup, or one of another package's (entry point group
``gankit.experiments``)."""

from gankit.experiments.base import EXPERIMENTS

__all__ = ["EXPERIMENTS"]
