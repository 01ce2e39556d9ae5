"""What a page sends, read within bounds before anything is parsed.

The page is not trusted, and anything can connect to the view's port: a message is read as
JSON only once its size and its nesting are known to be small, so that no message costs more
than a moment or fails inside the parser. ``json.loads`` recurses once per level of nesting,
so a message of 100,000 ``[`` would raise ``RecursionError`` in it; the depth is therefore
counted first, in one pass over the text that does not recurse.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_MESSAGE_CHARS = 2**20  # a drawn data set of 5,000 points is ~150 KB of JSON
MAX_MESSAGE_DEPTH = 32  # the page's messages nest 3 deep (a settings message's points)
# A JSON string, escapes included; its closing quote may be missing, so that an unterminated
# string matches once to the end rather than being tried again from every quote inside it.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)


def parse_message(text: str | None, data: bytes | None) -> Any:
    """A page message as JSON data; what cannot be read becomes ``{"type": "invalid"}`` with a
    reason, a message the session refuses with one line (the session answers every error, so
    this one is answered in order with the page's other messages)."""
    if text is None:
        return _invalid(f"binary message of {len(data or b'')} bytes; send JSON text")
    if len(text) > MAX_MESSAGE_CHARS:
        return _invalid(f"message of {len(text)} characters; at most {MAX_MESSAGE_CHARS}")
    if nesting_depth(text) > MAX_MESSAGE_DEPTH:
        return _invalid(f"message nests collections deeper than {MAX_MESSAGE_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError as err:  # malformed, or an integer past Python's digit limit
        return _invalid(f"malformed JSON ({err})")


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text, brackets in strings left out.

    Exact for valid JSON; for invalid JSON, exact up to the first place the parser would
    refuse, which is all the parser would read (a string here ends where JSON's does)."""
    depth = deepest = 0
    for char in _STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _invalid(reason: str) -> dict[str, str]:
    return {"type": "invalid", "reason": reason}
