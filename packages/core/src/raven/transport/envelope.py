"""Encoding events for the wire: JSON, size limits (shrinking), envelopes, gzip."""

from __future__ import annotations

import time
from typing import Any

from ..serializer import safe_repr

__all__ = ["category_of", "dumps", "encode_envelope", "fit_event", "gzip_body"]


# json, gzip and copy are imported where used: encoding happens on the sender thread, and
# importing them up front would slow down `import raven` for every process.


def dumps(value: Any) -> bytes:
    """Compact JSON bytes; values JSON cannot take become their repr."""
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=safe_repr).encode(
        "utf-8"
    )


def category_of(event: dict[str, Any]) -> str:
    """The rate-limit / client-report category of an event."""
    event_type = event.get("type")
    if event_type == "transaction":
        return "transaction"
    return "error" if "exception" in event else "default"


def fit_event(event: dict[str, Any], max_bytes: int) -> bytes | None:
    """The event as JSON no larger than ``max_bytes``, shrinking it step by step, or None.

    Steps, least valuable data first: frame variables, breadcrumbs (oldest first), middle frames,
    then long strings everywhere.
    """
    body = dumps(event)
    if len(body) <= max_bytes:
        return body
    import copy

    event = copy.deepcopy(event)
    for step in (_drop_vars, _trim_breadcrumbs, _drop_middle_frames, _trim_strings):
        step(event)
        body = dumps(event)
        if len(body) <= max_bytes:
            return body
    return None


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
        crumbs["values"] = crumbs["values"][-10:]
    event.pop("modules", None)


def _drop_middle_frames(event: dict[str, Any]) -> None:
    for frames in _frames(event):
        if len(frames) > 10:
            frames[5:-5] = []
        for frame in frames:
            frame.pop("pre_context", None)
            frame.pop("post_context", None)


def _trim_strings(event: dict[str, Any], limit: int = 256) -> None:
    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return value if len(value) <= limit else value[: limit - 3] + "..."
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value[:50]]
        return value

    for key in list(event):
        event[key] = walk(event[key])
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict):
        crumbs["values"] = []
    event.pop("extra", None)
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)


def rfc3339_now() -> str:
    """The current UTC time as RFC 3339, as envelope headers want it."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def encode_envelope(headers: dict[str, Any], items: list[tuple[str, bytes]]) -> bytes:
    """An envelope with ``headers`` and ``(type, payload)`` items, each with an explicit length."""
    parts = [dumps(headers)]
    for item_type, payload in items:
        parts.append(dumps({"type": item_type, "length": len(payload)}))
        parts.append(payload)
    return b"\n".join(parts) + b"\n"


def gzip_body(body: bytes) -> bytes:
    """The body gzip-compressed (with no timestamp, so equal bodies compress to equal bytes)."""
    import gzip

    return gzip.compress(body, compresslevel=6, mtime=0)
