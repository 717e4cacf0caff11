"""The Celery app the test workers run (``celery -A tests.celery.app worker``).

Configured from the environment by the ``worker`` fixture: the broker (a Redis database of its
own per worker), the receiver's DSN, and a file where Raven's own errors are written so that
the test can fail on anything Raven swallowed inside the worker.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import raven
from celery.exceptions import Ignore, Reject
from celery.utils.log import get_task_logger
from raven_celery import register_logger_signal, register_signal

from celery import Celery

app = Celery(
    "tests.celery.app",
    broker=os.environ["RAVEN_TEST_BROKER"],
    backend=os.environ["RAVEN_TEST_BROKER"],
)
app.conf.update(
    task_track_started=True,
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
    worker_log_format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
    worker_task_log_format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
)

# shutdown_timeout: how long a stopping worker or pool child waits for pending events; the
# tests keep the receiver unavailable for a few retries (backing off 0.5-1 s, 1-2 s, 2-4 s).
client = raven.Client(
    dsn=os.environ["RAVEN_TEST_DSN"], release="celery-tests@1", shutdown_timeout=10.0
)
# Twice on purpose: registering again must not report anything twice.
register_signal(client, ignore_expected=True)
register_signal(client, ignore_expected=True)
register_logger_signal(client)
register_logger_signal(client)

_errors = logging.FileHandler(os.environ["RAVEN_TEST_ERRORS"])
_errors.setLevel(logging.ERROR)
_errors.setFormatter(logging.Formatter("%(process)d %(name)s: %(message)s"))
logging.getLogger("raven").addHandler(_errors)

logger = get_task_logger(__name__)
plain_logger = logging.getLogger("tests.celery.tasks")


class Unpicklable(Exception):
    """An exception Celery cannot pickle: its argument is a lock."""

    def __init__(self, mark: str) -> None:
        import threading

        super().__init__(mark, threading.Lock())


@app.task
def fail(mark: str, **kwargs: Any) -> None:
    raise ValueError(f"boom {mark}")


@app.task(bind=True, max_retries=2, default_retry_delay=0)
def retry_then_fail(self: Any, mark: str) -> None:
    try:
        raise KeyError(f"attempt {self.request.retries} {mark}")
    except KeyError as exc:
        raise self.retry(exc=exc, countdown=0)


@app.task
def ignore(mark: str) -> None:
    raise Ignore()


@app.task
def reject(mark: str) -> None:
    raise Reject(LookupError(mark), requeue=False)


@app.task(throws=(LookupError,))
def expected(mark: str) -> None:
    raise LookupError(f"expected {mark}")


@app.task
def log_error(mark: str) -> str:
    logger.error("task logged %s", mark)
    return "ok"


@app.task
def log_exception(mark: str) -> str:
    try:
        {}[mark]
    except KeyError:
        plain_logger.exception("handled %s", mark)
    return "ok"


@app.task
def leave_traces(mark: str) -> str:
    """Put a tag and a breadcrumb in the context: the next task must not see them."""
    client.context.merge({"tags": {"leaked": mark}, "user": {"id": mark}})
    raven.breadcrumbs.record(message=f"crumb {mark}", category="test")
    return "ok"


@app.task
def traced(mark: str) -> str:
    """Records a span of its own in the task's transaction (with tracing on)."""
    with client.start_span(op="test.step", description=f"step {mark}"):
        pass
    return "ok"


@app.task
def spawn(mark: str) -> str:
    """Sends another task from inside this one; returns its id."""
    return str(traced.delay(f"{mark}-child").id)


@app.task
def fail_unpicklable(mark: str) -> None:
    raise Unpicklable(mark)


@app.task
def die(mark: str) -> None:
    """End the pool process abruptly: the worker reports a WorkerLostError."""
    os._exit(3)


@app.task(soft_time_limit=0.3)
def soft_limited(mark: str) -> None:
    time.sleep(30)


@app.task(time_limit=0.5)
def hard_limited(mark: str) -> None:
    time.sleep(30)
