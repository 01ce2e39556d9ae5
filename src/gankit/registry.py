"""Name -> constructor registries, keyed by the strings that configs use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from gankit.config import show_value
from gankit.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping from config names to objects, with an error that lists the known names.

    >>> LOSSES = Registry("loss")
    >>> @LOSSES.register("hinge")
    ... def hinge(): ...

    An entry may carry facts that checks read without building it, given at registration:
    ``DATASETS.register("mnist5k", uses=("image_size",))`` (:meth:`facts`).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._facts: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **facts: Any) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            self._facts[name] = facts
            return obj

        return add

    def __getitem__(self, name: str) -> T:
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
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        return sorted(self._entries)
