"""The patterns and scanners that find secrets inside strings, for :mod:`raven.processors`."""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """A regular expression compiled on first use: compiling these costs ``import raven``
    (construction loads the default processor) 3 ms, and most processes never scrub a string
    before they have served a while. After the first use its methods are the pattern's own."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> Any:
        compiled = re.compile(self.pattern, self.flags)
        for method in ("match", "search", "fullmatch", "sub", "subn", "findall", "finditer"):
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


# The password of a URL with credentials: ``scheme://user:PASSWORD@host`` (greedy up to the last
# ``@`` of the authority, so a password holding ``@`` is masked whole).
URL_CREDENTIALS: Any = LazyPattern(r"(\b[A-Za-z][\w+.-]*://[^\s:/?#@]*):([^\s/?#]*)@")
# A ``key=value`` pair: query strings in URLs (the repr of a request too), ``Config(token='x')``,
# ``--password=x``, ``password=x`` in a log line. A quoted value runs to its closing quote.
KEY_VALUE: Any = LazyPattern(
    r"""(?<![\w.\-\[\]])([\w.\-\[\]]+)=('[^']*'?|"[^"]*"?|[^&#;\s'"<>,)]*)"""
)
# A quoted key followed by ``:``: a dict's repr (past the serializer's depth limit) or JSON; or
# the first item of a pair's repr: ``OrderedDict([('password', 'x')])``, ``['token', 'x']``.
QUOTED_KEY: Any = LazyPattern(
    r"""(['"])([^'"\\\n]{1,200})\1\s*:\s*|(?<=[(\[])(['"])([^'"\\\n]{1,200})\3\s*,\s*"""
)
HEADER_LINE: Any = LazyPattern(r"^([!#$%&'*+.^_`|~\w-]+)[ \t]*:(.*)$")
WORD: Any = LazyPattern(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_CLOSING = {"{": "}", "[": "]", "(": ")"}


def value_end(text: str, start: int) -> int:
    """Where the value starting at ``start`` of a repr or JSON text ends (the text's end when cut)."""
    first = text[start : start + 1]
    if first in ("'", '"'):
        index = start + 1
        while index < len(text):
            char = text[index]
            if char == "\\":
                index += 2
                continue
            if char == first:
                return index + 1
            index += 1
        return len(text)
    if first in _CLOSING:
        depth, quote, index = 0, "", start
        while index < len(text):
            char = text[index]
            if quote:
                if char == "\\":
                    index += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "{[(":
                depth += 1
            elif char in "}])":
                depth -= 1
                if depth == 0:
                    return index + 1
            index += 1
        return len(text)
    index = start
    while index < len(text) and text[index] not in ",}])\n\r\t ":
        index += 1
    return index


def parse_json(text: str) -> Any:
    import json  # here: most events hold no JSON text

    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
