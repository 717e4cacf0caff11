"""Event processors: they edit an event before it is sent. The default one scrubs secrets.

A processor is ``Processor(client)`` with ``process(data) -> data``; subclasses override the
``filter_*`` hooks. Scrubbing masks values with ``********`` wherever a key looks sensitive
(case-insensitive substring match, so ``db_password`` and ``X-Auth-Token`` are caught), per pair
inside query strings and cookie strings, and card numbers in any value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "MASK",
    "Processor",
    "RemovePostDataProcessor",
    "RemoveStackLocalsProcessor",
    "SanitizeKeysProcessor",
    "SanitizePasswordsProcessor",
]

MASK = "*" * 8

DEFAULT_SENSITIVE_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "api-key",
        "access_key",
        "accesskey",
        "private_key",
        "privatekey",
        "authorization",
        "x-auth",
        "auth_token",
        "credential",
        "cookie",
        "session",
        "csrf",
        "xsrf",
        "sentry_dsn",
        "card_number",
        "cardnumber",
        "credit_card",
        "cvv",
        "passphrase",
        "signature",
        "jwt",
        "bearer",
    }
)
_CARD_MIN = 10**12  # the smallest 13-digit number
_INT_ONLY = frozenset({int})
_CARD_RE = re.compile(r"^(?:\d[ -]?){12,18}\d$")
_COOKIE_KEYS = ("cookie", "set-cookie")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_card(value: Any) -> bool:
    """13-19 digits (spaces or dashes allowed) passing the Luhn check."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not 13 <= len(value) <= 23 or not _CARD_RE.match(value):
        return False
    digits = value.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and _luhn(digits)


