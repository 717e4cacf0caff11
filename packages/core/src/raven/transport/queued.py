"""What the background sender's queue holds: an event compacted on the calling thread, and the
way back to the event on the encoder thread."""

from __future__ import annotations

import marshal
from typing import Any

__all__ = ["UNCOMPACT_EVENT_BYTES", "Queued", "built", "compact", "expand", "queued_size"]

# What an event that marshal cannot compact is assumed to hold, for the byte bound.
UNCOMPACT_EVENT_BYTES = 64 * 1024

# A queued event: compacted (marshal bytes, or the dict marshal could not carry), or that with
# the event's attachments beside it (see compact).
Queued = bytes | dict[str, Any] | tuple[bytes | dict[str, Any], list[dict[str, Any]]]


def compact(event: dict[str, Any]) -> Queued:
    """The event as marshal bytes: a few microseconds, a fraction of the memory, and nothing for
    the garbage collector to walk while a burst waits in the queue. JSON and gzip stay on the
    encoder thread. Events marshal cannot carry (objects a before_send added) stay as they are.
    Attachments (``raven.attachments``) are kept beside it by reference: marshalling copies
    their bytes, a millisecond per MiB on the calling thread.
    """
    attachments = event.pop("_attachments", None)
    try:
        item: bytes | dict[str, Any] = marshal.dumps(event)
    except ValueError:
        item = event
    if attachments:
        event["_attachments"] = attachments  # the caller may still need them (drops, overflow)
        return (item, attachments)
    return item


def expand(item: Queued) -> dict[str, Any]:
    """The event a queued item holds, as a copy of its own."""
    if isinstance(item, tuple):
        event = expand(item[0])
        event["_attachments"] = item[1]
        return event
    if isinstance(item, bytes):
        return _loads(item)
    item = built(item)
    # A transaction as the tracer built it shares nested dicts with the client (its fixed
    # contexts) and with its spans: the processors that run next get a copy of their own, as
    # they do of a compacted event, made here on the encoder rather than on the app's thread.
    # Its profile (samples, not event data) goes beside the copy: marshal cannot carry it.
    profile = item.pop("_profile", None)
    try:
        event = _loads(marshal.dumps(item))
    except ValueError:
        event = item  # objects marshal cannot carry (what a before_send added)
    if profile is not None:
        event["_profile"] = profile
    return event


def built(event: dict[str, Any]) -> dict[str, Any]:
    """``event``, or the transaction's event it stands for, built (``_build``: a
    :class:`raven.tracing.event.TransactionEvent`; see ``ThreadedTransport.builds_transactions``)."""
    build = event.get("_build")
    return event if build is None else build()


def _loads(data: bytes) -> dict[str, Any]:
    event: dict[str, Any] = marshal.loads(data)
    return event


def queued_size(item: Queued) -> int:
    """What a queued item counts against ``queue_max_bytes`` (an attachment's file: nothing
    until it is read)."""
    if isinstance(item, tuple):
        return queued_size(item[0]) + sum(len(a.get("bytes") or b"") for a in item[1])
    return len(item) if isinstance(item, bytes) else UNCOMPACT_EVENT_BYTES
