"""Masking secrets inside one string (a card number, JSON, a URL's password, ``key=value`` and
``'key': value`` pairs), the text half of :class:`raven.processors.SanitizeKeysProcessor`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ._secrets import looks_like_card
from ._textscan import KEY_VALUE, QUOTED_KEY, URL_CREDENTIALS, parse_json, value_end

__all__ = ["JSON_MAX_LENGTH", "MASK", "TEXT_MEMO_LENGTH", "TEXT_MEMO_SIZE", "TextScrubber"]

MASK = "*" * 8

# Strings longer than this are not parsed as JSON (the parse is bounded, once per value).
JSON_MAX_LENGTH = 100_000
# scrub_text remembers this many texts (of at most this many characters) with their result.
TEXT_MEMO_SIZE = 4096
TEXT_MEMO_LENGTH = 2048


class TextScrubber:
    """Text scrubbing by a processor's rules: ``is_sensitive(key)`` decides which keys are
    masked, ``scrub(value)`` scrubs a parsed JSON value, ``_texts`` remembers results."""

    _texts: dict[str, str]
    is_sensitive: Callable[[Any], bool]
    scrub: Callable[[Any], Any]

    def scrub_text(self, text: str) -> str:
        """A string with what it carries masked: a card number (the whole value), the keys of a
        JSON document, a URL's password, sensitive ``key=value`` and ``'key': value`` pairs.

        Card numbers inside free text are left alone: keys are what the default scrubs. The
        result depends on the text alone, and the same texts come back in every transaction (SQL
        statements, URLs, the runtime's contexts): up to ``TEXT_MEMO_SIZE`` texts of at most
        ``TEXT_MEMO_LENGTH`` characters are remembered with their result.
        """
        if len(text) < 6:
            return text
        memo = self._texts
        scrubbed = memo.get(text)
        if scrubbed is None:
            scrubbed = self._scrub_text(text)
            if len(text) <= TEXT_MEMO_LENGTH:
                if len(memo) >= TEXT_MEMO_SIZE:
                    memo.clear()
                memo[text] = scrubbed
        return scrubbed

    def _scrub_text(self, text: str) -> str:
        if 13 <= len(text) <= 23 and text[0].isdigit() and looks_like_card(text):
            return MASK
        first = text[0]
        if (first == "{" or first == "[") and len(text) <= JSON_MAX_LENGTH:
            parsed = parse_json(text)
            if isinstance(parsed, (dict, list)):
                import json

                scrubbed = self.scrub(parsed)
                return text if scrubbed == parsed else json.dumps(scrubbed, ensure_ascii=False)
        if "://" in text and "@" in text:
            text = URL_CREDENTIALS.sub(r"\1:" + MASK + "@", text)
        if "=" in text:
            text = KEY_VALUE.sub(self._mask_key_value, text)
        if (
            "':" in text
            or '":' in text
            or "('" in text
            or "['" in text
            or '("' in text
            or '["' in text
        ):
            text = self._scrub_quoted_pairs(text)
        return text

    def _mask_key_value(self, match: re.Match[str]) -> str:
        key, value = match.group(1), match.group(2)
        if not value or not self.is_sensitive(key):
            return match.group(0)
        quote = value[0] if value[0] in "'\"" else ""
        return f"{key}={quote}{MASK}{quote}"

    def _scrub_quoted_pairs(self, text: str) -> str:
        out: list[str] = []
        position = 0
        for match in QUOTED_KEY.finditer(text):
            quote, key = match.group(1, 2) if match.group(1) else match.group(3, 4)
            if match.start() < position or not self.is_sensitive(key):
                continue
            end = value_end(text, match.end())
            if end == match.end():
                continue
            out.append(text[position : match.end()])
            out.append(f"{quote}{MASK}{quote}")
            position = end
        if not out:
            return text
        out.append(text[position:])
        return "".join(out)

    def scrub_pairs(self, text: str, separator: str, all_values: bool = False) -> str:
        """Mask sensitive ``k=v`` pairs of a query string (``&``) or a cookie string (``;``)."""
        out = []
        for pair in text.split(separator.strip() or separator):
            name, eq, value = pair.partition("=")
            if eq and (all_values or self.is_sensitive(name.strip()) or looks_like_card(value)):
                out.append(f"{name}={MASK}")
            elif not eq and all_values and pair.strip():
                out.append(
                    pair[: len(pair) - len(pair.lstrip())] + MASK
                )  # a nameless cookie is a value too
            else:
                out.append(self.scrub_text(pair) if eq else pair)
        return (separator.strip() or separator).join(out)
