"""The config keys, generated from the config classes (``<!-- generated: config SECTION -->``).

Every fact of a row is read from where the code keeps it, so the page cannot drift:

- key, type and default: the dataclass fields of :mod:`gankit.configuration.schema` and of each
  recipe's ``Options`` (the section named after the recipe);
- bounds: what the key's own ``check()`` says when given a value out of range (its "must be ..."
  message, the one a user sees), else the int range of ``bounded()``, the interval rule of
  ``interval()``, or the int64 range the reader holds any other int to;
- description: the key's comment in the source. A comment on the field's line is its own; a
  comment block above a field describes it and the fields right after it that have no comment
  of their own (``image_size``, ``channels``, ``path``, ``cache`` under one paragraph), which is
  how the schema already documents its keys. A field with neither has no description, and
  tests/test_docs_generated.py fails naming it.

ARGUMENTS: ``schema`` (the shared sections: recipe, data, model, loss, train, augment) or
``recipes`` (every registered recipe's own section).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import json
import math
import re
import textwrap
import tokenize
import types
import typing
from functools import cache
from typing import Any, NamedTuple

from gankit.configuration import schema
from gankit.errors import ConfigError
from gankit.registry import declared

MUST_BE = re.compile(r" must be (.+), got ")  # greedy: "one of a, b, c, got x" keeps the list
FLOAT_PROBES = (-1e30, 1e30)  # out of every float key's range that a check() holds it to
TEXT_PROBE = "not-a-choice"
SHARED_SECTIONS = ("data", "model", "loss", "train", "augment")
# Keys whose value names a registry entry, which resolve (not the schema) checks: the names
# are read from the registries' sources (gankit.registry.declared), so a new entry shows here.
NAMED_BY = {"recipe": "gankit.recipes.base:RECIPES", "data.name": "gankit.data.sources:DATASETS",
            "loss.name": "gankit.losses.adversarial:LOSSES"}


class Row(NamedTuple):
    """One config key as the page shows it."""

    key: str  # dotted: train.keep_best.k
    type: str
    default: str
    allowed: str
    description: str


def rows(cls: type, prefix: str) -> list[Row]:
    """The keys of dataclass ``cls`` read under ``prefix`` (``"train."``), nested dataclasses
    (``train.keep_best``) followed by their own keys."""
    hints = typing.get_type_hints(cls)
    found = []
    for spec in dataclasses.fields(cls):
        if not spec.metadata.get("section", True):
            continue
        key = prefix + spec.name
        comment = descriptions(cls)[spec.name]
        shared = comment.leader not in (None, spec.name)
        found.append(Row(key, type_name(hints[spec.name]), show_default(default_of(spec)),
                         allowed(cls, spec, hints[spec.name], key),
                         f"See `{prefix}{comment.leader}`." if shared else comment.text))
        if (nested := nested_dataclass(hints[spec.name])) is not None:
            found += rows(nested, key + ".")
    return found


def default_of(spec: dataclasses.Field) -> Any:
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return spec.default


def nested_dataclass(hint: Any) -> type | None:
    """The dataclass a key holds (``KeepBest | None``: KeepBest), else None."""
    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    return None


def type_name(hint: Any) -> str:
    """``int``, ``float | None``, ``tuple[str, ...]``: the annotation as a reader writes it."""
    if hint is type(None):
        return "None"
    if is_union(hint):
        return " | ".join(type_name(arg) for arg in typing.get_args(hint))
    if (origin := typing.get_origin(hint)) is not None:
        args = ", ".join("..." if arg is Ellipsis else type_name(arg)
                         for arg in typing.get_args(hint))
        return f"{origin.__name__}[{args}]"
    return hint.__name__


def is_union(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union


def show_default(value: Any) -> str:
    """The default as YAML reads it back (null, true, [10], 0.0001); a section: its keys below."""
    if dataclasses.is_dataclass(value):
        return "(section)"
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def allowed(cls: type, spec: dataclasses.Field, hint: Any, key: str) -> str:
    """What the key accepts, as the code that refuses other values says it."""
    if key in NAMED_BY:
        return "one of " + ", ".join(declared(NAMED_BY[key]))
    if spec.metadata.get("interval"):
        return refusal(lambda: schema.check_interval(0, key), key) or ""
    if nested_dataclass(hint) is not None:
        return "a mapping, or null: off" if type(None) in typing.get_args(hint) else "a mapping"
    kinds = set(typing.get_args(hint)) if is_union(hint) else {hint}
    low, high = spec.metadata.get("range", schema.INT64_RANGE)
    if bool in kinds:
        return "true, false"
    if int in kinds:
        said = probe(cls, spec.name, key, (low - 1, high + 1))
        return said or f"[{show_int(low)}, {show_int(high)}]"
    if float in kinds:
        return probe(cls, spec.name, key, FLOAT_PROBES) or "float32-normal, or 0"
    if str in kinds:
        return probe(cls, spec.name, key, (TEXT_PROBE,)) or "text"
    return "a list" if typing.get_origin(hint) is tuple else ""


def probe(cls: type, name: str, key: str, values: tuple[Any, ...]) -> str | None:
    """The "must be ..." of the section's ``check()`` when field ``name`` holds each value in
    turn (the rest at their defaults); None where the check accepts them all."""
    for value in values:
        section = cls()
        setattr(section, name, value)
        if (said := refusal(section.check, key)) is not None:
            return said
    return None


def refusal(check: typing.Callable[[], None], key: str) -> str | None:
    try:
        check()
    except ConfigError as error:
        message = str(error)
        if message.startswith(key + " ") and (match := MUST_BE.search(message)):
            return match.group(1).removeprefix("in ")
    return None


def show_int(n: int) -> str:
    """A large bound as the source writes it (2^24, 2^64 - 1, 10^9); else the digits."""
    for base in (2, 10):
        for offset, suffix in ((0, ""), (1, " - 1")):
            size = abs(n) + offset
            if size >= 2**16 and (power := round(math.log(size, base))) and base**power == size:
                return f"{'-' if n < 0 else ''}{base}^{power}{suffix}"
    return str(n)


class Comment(NamedTuple):
    """A field's comment; ``leader``: the field whose comment block it shares, which the page
    shows once (at the leader) and points to from the others."""

    text: str
    leader: str | None = None


@cache
def descriptions(cls: type) -> dict[str, Comment]:
    """Each field's comment, from the source of the class that declares it (a base class for
    inherited fields); empty where there is none."""
    found: dict[str, Comment] = {}
    for owner in reversed(cls.__mro__):
        if dataclasses.is_dataclass(owner):
            found |= comments(owner)
    return {spec.name: found.get(spec.name, Comment("")) for spec in dataclasses.fields(cls)}


def comments(cls: type) -> dict[str, Comment]:
    """The comment of every annotated name in ``cls``'s own body (the rule in the module's
    docstring)."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines: dict[int, tuple[str, bool]] = {}  # line -> (text, whether code precedes it)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            text = token.string.lstrip("#").strip()
            lines[token.start[0]] = (text, bool(token.line[:token.start[1]].strip()))
    found: dict[str, Comment] = {}
    group: Comment | None = None  # the block above, shared by the fields without their own
    for statement in ast.parse(source).body[0].body:
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            group = None
            continue
        name = statement.target.id
        block = []
        line = statement.lineno - 1
        while line in lines and not lines[line][1]:
            block.insert(0, lines[line][0])
            line -= 1
        own = [text for number, (text, trailing) in lines.items()
               if trailing and statement.lineno <= number <= statement.end_lineno]
        if block or own:
            found[name] = Comment(" ".join(block + own))
            group = Comment(found[name].text, name) if block and not own else None
        else:
            found[name] = group or Comment("")
    return found


