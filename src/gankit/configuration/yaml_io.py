"""The hardened YAML reader and writer of config files and ``--set`` values.

:class:`ConfigLoader` reads numbers as YAML 1.2 writes them (``2e-4`` is a float), quoted text
as text (``"2e-4"`` is a string, and a float key refuses it), and keeps any input cheap to read
and to report: no file beyond :data:`MAX_FILE_BYTES`, no nesting or alias expansion beyond
:data:`MAX_DEPTH` and :data:`MAX_VALUES`, and a value it cannot build is a one-line
ConfigError. :func:`dump_yaml` writes what the loader reads back as written.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import yaml

from gankit.configuration.messages import printable, show_value
from gankit.errors import ConfigError, GankitError

MAX_FILE_BYTES = 2**20  # shipped configs are ~1 KB; a bigger file is not a config


def read_yaml(path: Path) -> Any:
    """The YAML document of a config file (an empty file is an empty mapping)."""
    shown = printable(str(path), 200)
    try:
        if (size := path.stat().st_size) > MAX_FILE_BYTES:
            raise ConfigError(f"{shown} has {size} bytes; a config file has at most "
                              f"{MAX_FILE_BYTES}")
        text = path.read_bytes().decode()
    except OSError as err:
        raise ConfigError(f"cannot read {shown}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{shown} is not a text (UTF-8) file") from None
    try:
        data = load_yaml(text, shown)
    except yaml.MarkedYAMLError as err:
        raise ConfigError(f"{shown} is not valid YAML: {err.problem}{_at(err.problem_mark)}"
                          ) from None
    except yaml.YAMLError as err:  # e.g. a character YAML does not allow (NUL)
        raise ConfigError(f"{shown} is not valid YAML: {str(err).splitlines()[0]}") from None
    return {} if data is None else data


MAX_DEPTH = 32  # nesting of collections, aliases expanded; a config needs 3
MAX_VALUES = 10_000  # nodes of a document, aliases expanded; a config has ~60


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with YAML 1.2's floats and limits that make any input cheap.

    - ``2e-4``, ``1e3``, ``1.0e4``, ``-.5``: floats, as YAML 1.2 (and people) write them;
      YAML 1.1 wants a dot and a signed exponent (``2.0e-4``) and leaves the rest strings. A
      quoted ``"2e-4"`` stays a string, which a float key refuses: no guessing at text.
    - At most :data:`MAX_DEPTH` levels of nesting and :data:`MAX_VALUES` nodes, counted with
      aliases expanded: 10,000 nested ``[`` would overflow Python's stack, and nine levels of
      ten aliases each (billion laughs) are 10^9 values to whatever walks them (``repr``,
      ``json.dumps``). An alias inside the collection it names (``&a [*a]``) is refused too.
    - A value that cannot be built (an int of 5,000 digits, a date 2024-13-45, ``!!bool
      maybe``) is a ConfigError naming ``where`` instead of a ValueError from deep inside.
    """

    def __init__(self, text: str, where: str) -> None:
        super().__init__(text)
        self.where = where
        self._depth = 0
        self._measured: dict[int, tuple[int, int]] = {}  # id(node) -> (nodes, depth) expanded

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        alias = isinstance(event, yaml.AliasEvent)
        self._depth += not alias
        if self._depth > MAX_DEPTH:
            self._refuse(f"nests collections deeper than {MAX_DEPTH} levels", event.start_mark)
        node = super().compose_node(parent, index)
        if alias:  # the node it names was measured when it was composed, unless it is open
            if id(node) not in self._measured:
                self._refuse(f"has an alias (*{event.anchor}) inside the collection it names",
                             event.start_mark)
            return node
        self._depth -= 1
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        sizes = [self._measured[id(child)] for child in children]
        count = 1 + sum(n for n, _ in sizes)
        depth = 1 + max((d for _, d in sizes), default=0)
        if count > MAX_VALUES:
            self._refuse(f"expands to more than {MAX_VALUES} values (through its aliases)",
                         node.start_mark)
        if depth > MAX_DEPTH:
            self._refuse(f"nests collections deeper than {MAX_DEPTH} levels (through its "
                         f"aliases)", node.start_mark)
        self._measured[id(node)] = (count, depth)
        return node

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except GankitError:
            raise
        except (ValueError, OverflowError) as err:  # the text of such an error says why
            self._unreadable(node, f" ({str(err).split(';')[0]})")
        except (TypeError, KeyError, AttributeError):  # an explicit tag on text it cannot parse
            self._unreadable(node, "")

    def _unreadable(self, node: yaml.Node, reason: str) -> typing.NoReturn:
        tag = node.tag.rpartition(":")[2]
        self._refuse(f"has an unreadable {tag} {show_value(node.value)}{reason}", node.start_mark)

    def _refuse(self, problem: str, mark: yaml.Mark) -> typing.NoReturn:
        raise ConfigError(f"{self.where} {problem}{_at(mark)}")


class ConfigDumper(yaml.SafeDumper):
    """Writes what :class:`ConfigLoader` reads back as written: a string that its floats would
    take for a number (a ``data.path`` of ``1e3``) is quoted."""


ConfigDumper.add_representer(tuple, lambda dumper, value: dumper.represent_list(value))


def dump_yaml(data: dict[str, Any]) -> str:
    """A config as YAML text (``config show``, a run's config.yaml), keys in their order."""
    return yaml.dump(data, Dumper=ConfigDumper, sort_keys=False)


# YAML 1.2's float (core schema) where it needs a dot or an exponent, so that ints stay ints;
# SafeLoader's YAML 1.1 resolvers, tried first, still read what they did (1_000, 0x1f, .inf).
for _yaml_class in (ConfigLoader, ConfigDumper):
    _yaml_class.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"[-+]?(\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?\Z"
                   r"|[-+]?[0-9]+[eE][-+]?[0-9]+\Z"),
        list("-+.0123456789"),
    )


def load_yaml(text: str, where: str) -> Any:
    """``text`` read by :class:`ConfigLoader`: a ConfigError naming ``where`` for input past its
    limits, a ``yaml.YAMLError`` for text that is not YAML (the caller says what it was)."""
    loader = ConfigLoader(text, where)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _at(mark: yaml.Mark | None) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
