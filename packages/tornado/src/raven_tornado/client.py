"""``AsyncSentryClient``: a ``raven.Client`` that sends on the Tornado IOLoop."""

from __future__ import annotations

import asyncio
from typing import Any

import raven

from .transport import TornadoTransport

__all__ = ["AsyncSentryClient"]


class AsyncSentryClient(raven.Client):
    """A client whose events go out through Tornado's ``AsyncHTTPClient`` on the running loop.

    Capturing never waits for the network; :meth:`flush` is awaitable. Options are those of
    ``raven.Client``; ``transport`` defaults to :class:`~raven_tornado.TornadoTransport`.
    """

    def __init__(self, dsn: str | None = None, raise_send_errors: bool | None = None,
                 transport: Any = None, **options: Any) -> None:
        super().__init__(dsn, raise_send_errors=raise_send_errors,
                         transport=TornadoTransport if transport is None else transport, **options)

    async def flush(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        """Wait, without blocking the loop, until pending events are delivered.

        True when nothing is left pending; False when ``timeout`` seconds passed first.
        """
        transport = self.transport
        if transport is None:
            return True
        if isinstance(transport, TornadoTransport):
            return await transport.flush_async(timeout)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, transport.flush, timeout)
