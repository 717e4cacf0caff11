"""Attachments: files sent with an event as ``attachment`` items of its envelope.

An attachment is kept as a plain dict (the transport's queue marshals events): ``bytes`` or
``path`` (a file read when the event is encoded, on the transport's encoder thread),
``filename`` and ``content_type`` (None: guessed from the file name when encoded). Imported
when the app first adds one, or when an event carrying some is encoded.

Caps (options ``max_attachment_size`` per attachment, ``max_attachments_size`` for all of an
event's): an attachment over them is left out, the event still goes. Every attachment left
out is counted in client reports, category ``attachment``, quantity its size in bytes (1 when
the size is unknown).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .transport.base import HTTPTransport

__all__ = ["ATTACHMENT_TYPE", "drops_for", "envelope_items", "for_capture", "make_attachment"]

logger = logging.getLogger("raven.attachments")

ATTACHMENT_TYPE = "event.attachment"  # the item header ``attachment_type`` of a plain file
DEFAULT_FILENAME = "attachment"  # bytes given without a file name
DEFAULT_CONTENT_TYPE = "application/octet-stream"

Warn = Callable[..., None]


def make_attachment(
    data: Any, filename: Any = None, content_type: Any = None, warn: Warn | None = None
) -> dict[str, Any] | None:
    """The attachment record for ``data`` (bytes, or a path as ``str`` / ``os.PathLike``), or
    None (with one warning per kind of mistake) when the arguments cannot make one."""
    warn = warn or _warn
    if filename is not None and not isinstance(filename, str):
        warn(
            "attachment-filename",
            "attachment filename must be a str, got %s; ignored",
            _kind(filename),
        )
        return None
    if content_type is not None and not isinstance(content_type, str):
        warn(
            "attachment-content-type",
            "attachment content_type must be a str, got %s; ignored",
            _kind(content_type),
        )
        return None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return {
            "bytes": bytes(data),
            "filename": filename or DEFAULT_FILENAME,
            "content_type": content_type,
        }
    if isinstance(data, (str, os.PathLike)):
        try:
            path = os.fsdecode(os.fspath(data))
        except (TypeError, ValueError):
            path = ""
        if path:
            return {
                "path": path,
                "filename": filename or os.path.basename(path) or DEFAULT_FILENAME,
                "content_type": content_type,
            }
    warn(
        "attachment-data",
        "an attachment must be bytes or a file path (str or os.PathLike), got %s; ignored",
        _kind(data),
    )
    return None


def for_capture(values: Any, warn: Warn | None = None) -> list[dict[str, Any]]:
    """The records for a capture's ``attachments=``: a list whose items are bytes or a path,
    a ``(data, filename)`` or ``(data, filename, content_type)`` tuple, or a dict with ``data``
    (or ``bytes`` / ``path``), ``filename`` and ``content_type``. What cannot be one is left
    out, with a warning."""
    warn = warn or _warn
    if isinstance(values, (bytes, bytearray, memoryview, str, os.PathLike, Mapping)):
        values = [values]  # one attachment given on its own
    if not isinstance(values, Iterable):
        warn("attachments", "attachments= must be a list, got %s; ignored", _kind(values))
        return []
    records = []
    for value in values:
        record: dict[str, Any] | None
        if isinstance(value, tuple) and 1 <= len(value) <= 3:
            padded = (*value, None, None)
            record = make_attachment(padded[0], padded[1], padded[2], warn)
        elif isinstance(value, Mapping):
            data = next((value[k] for k in ("data", "bytes", "path") if k in value), None)
            record = make_attachment(
                data, value.get("filename"), value.get("content_type"), warn=warn
            )
        else:
            record = make_attachment(value, warn=warn)
        if record is not None:
            records.append(record)
    return records


def size_of(attachment: Mapping[str, Any]) -> int:
    """What dropping ``attachment`` counts: its size in bytes (at least 1; 1 when unknown)."""
    data = attachment.get("bytes")
    if data is not None:
        return max(1, len(data))
    try:
        return max(1, os.stat(attachment["path"]).st_size)
    except (OSError, KeyError, TypeError, ValueError):
        return 1


def drops_for(attachments: Iterable[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """The client-report drops of losing ``attachments`` (category ``attachment``, bytes)."""
    return [("attachment", size_of(a)) for a in attachments]


def envelope_items(
    attachments: Iterable[Mapping[str, Any]], transport: HTTPTransport
) -> tuple[list[tuple[dict[str, Any], bytes]], list[tuple[str, int]]]:
    """The ``attachment`` items of an event's envelope, with what losing them counts (for the
    request's drops). Paths are read here; what is rate limited, too large or unreadable is
    left out and counted."""
    reports = transport.reports
    if transport.rate_limits.is_limited("attachment"):
        for category, quantity in drops_for(attachments):
            reports.record("ratelimit_backoff", category, quantity)
        return [], []
    options = transport.options
    per_item = options.max_attachment_size
    # An envelope larger than half the send queue would cost the event its place in it.
    budget = min(options.max_attachments_size, max(1, options.queue_max_bytes // 2))
    items: list[tuple[dict[str, Any], bytes]] = []
    drops: list[tuple[str, int]] = []
    total = 0
    for attachment in attachments:
        payload, size = _read(attachment, per_item, reports)
        if size < 0:
            continue  # unreadable: counted
        if payload is None or size > per_item or total + size > budget:
            reports.record("too_large", "attachment", max(1, size))
            logger.warning(
                "attachment %r of %d bytes left out: over the %s cap of %d bytes",
                attachment.get("filename"),
                size,
                "max_attachment_size" if size > per_item else "max_attachments_size",
                per_item if size > per_item else budget,
            )
            continue
        total += size
        filename = str(attachment.get("filename") or DEFAULT_FILENAME)
        headers = {
            "type": "attachment",
            "filename": filename,
            "content_type": attachment.get("content_type") or _guess_type(filename),
            "attachment_type": ATTACHMENT_TYPE,
        }
        items.append((headers, payload))
        drops.append(("attachment", max(1, size)))
    return items, drops


def _read(attachment: Mapping[str, Any], limit: int, reports: Any) -> tuple[bytes | None, int]:
    """(payload, size in bytes). A path is read now, unless the file is over ``limit`` (payload
    None, nothing read); size -1: unreadable, counted."""
    data = attachment.get("bytes")
    if data is not None:
        return bytes(data), len(data)
    path = attachment.get("path")
    try:
        with open(str(path), "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                return None, size
            payload = fh.read(limit + 1)  # a file that grew meanwhile is still capped
            return payload, len(payload)
    except (OSError, TypeError, ValueError) as exc:
        reports.record("invalid", "attachment", 1)
        logger.warning(
            "attachment %r left out: cannot read %s (%s)", attachment.get("filename"), path, exc
        )
        return None, -1


def _guess_type(filename: str) -> str:
    if filename.lower().endswith(".log"):  # log files, the usual attachment: Sentry shows text
        return "text/plain"
    import mimetypes  # reads the system's type tables once: on the encoder thread, not at import

    return mimetypes.guess_type(filename)[0] or DEFAULT_CONTENT_TYPE


def _kind(value: Any) -> str:
    return type(value).__name__


def _warn(key: str, message: str, *args: Any) -> None:
    logger.warning(message, *args)
