"""Write the generated parts of the documentation, so that no figure or key is typed twice.

A page marks each generated part with two comments; what lies between them is rewritten:

    <!-- generated: KIND ARGUMENTS -->
    ... (written by this script)
    <!-- end generated -->

KIND names a renderer: a function ``render(arguments: str) -> str`` in the dict ``RENDERERS`` of
a module in ``docs/generators/`` (every module there is read; a new kind is a new entry, one
file per kind of source: the CLI's parser, the config classes, the benchmark results).

    python docs/generate.py           # rewrite the pages in place
    python docs/generate.py --check   # exit 1, naming the stale pages, if any page differs
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parent
BLOCK = re.compile(r"(<!-- generated: (\S+)(.*?) -->\n)(.*?)(<!-- end generated -->)", re.S)
Renderer = Callable[[str], str]


def renderers() -> dict[str, Renderer]:
    """Every kind the modules in docs/generators/ define; a kind defined twice is an error."""
    found: dict[str, Renderer] = {}
    for path in sorted((DOCS / "generators").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"docs_generators_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses and pickling look a module up by name
        spec.loader.exec_module(module)
        for kind, render in getattr(module, "RENDERERS", {}).items():
            if kind in found:
                raise SystemExit(f"generated kind {kind!r} is defined twice ({path.name})")
            found[kind] = render
    return found


def generate(text: str, kinds: dict[str, Renderer], page: str) -> str:
    """TEXT with every generated block rewritten by its renderer."""
    def rewrite(match: re.Match[str]) -> str:
        opening, kind, arguments, _, closing = match.groups()
        if kind not in kinds:
            raise SystemExit(f"{page}: unknown generated kind {kind!r} "
                             f"(known: {', '.join(sorted(kinds))})")
        body = kinds[kind](arguments.strip()).rstrip("\n") + "\n"
        return opening + body + closing
    return BLOCK.sub(rewrite, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a page is not what the sources give")
    args = parser.parse_args(argv)
    kinds = renderers()
    stale = []
    for path in sorted(DOCS.rglob("*.md")):
        text = path.read_text()
        if "<!-- generated: " not in text:
            continue
        page = str(path.relative_to(DOCS))
        new = generate(text, kinds, page)
        if new != text:
            stale.append(page)
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print(f"stale generated pages (run python docs/generate.py): {', '.join(stale)}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
