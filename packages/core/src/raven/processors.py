"""Event processors: they edit an event before it is sent. The default one scrubs secrets.

A processor is ``Processor(client)`` with ``process(data) -> data``; subclasses override the
``filter_*`` hooks. Scrubbing masks values with ``********`` wherever a key looks sensitive
(case-insensitive substring match, so ``db_password`` and ``X-Auth-Token`` are caught), per pair
inside query strings and cookie strings, and card numbers in any value. Inside strings it masks
the password of a URL with credentials, sensitive ``key=value`` pairs (query strings, reprs),
sensitive ``'key': value`` pairs (dict reprs, JSON cut by the length limit) and the keys of a
JSON document held in a string; a ``(key, value)`` pair masks its value after a sensitive key.
Scrubbing fails closed: a value that cannot be scrubbed is masked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ._scrubtext import JSON_MAX_LENGTH as JSON_MAX_LENGTH
from ._scrubtext import MASK as MASK
from ._scrubtext import TEXT_MEMO_LENGTH as TEXT_MEMO_LENGTH
from ._scrubtext import TEXT_MEMO_SIZE as TEXT_MEMO_SIZE
from ._scrubtext import TextScrubber
from ._secrets import CARD_MIN, CARD_RE

# Public here since before _secrets existed: re-exported (`as` marks them so for mypy).
from ._secrets import DEFAULT_PII_KEYS as DEFAULT_PII_KEYS
from ._secrets import DEFAULT_SENSITIVE_KEYS as DEFAULT_SENSITIVE_KEYS
from ._secrets import DEFAULT_SENSITIVE_WORDS as DEFAULT_SENSITIVE_WORDS
from ._secrets import looks_like_card as looks_like_card
from ._textscan import HEADER_LINE, WORD

__all__ = [
    "MASK",
    "Processor",
    "RemovePostDataProcessor",
    "RemoveStackLocalsProcessor",
    "SanitizeKeysProcessor",
    "SanitizePasswordsProcessor",
]


logger = logging.getLogger("raven.processors")
_INT_ONLY = frozenset({int})
_COOKIE_KEYS = ("cookie", "set-cookie")


# Span data keys whose "token" is a unit, not a secret: an AI call's token usage, token limit
# and time to the first token.
_COUNT_PREFIXES = (
    "gen_ai.usage.",
    "gen_ai.request.max_tokens",
    "gen_ai.response.time_to_first_token",
)

# Ids Raven generates (hex): never scrubbed as text, even when one is all digits and passes Luhn.
_TRACE_IDS = frozenset({"trace_id", "span_id", "parent_span_id", "event_id"})


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


class SanitizeKeysProcessor(TextScrubber, Processor):
    """Mask values whose key contains one of ``sanitize_keys`` (the client option)."""

    default_keys: frozenset[str] = frozenset()
    default_words: frozenset[str] = frozenset()
    MASK = MASK  # raven-python's names: a subclass may add to KEYS
    KEYS: frozenset[str] = frozenset()

    def __init__(self, client: Any = None) -> None:
        super().__init__(client)
        options = getattr(client, "options", None)
        send_pii = bool(getattr(options, "send_default_pii", False))
        keys = self.default_keys | set(self.KEYS) | {k.lower() for k in _legacy_keys(self, client)}
        if self.default_keys and not send_pii:
            keys |= DEFAULT_PII_KEYS
        self.keys = tuple(sorted({_normalize(k) for k in keys}))
        self.words = self.default_words
        self.scrub_all_cookies = not send_pii
        self._decisions: dict[str, bool] = {}
        self._texts: dict[str, str] = {}  # scrub_text's results, by text

    def is_sensitive(self, key: Any) -> bool:
        """True when ``key`` names a secret (it contains one of the sensitive words)."""
        if not isinstance(key, str):
            return False
        decision = self._decisions.get(key)
        if decision is None:
            lowered = _normalize(key)
            decision = not lowered.startswith(_COUNT_PREFIXES) and (
                any(k in lowered for k in self.keys)
                or (
                    bool(self.words)
                    and not self.words.isdisjoint(w.lower() for w in WORD.findall(key))
                )
            )
            if len(self._decisions) < 10_000:
                self._decisions[key] = decision
        return decision

    def sanitize(self, key: Any, value: Any) -> Any:
        """The value to send for ``key``: masked, scrubbed inside, or unchanged."""
        try:
            cls = type(value)
            if value is None or (cls is str and not value):
                return value
            decision = self._decisions.get(key)  # is_sensitive's cache, inlined: the hot path
            if decision is None:
                decision = self.is_sensitive(key)
            if decision:
                if (
                    isinstance(key, str)
                    and key.lower() == "cookie"
                    and isinstance(value, str)
                    and "=" in value
                ):
                    return self.scrub_pairs(value, "; ", all_values=self.scrub_all_cookies)
                return MASK
            if cls is str:
                if len(value) < 6 or key in _TRACE_IDS:
                    return value  # a 16-digit span id can pass the card-number check
                return self.scrub_text(value)
            if cls is bytes:  # a body read raw: scrubbed as the text it holds
                return self.sanitize(key, value.decode("utf-8", "replace"))
            if cls is bool or cls is float:
                return value
            return self.scrub(value)
        except Exception:  # fail closed: what cannot be scrubbed is not sent
            return MASK

    def scrub(self, value: Any) -> Any:
        """``value`` with sensitive keys masked at any depth and card numbers masked anywhere."""
        cls = type(value)
        if cls is dict:
            return {k: self.sanitize(k, v) for k, v in value.items()}
        if cls is list:
            if (
                value
                and _INT_ONLY.issuperset(map(type, value))
                and -CARD_MIN < min(value)
                and max(value) < CARD_MIN
            ):
                return value  # the common list of small numbers: nothing to mask
            if len(value) == 2 and self.is_sensitive(value[0]):
                return [value[0], self.sanitize(value[0], value[1])]  # a (key, value) pair
            return [self.sanitize(None, v) for v in value]
        if cls is int:
            return (
                MASK
                if (value >= CARD_MIN or value <= -CARD_MIN) and looks_like_card(abs(value))
                else value
            )
        if cls is str:
            return self.scrub_text(value)
        if isinstance(value, dict):
            return {k: self.sanitize(k, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return self.scrub(list(value))
        if isinstance(value, str):
            return self.scrub_text(str.__str__(value))
        return value

    # -- the parts of an event -----------------------------------------------------------------
    def process(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Mask secrets everywhere they may hide: extra, user, contexts, request, frames,
        breadcrumbs, messages and exception values. A part that cannot be scrubbed is dropped."""
        replaced = self.get_data(data, **kwargs)
        if replaced:
            data = replaced
        for stacktrace in list(_stacktraces(data)):
            self._guarded(stacktrace, "frames", self.filter_stacktrace, stacktrace)
        if "request" in data:
            if isinstance(data["request"], dict):
                self._guarded(data, "request", self.filter_http, data["request"])
            else:
                data.pop("request")  # not an object: it cannot be scrubbed
        if "extra" in data:
            self._guarded(data, "extra", self._scrub_part, data, "extra")
        for key in ("contexts", "user", "tags"):
            if key in data:
                self._guarded(data, key, self._scrub_part, data, key)
        self._guarded(data, "logentry", self._scrub_messages, data)
        self._guarded(data, "exception", self._scrub_exceptions, data)
        self._guarded(data, "breadcrumbs", self._scrub_breadcrumbs, data)
        self._guarded(data, "spans", self._scrub_spans, data)
        return data

    def _scrub_spans(self, data: dict[str, Any]) -> None:
        """A transaction's spans: their data, tags and description (a SQL statement, a URL)."""
        for span in data.get("spans") or ():
            if not isinstance(span, dict):
                continue
            for key in ("data", "tags"):
                if isinstance(span.get(key), dict):
                    span[key] = self.scrub(span[key])
            if isinstance(span.get("description"), str):
                span["description"] = self.scrub_text(span["description"])

    @staticmethod
    def _guarded(
        container: dict[str, Any], key: str, scrub: Callable[..., None], *args: Any
    ) -> None:
        try:
            scrub(*args)
        except Exception:  # fail closed: the part that cannot be scrubbed is not sent
            logger.warning("could not scrub the event's %r: left out", key, exc_info=True)
            container.pop(key, None)

    def _scrub_part(self, data: dict[str, Any], key: str) -> None:
        value = data[key]
        if isinstance(value, dict):
            data[key] = self.filter_extra(value) if key == "extra" else self.scrub(value)
            if key == "user" and data[key].get("ip_address") == MASK:
                del data[key]["ip_address"]  # Sentry takes an address or nothing
        elif value is not None:
            data.pop(key)  # not an object: Sentry would not take it, and it cannot be scrubbed

    def _scrub_messages(self, data: dict[str, Any]) -> None:
        for key in ("logentry", "message"):
            entry = data.get(key)
            if isinstance(entry, str):
                data[key] = self.scrub_text(entry)
            elif isinstance(entry, dict):
                for name in ("message", "formatted"):
                    if isinstance(entry.get(name), str):
                        entry[name] = self.scrub_text(entry[name])
                if "params" in entry:
                    entry["params"] = self.scrub(entry["params"])

    def _scrub_exceptions(self, data: dict[str, Any]) -> None:
        exception = data.get("exception")
        values = exception.get("values") if isinstance(exception, dict) else None
        for value in values if isinstance(values, list) else []:
            if isinstance(value, dict) and isinstance(value.get("value"), str):
                value["value"] = self.scrub_text(value["value"])

    def _scrub_breadcrumbs(self, data: dict[str, Any]) -> None:
        crumbs = data.get("breadcrumbs")
        values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
        for crumb in values if isinstance(values, list) else []:
            if not isinstance(crumb, dict):
                continue
            if isinstance(crumb.get("message"), str):
                crumb["message"] = self.scrub_text(crumb["message"])
            if isinstance(crumb.get("data"), dict):
                crumb["data"] = self.scrub(crumb["data"])
                if isinstance(crumb["data"].get("url"), str):
                    crumb["data"]["url"] = self.scrub_url(crumb["data"]["url"])
            elif "data" in crumb:
                crumb.pop("data")

    def scrub_url(self, url: str) -> str:
        """Mask a URL's password and the sensitive pairs of its query string and fragment."""
        if "?" in url:
            base, _, rest = url.partition("?")
            query, hash_sign, fragment = rest.partition("#")
            url = f"{base}?{self.scrub_pairs(query, '&')}{hash_sign}{fragment}"
        return self.scrub_text(url)

    def filter_stacktrace(self, data: dict[str, Any]) -> None:
        """Mask sensitive local variables of every frame (a frame's locals that cannot be
        scrubbed are left out)."""
        for frame in data.get("frames", []):
            if "vars" in frame:
                try:
                    frame["vars"] = self.scrub(frame["vars"])
                    if not isinstance(frame["vars"], dict):
                        del frame["vars"]
                except Exception:
                    del frame["vars"]

    def filter_http(self, data: dict[str, Any]) -> None:
        """Mask sensitive headers, cookies, query parameters and body fields."""
        if isinstance(data.get("url"), str):
            data["url"] = self.scrub_url(data["url"])
        for key in ("data", "env"):
            value = data.get(key)
            if isinstance(value, (bytes, bytearray)):
                value = bytes(value).decode("utf-8", "replace")
            if isinstance(value, str) and key == "data" and "=" in value and "\n" not in value:
                data[key] = self.scrub_text(self.scrub_pairs(value, "&"))
            elif value is not None:
                data[key] = self.scrub(value)
        headers = data.get("headers")
        if isinstance(headers, dict):
            data["headers"] = {k: self.sanitize(k, v) for k, v in headers.items()}
        elif isinstance(headers, list):
            data["headers"] = [pair for item in headers for pair in self._header_pairs(item)]
        elif isinstance(headers, str):
            data["headers"] = self._header_pairs(headers)
        elif headers is not None:
            data.pop("headers")
        query = data.get("query_string")
        if isinstance(query, str) and query:
            data["query_string"] = self.scrub_text(self.scrub_pairs(query, "&"))
        elif query is not None:
            data["query_string"] = self.scrub(query)
        cookies = data.get("cookies")
        if isinstance(cookies, str) and cookies:
            data["cookies"] = self.scrub_pairs(cookies, "; ", all_values=self.scrub_all_cookies)
        elif isinstance(cookies, dict):
            data["cookies"] = {
                k: (MASK if self.scrub_all_cookies and v else self.sanitize(k, v))
                for k, v in cookies.items()
            }
        elif cookies is not None:
            data["cookies"] = MASK if self.scrub_all_cookies else self.scrub(cookies)

    def _header_pairs(self, item: Any) -> list[list[Any]]:
        """``[name, value]`` pairs from a header pair or raw header lines; anything else (which
        Sentry would not take either) is left out."""
        if isinstance(item, list) and len(item) == 2:
            return [[item[0], self.sanitize(item[0], item[1])]]
        pairs = []
        for line in item.splitlines() if isinstance(item, str) else ():
            match = HEADER_LINE.match(line)
            if match:
                name, value = match.group(1), match.group(2).strip()
                pairs.append([name, self.sanitize(name, value)])
        return pairs

    def filter_extra(self, data: dict[str, Any]) -> dict[str, Any]:
        """Mask sensitive keys of ``extra``."""
        scrubbed: dict[str, Any] = self.scrub(data)
        return scrubbed


