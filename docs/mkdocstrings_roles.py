"""A griffe extension for the API reference: gankit's docstrings name other objects with Sphinx
roles (``:class:`Run```, ``:func:`~gankit.api.load```), which Markdown would print as they are;
here each becomes inline code of the name, written as Sphinx shows it (``~`` keeps the last
part). Plain code, not a link: a link to an object the site does not render would be a broken
cross-reference, which the strict build refuses."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|obj|exc|const):`(~?)\.?([^`]+)`")


def plain(match: re.Match[str]) -> str:
    """``:class:`~a.b.C``` -> ``C``; ``:class:`title <a.b.C>``` -> ``title``."""
    short, name = match.groups()
    if (title := re.fullmatch(r"(.+?)\s*<[^>]+>", name)) is not None:
        return f"`{title.group(1)}`"
    return f"`{name.rsplit('.', 1)[-1] if short else name}`"


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(plain, obj.docstring.value)
