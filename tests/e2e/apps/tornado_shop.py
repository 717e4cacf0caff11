"""A small Tornado shop: ``asyncio.run(main(port))`` serves it (DSN in ``E2E_DSN``; traced at the
rate in ``E2E_TRACES``, if set)."""

from __future__ import annotations

import asyncio
import logging
import os

import tornado.web
from raven_tornado import AsyncSentryClient, SentryMixin

logger = logging.getLogger("tornado_shop")


class OrderHandler(SentryMixin, tornado.web.RequestHandler):
    def get_current_user(self) -> dict[str, str] | None:
        name = self.request.headers.get("X-User")
        return {"id": name, "username": name} if name else None

    async def get(self, order_id: str) -> None:
        await asyncio.sleep(0)  # fail after a real await, on the IOLoop
        stock = {"order": int(order_id), "warehouse": "north"}
        logger.warning("checking stock for order %s", order_id)
        raise LookupError(f"order {order_id} out of stock in {stock['warehouse']}")


class OkHandler(SentryMixin, tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("ok")


async def main(port: int) -> None:
    app = tornado.web.Application([(r"/orders/(\d+)", OrderHandler), (r"/ok", OkHandler)])
    app.sentry_client = AsyncSentryClient(
        os.environ["E2E_DSN"],
        release="tornado-shop@1.9",  # type: ignore[attr-defined]
        environment="e2e",
        traces_sample_rate=float(os.environ["E2E_TRACES"]) if "E2E_TRACES" in os.environ else None,
    )
    app.listen(port, "127.0.0.1")
    await asyncio.Event().wait()
