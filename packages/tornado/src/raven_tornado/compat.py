"""raven-python 6.10's Tornado API on Raven: ``capture(..., callback=...)``.

raven-python's ``AsyncSentryClient`` sent each event with Tornado's HTTP client and called the
capture's ``callback`` with the answer (``yield gen.Task(client.captureMessage, "...")``).
Raven sends in the background; the callback is called with the event's id once the client has
delivered what it holds (or gave up), on the IOLoop when the capture ran on one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from raven.guard import capture_internal_errors

__all__ = ["call_when_delivered"]


def call_when_delivered(client: Any, callback: Callable[..., Any], event_id: str | None) -> None:
    """Call ``callback(event_id)`` once ``client`` has flushed; never raises into the app."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        with capture_internal_errors("tornado", "calling a capture's callback"):
            client.flush()
            callback(event_id)
        return

    async def wait_then_call() -> None:
        with capture_internal_errors("tornado", "calling a capture's callback"):
            await client.flush()
            callback(event_id)

    task = loop.create_task(wait_then_call())
    _PENDING.add(task)  # held until done: the loop keeps only a weak reference to tasks
    task.add_done_callback(_PENDING.discard)


_PENDING: set[asyncio.Task[None]] = set()
