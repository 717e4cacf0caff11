"""Encoding events for the wire: JSON, size limits (shrinking), envelopes, gzip."""

from __future__ import annotations

import itertools
import sys
import time
from typing import Any

from ..serializer import Serializer, safe_repr

__all__ = [
    "category_of",
    "drops_of",
    "dumps",
    "encode_envelope",
    "envelope_item",
    "fit_event",
    "gzip_body",
    "is_gzip",
]


# json, gzip and copy are imported where used: encoding happens on the sender thread, and
# importing them up front would slow down `import raven` for every process.


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; values JSON cannot take become their repr, and what UTF-8 cannot
    encode (lone surrogates from ``os.fsdecode``, ``surrogateescape``d environment variables and
    file names) becomes U+FFFD: one character never costs the event."""
    import json

    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=safe_repr)
    except (TypeError, ValueError, RecursionError):
        # What a before_send or processor put in after serialization: an int past the int-to-str
        # limit, a non-string key, nesting too deep for json. Serialize the whole value again,
        # without size limits but with a depth limit.
        text = json.dumps(
            _LENIENT(value), separators=(",", ":"), ensure_ascii=False, default=safe_repr
        )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # rare: pay for the repair only when it is needed
        return _replace_surrogates(text).encode("utf-8")


class _Lenient(Serializer):
    trust_int_lists = False


_LENIENT = _Lenient(string_max_length=2**62, list_max_length=2**62, max_depth=64)


def _replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (valid pairs are joined)."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def envelope_item(
    item_type: str,
    payload: Any,
    category: str,
    *,
    headers: dict[str, Any] | None = None,
    drops: list[tuple[str, int]] | None = None,
) -> dict[str, Any]:
    """An envelope item other than an event (``sessions``, ``check_in``, ``log``, ...) in the
    shape the transports queue: a plain dict, like an event, with its item ``headers`` besides
    ``type``, its rate-limit ``category``, and what a drop counts in client reports (``drops``:
    (category, quantity) pairs; default one of ``category``)."""
    return {
        "_item": {**(headers or {}), "type": item_type},
        "_payload": payload,
        "_category": category,
        "_drops": [list(pair) for pair in (drops or [(category, 1)])],
    }


def category_of(event: dict[str, Any]) -> str:
    """The rate-limit / client-report category of an event (or of an :func:`envelope_item`)."""
    if "_item" in event:
        return str(event["_category"])
    event_type = event.get("type")
    if event_type == "transaction":
        return "transaction"
    return "error" if "exception" in event else "default"


def drops_of(event: dict[str, Any], category: str) -> list[tuple[str, int]]:
    """What dropping ``event`` counts: (category, quantity) pairs; a transaction counts its
    spans too (category ``span``, the transaction's own included), and its profile."""
    if "_item" in event:
        return [(str(c), int(q)) for c, q in event["_drops"]]
    if category == "transaction":
        drops = [(category, 1), ("span", len(event.get("spans") or ()) + 1)]
        if event.get("_profile") is not None:  # a profiled transaction not yet encoded
            drops.append(("profile", 1))
        return drops
    if event.get("_attachments"):  # an event's files, not yet encoded (raven.attachments)
        from ..attachments import drops_for

        return [(category, 1), *drops_for(event["_attachments"])]
    return [(category, 1)]


def fit_event(event: dict[str, Any], max_bytes: int) -> bytes | None:
    """The event as JSON no larger than ``max_bytes``, shrinking it step by step, or None.

    Steps, least valuable data first: frame variables, breadcrumbs (the latest kept, each cut
    short), middle frames, long strings and long lists and dicts everywhere (100,000 tags become
    the first ``MAX_ITEMS``), then everything but what identifies the error. None only when
    even that does not fit.
    """
    body = dumps(event)
    if len(body) <= max_bytes:
        return body
    import copy

    event = copy.deepcopy(event)
    for step in (
        _drop_vars,
        _trim_breadcrumbs,
        _drop_middle_frames,
        _trim_strings,
        _keep_essentials,
    ):
        step(event)
        body = dumps(event)
        if len(body) <= max_bytes:
            return body
    return None


MAX_ITEMS = 100  # items kept per list or dict once sizes are trimmed
# What is left when nothing else fits: the error, its message and where it happened.
_ESSENTIAL_KEYS = frozenset(
    {
        "event_id",
        "timestamp",
        "level",
        "platform",
        "logger",
        "type",
        "message",
        "logentry",
        "exception",
        "stacktrace",
        "threads",
        "release",
        "dist",
        "environment",
        "server_name",
        "transaction",
        "culprit",
        "fingerprint",
        "sdk",
    }
)


def _frames(event: dict[str, Any]) -> list[list[dict[str, Any]]]:
    lists = []
    for value in (event.get("exception") or {}).get("values") or []:
        frames = (value.get("stacktrace") or {}).get("frames")
        if isinstance(frames, list):
            lists.append(frames)
    frames = (event.get("stacktrace") or {}).get("frames")
    if isinstance(frames, list):
        lists.append(frames)
    return lists


def _drop_vars(event: dict[str, Any]) -> None:
    for frames in _frames(event):
        for frame in frames:
            frame.pop("vars", None)


def _trim_breadcrumbs(event: dict[str, Any]) -> None:
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict) and isinstance(crumbs.get("values"), list):
        crumbs["values"] = [_walk(c, 1024, MAX_ITEMS) for c in crumbs["values"][-10:]]
    event.pop("modules", None)


