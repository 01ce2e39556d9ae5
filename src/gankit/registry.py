"""Name -> entry registries, keyed by the strings that configs and the CLI use: the one way to
extend gankit.

An entry registers itself with a decorator in the file that defines it::

    @LOSSES.register("hinge")
    def hinge(): ...

A registry made with ``package="gankit.losses"`` imports every module of that package (and of
its subpackages) before its first lookup, so a new entry of gankit's own is one new file there.
A registry made with ``group="gankit.losses"`` also loads the Python entry points of that group,
so an installed package adds entries without forking gankit; in its ``pyproject.toml``::

    [project.entry-points."gankit.losses"]
    my-loss = "my_package.my_loss"

The entry point names a module whose import registers entries with the decorator, or an object
that is registered under the entry point's name.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from gankit.config import show_value
from gankit.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from config names to objects, with an error that lists the known names.

    An entry may carry facts that checks read without building it, given at registration:
    ``DATASETS.register("mnist5k", uses=("image_size",))`` (:meth:`facts`).
    """

    def __init__(self, kind: str, package: str | None = None, group: str | None = None) -> None:
        self.kind = kind
        self.package = package  # whose modules are imported before the first lookup
        self.group = group  # the entry point group through which other packages add entries
        self._entries: dict[str, T] = {}
        self._facts: dict[str, dict[str, Any]] = {}
        self._discovered = False

    def register(self, name: str, **facts: Any) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            self._facts[name] = facts
            return obj

        return add

    def _discover(self) -> None:
        """Import the package's modules and load the group's entry points, once. Marked done
        first: a module imported here may look entries up while it registers its own."""
        if self._discovered:
            return
        self._discovered = True
        if self.package is not None:
            root = importlib.import_module(self.package)
            for info in pkgutil.walk_packages(root.__path__, f"{self.package}."):
                importlib.import_module(info.name)  # sorted by file name: a fixed order
        if self.group is not None:
            for point in importlib.metadata.entry_points(group=self.group):
                self._load_entry_point(point)

    def _load_entry_point(self, point: importlib.metadata.EntryPoint) -> None:
        try:
            obj = point.load()
        except Exception as err:  # another package's failure: named, not a bare traceback
            raise ConfigError(f"{self.kind} entry point {point.name!r} = {point.value!r} "
                              f"(group {self.group}) cannot be loaded: "
                              f"{type(err).__name__}: {err}") from None
        if not isinstance(obj, type(importlib)) and obj not in self._entries.values():
            self.register(point.name)(obj)

    def __getitem__(self, name: str) -> T:
        self._discover()
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {show_value(name)}; known: "
                f"{', '.join(sorted(self._entries))}"
            ) from None

    def facts(self, name: str) -> dict[str, Any]:
        """What ``name`` was registered with (``{"uses": ("image_size",)}``); {} if nothing."""
        self[name]  # noqa: B018 (an unknown name: the error listing the known ones)
        return self._facts[name]

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._entries)
