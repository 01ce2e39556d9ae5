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

What the command line needs to know of an entry (its name, a one-line description, its flags) is
declared once, as literal arguments of its decorator, and :meth:`Registry.declared` reads those
from the source files without importing them, so ``gankit --help`` loads no torch::

    @SAMPLERS.register("mala", flags={"steps": {"type": "int", "default": 100, ...}})
    def mala(recipe, settings):
        '''Metropolis-adjusted Langevin chains.'''  # the description --help shows
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from gankit.configuration.messages import show_value
from gankit.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Declaration:
    """An entry as its source declares it: the name, the first line of its docstring, and the
    literal arguments of its decorator (the facts :meth:`Registry.facts` returns once built)."""

    name: str
    summary: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


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
        if self.package is not None:  # a package, or one module that holds every entry
            root = importlib.import_module(self.package)
            for info in pkgutil.walk_packages(getattr(root, "__path__", []), f"{self.package}."):
                importlib.import_module(info.name)  # sorted by file name: a fixed order
        if self.group is not None:
            for point in _entry_points(self.group):
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

    def declared(self, symbol: str | None = None) -> dict[str, Declaration]:
        """The entries' declarations, read from source without importing or running anything:
        every ``@SYMBOL.register("name", key=literal, ...)`` decorator in the package's files
        (any ``@X.register`` without a ``symbol``), and in the module each of the group's entry
        points names, the decorator of the entry point's own name. Arguments that are not
        literals are left out; an entry point whose module has no such decorator is declared
        by its name alone."""
        found: dict[str, Declaration] = {}
        if self.package is not None and (path := _module_file(self.package)) is not None:
            files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
            for file in files:
                found |= _declarations_in(file, symbol)
        if self.group is not None:
            for point in _entry_points(self.group):
                module, _, attr = point.value.partition(":")
                path = _module_file(module.strip())
                own = _declarations_in(path, symbol) if path is not None else {}
                summary = _summary_of(path, attr.strip()) if path is not None and attr else ""
                found[point.name] = own.get(point.name, Declaration(point.name, summary))
        return dict(sorted(found.items()))


@functools.cache
def _all_entry_points() -> importlib.metadata.EntryPoints:
    """Every installed distribution's entry points, read once (each read scans them all)."""
    return importlib.metadata.entry_points()


def _entry_points(group: str) -> importlib.metadata.EntryPoints:
    return _all_entry_points().select(group=group)


def _module_file(module: str) -> Path | None:
    """The source file of ``module`` (``__init__.py`` for a package), found on the path without
    importing it or its parents."""
    spec = None
    locations: list[str] | None = None
    for part in module.split("."):
        spec = importlib.machinery.PathFinder.find_spec(part, locations)
        if spec is None and locations is None:  # not on sys.path: another finder's (editable)
            spec = importlib.util.find_spec(part)
        if spec is None:
            return None
        locations = list(spec.submodule_search_locations or [])
    return Path(spec.origin) if spec is not None and spec.origin else None


def declared(registry: str) -> dict[str, Declaration]:
    """:meth:`Registry.declared` of the registry named ``"module:NAME"``, without importing
    its module (which may import torch): its ``NAME = Registry(...)`` line is read from source,
    so the command line names a registry, never its package or group again."""
    module, _, name = registry.partition(":")
    path = _module_file(module)
    for node in _parse(path).body if path is not None else []:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if (isinstance(target, ast.Name) and target.id == name
                and isinstance(call := node.value, ast.Call)):
            args = [ast.literal_eval(arg) for arg in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
            return Registry(*args, **kwargs).declared(name)
    raise LookupError(f"no registry {name} = Registry(...) in module {module}")


def _declarations_in(path: Path, symbol: str | None) -> dict[str, Declaration]:
    """The ``@SYMBOL.register("name", ...)`` decorators of one file, by entry name."""
    found: dict[str, Declaration] = {}
    if b".register(" not in path.read_bytes():  # most files: no need to parse them
        return found
    tree = _parse(path)
    constants = {node.targets[0].id: node.value for node in tree.body
                 if isinstance(node, ast.Assign) and len(node.targets) == 1
                 and isinstance(node.targets[0], ast.Name)}
    for node in tree.body:  # entries are defined at a module's top level
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for decorator in node.decorator_list:
            if (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "register" and decorator.args
                    and symbol in (None, _last_name(decorator.func.value))
                    and isinstance(name := _literal(decorator.args[0], constants), str)):
                facts = {k.arg: value for k in decorator.keywords if k.arg is not None
                         and (value := _literal(k.value, constants)) is not _NOT_LITERAL}
                found[name] = Declaration(name, _first_line(node), facts)
    return found


def _last_name(node: ast.expr) -> str | None:
    """``SAMPLERS`` of ``SAMPLERS`` or ``settings.SAMPLERS``."""
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)


def _summary_of(path: Path, attr: str) -> str:
    """The first docstring line of the top-level function or class ``attr`` of a file."""
    for node in _parse(path).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == attr:
            return _first_line(node)
    return ""


@functools.cache
def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError) as err:
        raise ConfigError(f"cannot read the declarations in {path}: {err}") from None


def _first_line(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
    """The first sentence of a docstring: what --help says of the entry."""
    paragraph = " ".join((ast.get_docstring(node) or "").split("\n\n")[0].split())
    return paragraph.split(". ")[0].removesuffix(".")


_NOT_LITERAL = object()


class _Inline(ast.NodeTransformer):
    """Puts the file's module-level constants in place of their names, and ``{**A, "k": v}``
    merged, so that several entries of one file can share a declared literal."""

    def __init__(self, constants: dict[str, ast.expr]) -> None:
        self.constants = constants

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.visit(copy.deepcopy(self.constants[node.id])) if (
            node.id in self.constants) else node

    def visit_Dict(self, node: ast.Dict) -> ast.Dict:
        self.generic_visit(node)
        keys: list[ast.expr | None] = []
        values: list[ast.expr] = []
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None and isinstance(value, ast.Dict):  # {**SHARED, ...}
                keys += value.keys
                values += value.values
            else:
                keys.append(key)
                values.append(value)
        return ast.Dict(keys=keys, values=values)


def _literal(node: ast.expr, constants: dict[str, ast.expr]) -> Any:
    """The value of a literal argument (constants of the file inlined), or _NOT_LITERAL."""
    try:
        return ast.literal_eval(_Inline(constants).visit(copy.deepcopy(node)))
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return _NOT_LITERAL
