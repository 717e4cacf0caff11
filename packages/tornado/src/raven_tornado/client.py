"""``AsyncSentryClient``: a ``raven.Client`` that sends on the Tornado IOLoop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator
from typing import Any

import raven

from .transport import TornadoTransport

__all__ = ["AsyncSentryClient"]


class AsyncSentryClient(raven.Client):
    """A client whose events go out through Tornado's ``AsyncHTTPClient`` on the running loop.

    Capturing never waits for the network; ``await client.flush()`` waits for delivery without
    blocking the loop. Options are those of ``raven.Client``; ``transport`` defaults to
    :class:`~raven_tornado.TornadoTransport`.
    """

    def __init__(self, dsn: str | None = None, raise_send_errors: bool | None = None,
                 transport: Any = None, **options: Any) -> None:
        super().__init__(dsn, raise_send_errors=raise_send_errors,
                         transport=TornadoTransport if transport is None else transport, **options)

    def flush(self, timeout: float | None = None) -> Awaitable[bool]:  # type: ignore[override]
        """Wait until pending events are delivered; the result is True when nothing is left.

        On the event loop's thread, await it: ``await client.flush(5)`` (it runs as a task, so
        not awaiting it still flushes in the background). Anywhere else it blocks like
        ``raven.Client.flush`` and returns an already finished result, truthy when everything
        was delivered, so code written for the plain client (``if client.flush(): ...``, the
        core's exception hooks) keeps working.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        transport = self.transport
        if loop is None:
            return _Finished(transport.flush(timeout) if transport is not None else True)
        return loop.create_task(self._flush_async(timeout))

    async def _flush_async(self, timeout: float | None) -> bool:
        transport = self.transport
        if transport is None:
            return True
        if isinstance(transport, TornadoTransport):
            return await transport.flush_async(timeout)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, transport.flush, timeout)


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
