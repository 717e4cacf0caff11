"""The Celery app of the beat tests: ``celery -A tests.celery.beat_app beat`` sends its schedule,
``celery -A tests.celery.beat_app worker`` runs it.

Configured from the environment like ``tests.celery.app``: the broker, the receiver's DSN, and the
file where Raven's own errors are written. The crontab entries carry a ``last_run_at`` long past,
so beat sends each of them once, at start, and not again for hours: the test sees exactly one
run of each without waiting for a minute boundary.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

import raven
from celery.schedules import crontab
from raven_celery import register_signal

from celery import Celery

app = Celery(
    "tests.celery.beat_app",
    broker=os.environ["RAVEN_TEST_BROKER"],
    backend=os.environ["RAVEN_TEST_BROKER"],
)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
app.conf.update(
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
    timezone="Europe/Paris",
    beat_schedule={
        "Every second tick": {"task": "tests.celery.beat_app.tick", "schedule": 1.0},
        "two-hourly report": {
            "task": "tests.celery.beat_app.report",
            "schedule": crontab(minute=0, hour="*/2", day_of_week="mon-fri"),
            "last_run_at": LONG_AGO,
        },
        "flaky": {
            "task": "tests.celery.beat_app.flaky",
            "schedule": crontab(minute=30, hour=4),
            "last_run_at": LONG_AGO,
        },
        "noisy tick": {"task": "tests.celery.beat_app.noisy", "schedule": 1.0},
    },
)

client = raven.Client(
    dsn=os.environ["RAVEN_TEST_DSN"],
    release="beat-tests@1",
    environment="ci",
    shutdown_timeout=10.0,
)
register_signal(client, monitor_beat_tasks=app, exclude_beat_tasks=[r"^noisy"])
register_signal(client, monitor_beat_tasks=app, exclude_beat_tasks=[r"^noisy"])  # idempotent

_errors = logging.FileHandler(os.environ["RAVEN_TEST_ERRORS"])
_errors.setLevel(logging.ERROR)
_errors.setFormatter(logging.Formatter("%(process)d %(name)s: %(message)s"))
logging.getLogger("raven").addHandler(_errors)


@app.task
def tick() -> str:
    return "tick"


@app.task
def report() -> str:
    return "report"


@app.task(bind=True, max_retries=3, default_retry_delay=0)
def flaky(self: Any) -> str:
    """Fails on its first run, succeeds on its retry."""
    if self.request.retries == 0:
        try:
            raise ConnectionError("first attempt fails")
        except ConnectionError as exc:
            raise self.retry(exc=exc, countdown=0)
    return "recovered"


@app.task
def noisy() -> None:
    """Excluded from monitoring; leaves a message so that the test knows it ran."""
    client.captureMessage("noisy ran")