def _drop_middle_frames(event: dict[str, Any]) -> None:
    for frames in _frames(event):
        if len(frames) > 10:
            frames[5:-5] = []
        for frame in frames:
            frame.pop("pre_context", None)
            frame.pop("post_context", None)


def _walk(value: Any, limit: int, items: int) -> Any:
    """``value`` with strings cut to ``limit`` characters and lists and dicts to ``items``."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 3] + "..."
    if isinstance(value, dict):
        return {k: _walk(v, limit, items) for k, v in itertools.islice(value.items(), items)}
    if isinstance(value, list):
        return [_walk(v, limit, items) for v in value[:items]]
    return value


def _trim_strings(event: dict[str, Any], limit: int = 256) -> None:
    for key in list(event):
        event[key] = _walk(event[key], limit, MAX_ITEMS)
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict):
        crumbs["values"] = []
    event.pop("extra", None)
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)


def _keep_essentials(event: dict[str, Any]) -> None:
    for key in list(event):
        if key not in _ESSENTIAL_KEYS:
            del event[key]
    for frames in _frames(event):
        frames[:-5] = []  # the innermost frames: where it happened
    for key in list(event):
        event[key] = _walk(event[key], 128, 10)


def rfc3339_now() -> str:
    """The current UTC time as RFC 3339, as envelope headers want it."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def encode_envelope(
    headers: dict[str, Any], items: list[tuple[str | dict[str, Any], bytes]]
) -> bytes:
    """An envelope with ``headers`` and ``(type or item headers, payload)`` items, each with an
    explicit length."""
    parts = [dumps(headers)]
    for item, payload in items:
        item_headers: dict[str, Any] = {"type": item} if isinstance(item, str) else dict(item)
        item_headers["length"] = len(payload)
        parts.append(dumps(item_headers))
        parts.append(payload)
    return b"\n".join(parts) + b"\n"


# Errors are few, and their frames and locals compress well: always compressed, at level 6.
# Transactions, logs and the like are many and mostly small: compressing each gives up the GIL
# (a hand-off the app's threads pay for while they wait to get it back), so below
# COMPRESS_FROM bytes they go as they are, as Sentry's Node SDK sends them; larger ones at
# level 1, which takes half the CPU of level 6 for bodies some 10% larger.
GZIP_LEVEL = 1
GZIP_LEVEL_ERRORS = 6
COMPRESS_FROM = 32 * 1024


def gzip_body(body: bytes, level: int = GZIP_LEVEL) -> bytes:
    """The body as a gzip stream with no timestamp, so equal bodies compress to equal bytes.

    zlib writes the gzip header and checksum in the same call that compresses: ``gzip.compress``
    takes the checksum in a second call, and each call gives up the GIL, a hand-off to the app's
    threads when they are waiting for it."""
    import zlib

    if sys.version_info >= (3, 11):
        return zlib.compress(body, level, wbits=31)
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(body) + compressor.flush()


def is_gzip(body: bytes) -> bool:
    """The body is a gzip stream (an envelope or JSON body starts with ``{``)."""
    return body[:2] == b"\x1f\x8b"