def table(found: list[Row]) -> str:
    head = "| key | type | default | allowed | description |\n|---|---|---|---|---|\n"
    return head + "".join(
        f"| {key_code(row.key)} | {cell(row.type)} | `{row.default}` | {cell(row.allowed)} | "
        f"{cell(row.description)} |\n" for row in found)


def key_code(key: str) -> str:
    """A key as code that wraps only after a dot or an underscore: the theme breaks code
    anywhere, which would split ``model.g_depth`` into ``model.g_dep`` and ``th``."""
    parts = key.replace(".", ".<wbr>").replace("_", "_<wbr>")
    return f'<code style="word-break: normal; overflow-wrap: normal">{parts}</code>'



def cell(text: str) -> str:
    """Text safe in a Markdown table cell: a bar would end the cell."""
    return text.replace("|", "\\|")


def schema_rows() -> dict[str, list[Row]]:
    """The shared sections, each under its heading; ``recipe`` with them under "top level"."""
    top = [row for row in rows(schema.Config, "") if "." not in row.key
           and row.key not in SHARED_SECTIONS]
    found = {"top level": top}
    for name in SHARED_SECTIONS:
        section = nested_dataclass(typing.get_type_hints(schema.Config)[name])
        found[name] = rows(section, f"{name}.")
    return found


def recipe_rows() -> dict[str, tuple[str, list[Row]] | None]:
    """Each recipe: its section's summary and keys, or None for a recipe without options."""
    from gankit.recipes import RECIPES

    found: dict[str, tuple[str, list[Row]] | None] = {}
    for name in RECIPES.names():
        options = RECIPES[name].Options
        found[name] = None
        if options is not None:
            summary = inspect.getdoc(options).split("\n\n")[0].replace("\n", " ")
            summary = summary.replace("``", "`")  # reST literals, as Markdown
            found[name] = (summary, rows(options, f"{name}."))
    return found


def render_schema(arguments: str) -> str:
    parts = []
    for heading, found in schema_rows().items():
        parts.append(f"## {heading}\n\n{table(found)}")
    return "\n".join(parts)


def render_recipes(arguments: str) -> str:
    sections = recipe_rows()
    bare = [name for name, section in sections.items() if section is None]
    parts = [f"Recipes without options of their own: {', '.join(bare)}.\n"] if bare else []
    for name, section in sections.items():
        if section is not None:
            summary, found = section
            parts.append(f"### {name}\n\n{summary} Read only under `recipe: {name}`.\n\n"
                         f"{table(found)}")
    return "\n".join(parts)


def render(arguments: str) -> str:
    renderers = {"schema": render_schema, "recipes": render_recipes}
    if arguments not in renderers:
        raise SystemExit(f"config: unknown argument {arguments!r} (known: schema, recipes)")
    return renderers[arguments](arguments)


RENDERERS = {"config": render}
