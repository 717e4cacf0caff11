"""A small Flask shop served by gunicorn in the end-to-end tests (DSN from ``E2E_DSN``)."""

from __future__ import annotations

import logging
import os

from raven_flask import Sentry

from flask import Flask, request

logger = logging.getLogger("flask_shop")

app = Flask("flask_shop")
app.config["SENTRY_DSN"] = os.environ["E2E_DSN"]
app.config["SENTRY_CONFIG"] = {"release": "flask-shop@2.0.1", "environment": "e2e"}
sentry = Sentry(app)


@app.before_request
def identify() -> None:
    user = request.headers.get("X-User")
    if user:
        sentry.user_context({"id": user})
    sentry.client.tags_context({"shop.region": "eu-west"})


@app.route("/orders/<int:order_id>", methods=["GET", "POST"])
def order(order_id: int) -> str:
    basket = {"order": order_id, "skus": ["A-1", "B-2"]}
    logger.warning("loading order %s", order_id)
    raise LookupError(f"order {order_id} not found in warehouse {len(basket['skus'])}")


@app.route("/ok")
def ok() -> str:
    return "ok"
