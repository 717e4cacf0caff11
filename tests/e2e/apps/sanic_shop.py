"""A small Sanic shop served by ``sanic tests.e2e.apps.sanic_shop:app`` (DSN in ``E2E_DSN``; traced
at the rate in ``E2E_TRACES``, if set)."""

from __future__ import annotations

import logging
import os

from raven_sanic import Sentry
from sanic.response import HTTPResponse, text

from sanic import Request, Sanic

logger = logging.getLogger("sanic_shop")

app = Sanic("sanic_shop")
sentry = Sentry(
    app,
    dsn=os.environ["E2E_DSN"],
    release="sanic-shop@4.2",
    environment="e2e",
    traces_sample_rate=float(os.environ["E2E_TRACES"]) if "E2E_TRACES" in os.environ else None,
)


@app.on_request
async def identify(request: Request) -> None:
    user = request.headers.get("X-User")
    if user:
        sentry.client.user_context({"id": user})
    sentry.client.tags_context({"shop.region": "eu-west"})


@app.get("/orders/<order_id:int>")
async def order(request: Request, order_id: int) -> HTTPResponse:
    parcel = {"order": order_id, "carrier": "acme"}
    logger.warning("tracking order %s", order_id)
    raise LookupError(f"order {order_id} lost by {parcel['carrier']}")


@app.get("/ok")
async def ok(request: Request) -> HTTPResponse:
    return text("ok")
