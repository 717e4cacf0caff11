"""Celery tasks run by a real prefork worker in the end-to-end tests (broker in ``E2E_BROKER``)."""

from __future__ import annotations

import logging
import os

import raven
from raven_celery import register_logger_signal, register_signal

from celery import Celery

logger = logging.getLogger("celery_tasks")

app = Celery("celery_tasks", broker=os.environ["E2E_BROKER"], backend=os.environ["E2E_BROKER"])
app.conf.update(broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)

client = raven.Client(os.environ["E2E_DSN"], release="billing-worker@5.0", environment="e2e")
register_signal(client)
register_logger_signal(client, loglevel=logging.ERROR)


@app.task
def charge(order_id: int, amount: float) -> None:
    card = {"last4": "4242", "amount": amount}
    logger.warning("charging order %s", order_id)
    raise RuntimeError(f"card declined for order {order_id} ({card['last4']})")


@app.task
def double(value: int) -> int:
    return value * 2
