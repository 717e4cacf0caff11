"""``AsyncSentryClient``: a ``raven.Client`` whose ``flush()`` can be awaited on the IOLoop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator
from typing import Any

import raven

__all__ = ["AsyncSentryClient"]


class AsyncSentryClient(raven.Client):
    """A ``raven.Client`` for Tornado apps: capturing never waits for the network, and
    ``await client.flush()`` waits for delivery without blocking the loop.

    Events go out through the core's background transport (the default for http(s) DSNs), so a
    slow or unreachable Sentry never stalls the IOLoop. Options are those of ``raven.Client``.
    """

    def capture(self, event_type: str, *args: Any, callback: Any = None, **kwargs: Any) -> Any:
        """``raven.Client.capture``; raven-python's ``callback=`` is called with the event's id
        once it is delivered (see :mod:`raven_tornado.compat`)."""
        event_id = super().capture(event_type, *args, **kwargs)
        if callback is not None:
            from .compat import call_when_delivered

            call_when_delivered(self, callback, event_id)
        return event_id

    def flush(self, timeout: float | None = None) -> Awaitable[bool]:  # type: ignore[override]
        """Wait until pending events are delivered; the result is True when nothing is left.

        On the event loop's thread, await it: ``await client.flush(5)`` waits in an executor
        thread (it runs as a task, so not awaiting it still flushes). Anywhere else it blocks
        like ``raven.Client.flush`` and returns an already finished result, truthy when
        everything was delivered, so code written for the plain client (``if client.flush():
        ...``, the core's exception hooks) keeps working.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return _Finished(super().flush(timeout))
        return loop.create_task(self._flush_in_executor(loop, timeout))

    async def _flush_in_executor(
        self, loop: asyncio.AbstractEventLoop, timeout: float | None
    ) -> bool:
        transport = self.transport
        if transport is None:
            return True
        delivered: bool = await loop.run_in_executor(None, transport.flush, timeout)
        return delivered


class _Finished:
    """The outcome of a flush that already ran: awaitable, and truthy when it delivered everything."""

    __slots__ = ("delivered",)

    def __init__(self, delivered: bool) -> None:
        self.delivered = delivered

    def __bool__(self) -> bool:
        return self.delivered

    def __await__(self) -> Generator[Any, None, bool]:
        return self.delivered
        yield  # makes this a generator: awaiting it finishes at once

    def __repr__(self) -> str:
        return f"<flushed: {self.delivered}>"
