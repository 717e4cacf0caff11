"""Request bodies as SDKs send them: decompressed within Sentry's size limits, envelopes split
into items, legacy store bodies (JSON, or base64 of zlib) read. Anything malformed raises
:class:`IngestError` with the status and message Sentry would answer."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Callable
from typing import Any

import brotli  # type: ignore[import-untyped]
from raven.receiver import parse_envelope

__all__ = [
    "MAX_ENVELOPE_BYTES",
    "MAX_ITEM_BYTES",
    "MAX_REQUEST_BYTES",
    "MAX_SESSIONS",
    "MAX_STORE_BYTES",
    "IngestError",
    "decompress",
    "json_payload",
    "read_envelope",
    "read_store_body",
]

MiB = 1024 * 1024
# Sentry's limits (Relay's defaults and the SDK docs): a request as sent, an envelope once
# decompressed, a store request's event, and per item type.
MAX_REQUEST_BYTES = 100 * MiB
MAX_ENVELOPE_BYTES = 200 * MiB
MAX_STORE_BYTES = 1 * MiB
MAX_SESSIONS = 100
_DEFAULT_ITEM_BYTES = 1 * MiB
MAX_ITEM_BYTES = {
    "event": 1 * MiB,
    "transaction": 1 * MiB,
    "span": 1 * MiB,
    "log": 1 * MiB,
    "trace_metric": 1 * MiB,
    "check_in": 100 * 1024,
    "client_report": 4 * 1024,
    "attachment": 100 * MiB,
    "profile": 50 * MiB,
    "replay_recording": 10 * MiB,
}


class IngestError(Exception):
    """A request Sentry would refuse: ``status`` and ``detail`` are the answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _too_large(what: str, limit: int) -> IngestError:
    return IngestError(413, f"{what} exceeded the size limit ({limit:,} bytes)")


def _inflate(decompressor: Any, body: bytes, limit: int, name: str) -> bytes:
    try:
        out = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise IngestError(400, f"invalid body: corrupt {name} data ({exc})") from None
    if len(out) > limit:
        raise _too_large("the decompressed body", limit)
    if not decompressor.eof:
        raise IngestError(400, f"invalid body: truncated {name} data")
    return bytes(out)


def _gzip(body: bytes, limit: int) -> bytes:
    return _inflate(zlib.decompressobj(16 + zlib.MAX_WBITS), body, limit, "gzip")


def _deflate(body: bytes, limit: int) -> bytes:
    # HTTP's deflate is zlib-wrapped; some clients send raw deflate streams.
    wbits = zlib.MAX_WBITS if body[:1] and (body[0] & 0x0F) == 8 else -zlib.MAX_WBITS
    return _inflate(zlib.decompressobj(wbits), body, limit, "deflate")


def _brotli(body: bytes, limit: int) -> bytes:
    decompressor = brotli.Decompressor()
    try:
        out = decompressor.process(body, output_buffer_limit=limit + 1)
    except brotli.error as exc:
        raise IngestError(400, f"invalid body: corrupt br data ({exc})") from None
    if len(out) > limit:
        raise _too_large("the decompressed body", limit)
    if not decompressor.is_finished():
        raise IngestError(400, "invalid body: truncated br data")
    return bytes(out)


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
}


def decompress(body: bytes, content_encoding: str, limit: int) -> bytes:
    """``body`` with its ``Content-Encoding`` undone (gzip, deflate, br, in the order applied)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise IngestError(400, f"unsupported content encoding {coding!r}")
        body = decoder(body, limit)
    if len(body) > limit:
        raise _too_large("the body", limit)
    return body


def _json_object(payload: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IngestError(400, f"invalid {what}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise IngestError(400, f"invalid {what}: not a JSON object")
    return value


def read_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """(envelope headers, [(item headers, payload)]), each item checked against its size limit."""
    header_line = body.partition(b"\n")[0]
    headers = _json_object(header_line, "envelope header")
    try:
        _, items = parse_envelope(body)
    except (ValueError, UnicodeDecodeError, AttributeError, TypeError) as exc:
        raise IngestError(400, f"invalid envelope: {exc}") from None
    sessions = 0
    for item_headers, payload in items:
        if not isinstance(item_headers, dict) or not isinstance(item_headers.get("type"), str):
            raise IngestError(400, "invalid envelope: an item has no type")
        length = item_headers.get("length")
        if length is not None and (not isinstance(length, int) or len(payload) != length):
            raise IngestError(400, "invalid envelope: an item is shorter than its length")
        kind = item_headers["type"]
        limit = MAX_ITEM_BYTES.get(kind, _DEFAULT_ITEM_BYTES)
        if len(payload) > limit:
            raise _too_large(f"the {kind} item", limit)
        sessions += kind == "session"
    if sessions > MAX_SESSIONS:
        raise IngestError(413, f"too many sessions in one envelope (at most {MAX_SESSIONS})")
    return headers, items


def json_payload(payload: bytes, what: str) -> dict[str, Any]:
    """An item's payload as a JSON object (IngestError when it is not one)."""
    return _json_object(payload, what)


def read_store_body(body: bytes) -> dict[str, Any]:
    """A legacy store request's event: JSON, or base64 of zlib-compressed JSON (old SDKs)."""
    if len(body) > MAX_STORE_BYTES:
        raise _too_large("the event", MAX_STORE_BYTES)
    stripped = body.lstrip()
    if stripped[:1] != b"{":
        try:
            compressed = base64.b64decode(stripped, validate=False)
        except (binascii.Error, ValueError):
            raise IngestError(400, "invalid body: neither JSON nor base64 of zlib") from None
        stripped = _inflate(zlib.decompressobj(), compressed, MAX_STORE_BYTES, "zlib")
    return _json_object(stripped, "event")
