"""The generated parts of the documentation (docs/generate.py): every page is what its source
gives, and the renderers of the Reference section cover their sources (every command of the
parser, every key of the config classes, every public name of the API)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from gankit.configuration.schema import Config, bounded
from gankit.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def load(path: Path) -> ModuleType:
    """A docs script by its path, as generate.py loads the renderers (docs/ is no package)."""
    spec = importlib.util.spec_from_file_location(f"test_docs_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def config_generator() -> ModuleType:
    return load(DOCS / "generators" / "config.py")


def test_every_generated_page_is_current() -> None:
    """A page that differs from what its source gives fails, naming the page and the fix."""
    done = subprocess.run([sys.executable, str(DOCS / "generate.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_a_stale_block_is_rewritten() -> None:
    generate = load(DOCS / "generate.py")
    page = "# x\n<!-- generated: cli -->\nold text\n<!-- end generated -->\nafter\n"
    new = generate.generate(page, generate.renderers(), "x.md")
    assert "old text" not in new and "## gankit train" in new and new.endswith("after\n")


def commands(parser: object, prog: str = "gankit") -> list[tuple[str, object]]:
    """Every (command line, parser) of the tree, found independently of the renderer."""
    import argparse

    found = [(prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, f"{prog} {name}")
    return found


def test_cli_page_has_every_command_and_flag() -> None:
    from gankit.commandline.parser import build_parser

    page = (DOCS / "reference" / "cli.md").read_text()
    parts = re.split(r"^#{2,3} (gankit.*)$", page, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))  # heading -> its text
    tree = commands(build_parser())
    assert {"gankit train", "gankit features fit", "gankit config show"} <= dict(tree).keys()
    assert list(sections) == [prog for prog, _ in tree]
    for prog, parser in tree:
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"| `{flag}" in sections[prog], f"{prog} {flag}"


def test_cli_usage_is_written_the_same_on_every_python() -> None:
    """The usage lines are the page's own (argparse's layout differs between versions), with
    argparse's notation: brackets for what may be left out, choices in braces."""
    import argparse

    cli = load(DOCS / "generators" / "cli.py")
    parser = argparse.ArgumentParser(prog="tool x")
    parser.add_argument("--out", metavar="DIR", required=True)
    parser.add_argument("--n", type=int)
    parser.add_argument("--flag", action="store_true")
    parser.add_argument("--format", choices=("npy", "png"))
    parser.add_argument("a")
    parser.add_argument("b", nargs="?")
    assert cli.usage(parser) == \
        "usage: tool x [-h] --out DIR [--n N] [--flag] [--format {npy,png}] a [b]"
    parser.add_argument("--a-long-option-name", metavar="WITH_A_LONG_VALUE")
    assert cli.usage(parser).splitlines() == [
        "usage: tool x [-h] --out DIR [--n N] [--flag] [--format {npy,png}]",
        "              [--a-long-option-name WITH_A_LONG_VALUE] a [b]"]


def test_cli_reference_imports_no_torch() -> None:
    """The parser is torch-free, so is its page: the docs build needs no torch for it."""
    path = str(DOCS / "generators" / "cli.py")
    code = ("import importlib.util, sys; "
            f"s = importlib.util.spec_from_file_location('cli', {path!r}); "
            "m = importlib.util.module_from_spec(s); s.loader.exec_module(m); m.render(''); "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def schema_keys(cls: type, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, default) of every config key, walked independently of the renderer."""
    hints = typing.get_type_hints(cls)
    found = []
    for spec in dataclasses.fields(cls):
        if not spec.metadata.get("section", True):
            continue
        default = (spec.default_factory() if spec.default_factory is not dataclasses.MISSING
                   else spec.default)
        nested = [arg for arg in (hints[spec.name], *typing.get_args(hints[spec.name]))
                  if isinstance(arg, type) and dataclasses.is_dataclass(arg)]
        if dataclasses.is_dataclass(default):
            found += schema_keys(type(default), f"{prefix}{spec.name}.")
            continue
        found.append((prefix + spec.name, default))
        if nested:
            found += schema_keys(nested[0], f"{prefix}{spec.name}.")
    return found


def shipped_recipes() -> list[str]:
    """gankit's own recipes: other tests of the same session register theirs in the registry."""
    from gankit.recipes import RECIPES

    return [name for name in RECIPES.names() if RECIPES[name].__module__.startswith("gankit.")]


def test_config_page_has_every_key_with_its_default() -> None:
    from gankit.recipes import RECIPES

    lines = (DOCS / "reference" / "config.md").read_text().splitlines()
    rows = {re.sub(r"<[^>]+>", "", line.split("|")[1]).strip(): line
            for line in lines if line.startswith("| <code")}
    keys = schema_keys(Config)
    for name in shipped_recipes():
        if (options := RECIPES[name].Options) is not None:
            keys += schema_keys(options, f"{name}.")
    assert ("r3gan.gamma", 0.05) in keys and ("train.keep_best.k", 1) in keys
    for key, default in keys:
        assert key in rows, key
        shown = json.dumps(list(default) if isinstance(default, tuple) else default)
        assert f"`{shown}`" in rows[key], (key, default)


def test_every_config_key_has_a_description(config_generator: ModuleType) -> None:
    """A key is documented by its comment in the source; one without a comment fails here."""
    sections = [rows for rows in config_generator.schema_rows().values()]
    sections += [section[1] for name, section in config_generator.recipe_rows().items()
                 if section and name in shipped_recipes()]
    missing = [row.key for rows in sections for row in rows if not row.description]
    assert not missing, f"config keys without a comment in their class: {missing}"


@dataclass
class Example:
    size: int = bounded(3, 1, 9)  # how big
    # One paragraph for
    # two keys
    rate: float = 0.5
    name: str = "x"

    def check(self) -> None:
        if not 0 <= self.rate <= 1:
            raise ConfigError(f"example.rate must be in [0, 1], got {self.rate}")


@dataclass
class Larger(Example):
    extra: bool = True  # a key added to the class


def test_config_rows_come_from_the_class(config_generator: ModuleType) -> None:
    """Bounds from bounded() and from check()'s own message, descriptions from the comments
    (a block shared by the keys below it), and a key added to a class is a row added."""
    rows = config_generator.rows(Example, "example.")
    assert [tuple(row) for row in rows] == [
        ("example.size", "int", "3", "[1, 9]", "how big"),
        ("example.rate", "float", "0.5", "[0, 1]", "One paragraph for two keys"),
        ("example.name", "str", '"x"', "text", "See `example.rate`."),
    ]
    larger = config_generator.rows(Larger, "example.")
    assert larger[:3] == rows
    assert tuple(larger[3]) == ("example.extra", "bool", "true", "true, false",
                                "a key added to the class")
    assert ">example.<wbr>extra</code> | bool | `true` |" in config_generator.table(larger)


def test_api_page_documents_every_public_name() -> None:
    import gankit

    page = (DOCS / "reference" / "api.md").read_text()
    for name in set(gankit.__all__) - {"__version__"}:
        obj = getattr(gankit, name)
        assert f"::: {obj.__module__}.{obj.__name__}\n" in page, name