def _normalize(key: str) -> str:
    return key.lower().replace("-", "_")


class SanitizePasswordsProcessor(SanitizeKeysProcessor):
    """The default: passwords, secrets, tokens, API keys, auth headers, cookies, card numbers."""

    default_keys = DEFAULT_SENSITIVE_KEYS
    default_words = DEFAULT_SENSITIVE_WORDS
    KEYS = DEFAULT_SENSITIVE_KEYS
    VALUES_RE = CARD_RE  # what a card number looks like (checked by Luhn too)

    @property
    def FIELDS(self) -> frozenset[str]:  # noqa: N802 - raven-python's name
        """raven-python's old name for ``KEYS``."""
        from ._deprecated import warn_moved

        warn_moved("SanitizePasswordsProcessor.FIELDS", "SanitizePasswordsProcessor.KEYS")
        return frozenset(self.KEYS)


def _legacy_keys(processor: Any, client: Any) -> Iterable[str]:
    """The extra keys to mask: ``client.sanitize_keys`` (the option, or what a client subclass
    set), and a processor subclass's own ``sanitize_keys``, as raven-python read them."""
    keys = list(getattr(client, "sanitize_keys", None) or ())
    if not keys:
        keys = list(getattr(getattr(client, "options", None), "sanitize_keys", ()) or ())
    own = getattr(type(processor), "sanitize_keys", None)
    if isinstance(own, property):
        keys += list(own.fget(processor) or ()) if own.fget else []
    elif isinstance(own, (list, tuple, set, frozenset)):
        keys += list(own)
    return [k for k in keys if isinstance(k, str)]