class Processor:
    """Base class: ``process`` calls the ``filter_*`` hooks on each part of the event."""

    def __init__(self, client: Any = None) -> None:
        self.client = client

    def get_data(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any] | None:
        """raven-python's hook: extra data for the event (none by default)."""
        return None

    def process(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Run the ``filter_*`` methods over the event's interfaces; returns the event."""
        replaced = self.get_data(data, **kwargs)
        if replaced:
            data = replaced
        for stacktrace in _stacktraces(data):
            self.filter_stacktrace(stacktrace)
        if isinstance(data.get("request"), dict):
            self.filter_http(data["request"])
        if isinstance(data.get("extra"), dict):
            data["extra"] = self.filter_extra(data["extra"])
        return data

    def filter_stacktrace(self, data: dict[str, Any]) -> None:
        """Change a ``stacktrace`` in place."""
        pass

    def filter_http(self, data: dict[str, Any]) -> None:
        """Change the ``request`` interface in place."""
        pass

    def filter_extra(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change ``extra`` in place."""
        return data


def _stacktraces(data: dict[str, Any]) -> Iterable[dict[str, Any]]:
    exception = data.get("exception")
    values = exception.get("values", []) if isinstance(exception, dict) else []
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("stacktrace"), dict):
            yield value["stacktrace"]
    if isinstance(data.get("stacktrace"), dict):
        yield data["stacktrace"]
    threads = data.get("threads")
    for thread in threads.get("values", []) if isinstance(threads, dict) else []:
        if isinstance(thread, dict) and isinstance(thread.get("stacktrace"), dict):
            yield thread["stacktrace"]


class RemovePostDataProcessor(Processor):
    """Drop the request body."""

    def filter_http(self, data: dict[str, Any]) -> None:
        """Drop the request body."""
        data.pop("data", None)


class RemoveStackLocalsProcessor(Processor):
    """Drop local variables from every frame."""

    def filter_stacktrace(self, data: dict[str, Any]) -> None:
        """Drop every frame's local variables."""
        for frame in data.get("frames", []):
            frame.pop("vars", None)


class SanitizeKeysProcessor(Processor):
    """Mask values whose key contains one of ``sanitize_keys`` (the client option)."""

    default_keys: frozenset[str] = frozenset()

    def __init__(self, client: Any = None) -> None:
        super().__init__(client)
        extra = getattr(getattr(client, "options", None), "sanitize_keys", ()) or ()
        self.keys = tuple(sorted(self.default_keys | {k.lower() for k in extra}))
        self.scrub_all_cookies = not getattr(
            getattr(client, "options", None), "send_default_pii", False
        )
        self._decisions: dict[str, bool] = {}

    def is_sensitive(self, key: Any) -> bool:
        """True when ``key`` names a secret (it contains one of the sensitive words)."""
        if not isinstance(key, str):
            return False
        decision = self._decisions.get(key)
        if decision is None:
            lowered = key.lower()
            decision = any(k in lowered for k in self.keys)
            if len(self._decisions) < 10_000:
                self._decisions[key] = decision
        return decision

    def sanitize(self, key: Any, value: Any) -> Any:
        """The value to send for ``key``: masked, scrubbed inside, or unchanged."""
        if value is None or value == "":
            return value
        if self.is_sensitive(key):
            if (
                isinstance(key, str)
                and key.lower() in _COOKIE_KEYS
                and isinstance(value, str)
                and key.lower() == "cookie"
                and "=" in value
            ):
                return self.scrub_pairs(value, "; ", all_values=self.scrub_all_cookies)
            return MASK
        return self.scrub(value)

    def scrub(self, value: Any) -> Any:
        """``value`` with sensitive keys masked at any depth and card numbers masked anywhere."""
        cls = type(value)
        if cls is dict:
            return {k: self.sanitize(k, v) for k, v in value.items()}
        if cls is list:
            if (
                value
                and _INT_ONLY.issuperset(map(type, value))
                and -_CARD_MIN < min(value)
                and max(value) < _CARD_MIN
            ):
                return value  # the common list of small numbers: nothing to mask
            return [self.scrub(v) for v in value]
        if cls is int:
            return (
                MASK
                if (value >= _CARD_MIN or value <= -_CARD_MIN) and looks_like_card(abs(value))
                else value
            )
        if cls is str:
            return (
                MASK
                if 13 <= len(value) <= 23 and value[0].isdigit() and looks_like_card(value)
                else value
            )
        if isinstance(value, dict):
            return {k: self.sanitize(k, v) for k, v in value.items()}
        return value

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
                out.append(pair)
        return (separator.strip() or separator).join(out)

    # -- the parts of an event -----------------------------------------------------------------
    def process(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Mask secrets everywhere they may hide: extra, user, contexts, request, frames, breadcrumbs."""
        data = super().process(data, **kwargs)
        for key in ("contexts", "user", "tags"):
            if isinstance(data.get(key), dict):
                data[key] = self.scrub(data[key])
        crumbs = data.get("breadcrumbs")
        values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
        for crumb in values if isinstance(values, list) else []:
            if isinstance(crumb, dict) and isinstance(crumb.get("data"), dict):
                crumb["data"] = self.scrub(crumb["data"])
                if isinstance(crumb["data"].get("url"), str):
                    crumb["data"]["url"] = self.scrub_url(crumb["data"]["url"])
        return data

    def scrub_url(self, url: str) -> str:
        """Mask sensitive pairs in a URL's query string (``?api_key=...``), keeping the fragment."""
        if "?" not in url:
            return url
        base, _, rest = url.partition("?")
        query, hash_sign, fragment = rest.partition("#")
        return f"{base}?{self.scrub_pairs(query, '&')}{hash_sign}{fragment}"

    def filter_stacktrace(self, data: dict[str, Any]) -> None:
        """Mask sensitive local variables of every frame."""
        for frame in data.get("frames", []):
            if isinstance(frame.get("vars"), dict):
                frame["vars"] = self.scrub(frame["vars"])

    def filter_http(self, data: dict[str, Any]) -> None:
        """Mask sensitive headers, cookies, query parameters and body fields."""
        if isinstance(data.get("url"), str):
            data["url"] = self.scrub_url(data["url"])
        for key in ("data", "env"):
            value = data.get(key)
            if isinstance(value, (dict, list)):
                data[key] = self.scrub(value)
            elif isinstance(value, str) and key == "data" and "=" in value and "\n" not in value:
                data[key] = self.scrub_pairs(value, "&")
        headers = data.get("headers")
        if isinstance(headers, dict):
            data["headers"] = {k: self.sanitize(k, v) for k, v in headers.items()}
        elif isinstance(headers, list):
            data["headers"] = [[k, self.sanitize(k, v)] for k, v in headers]
        query = data.get("query_string")
        if isinstance(query, str) and query:
            data["query_string"] = self.scrub_pairs(query, "&")
        elif isinstance(query, dict):
            data["query_string"] = self.scrub(query)
        cookies = data.get("cookies")
        if isinstance(cookies, str) and cookies:
            data["cookies"] = self.scrub_pairs(cookies, "; ", all_values=self.scrub_all_cookies)
        elif isinstance(cookies, dict):
            data["cookies"] = {
                k: (MASK if self.scrub_all_cookies and v else self.sanitize(k, v))
                for k, v in cookies.items()
            }

    def filter_extra(self, data: dict[str, Any]) -> dict[str, Any]:
        """Mask sensitive keys of ``extra``."""
        scrubbed: dict[str, Any] = self.scrub(data)
        return scrubbed


class SanitizePasswordsProcessor(SanitizeKeysProcessor):
    """The default: passwords, secrets, tokens, API keys, auth headers, cookies, card numbers."""

    default_keys = DEFAULT_SENSITIVE_KEYS
