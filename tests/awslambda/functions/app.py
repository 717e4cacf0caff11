"""Lambda handlers the tests run under AWS's runtime client (``python -m awslambdaric app.<name>``).

This folder is the function's ``LAMBDA_TASK_ROOT``; the module is imported by the runtime, in a
subprocess, never by pytest.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

import raven_lambda
from raven import breadcrumbs

INTERNAL_ERROR_MARKER = "RAVEN-INTERNAL-ERROR"


class _ReportSwallowed(logging.Handler):
    """Raven's swallowed errors go to stderr with a marker the test fixture fails on."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"{INTERNAL_ERROR_MARKER} {record.name}: {record.getMessage()}\n")


logging.getLogger("raven").addHandler(_ReportSwallowed(logging.ERROR))

# Built at init from SENTRY_DSN, like a user who configures the client themselves.
client = raven_lambda.LambdaClient(release="app@1.0.0")


@raven_lambda.handler
def returning(event: Any, context: Any) -> Any:
    """Succeeds: bare decorator, the default client."""
    return {"echo": event, "request_id": context.aws_request_id}


@raven_lambda.handler(client=client)
def raising(event: Any, context: Any) -> Any:
    """Fails; ``event["remember"]`` first adds a tag, extra, user and a breadcrumb to the context."""
    if isinstance(event, dict) and event.get("remember"):
        client.tags_context({"remembered": event["remember"]})
        client.extra_context({"remembered": event["remember"]})
        client.user_context({"id": event["remember"]})
        breadcrumbs.record(message=f"remember {event['remember']}", category="test")
    raise ValueError("the order could not be placed")


def wait_for_deadline(context: Any) -> None:
    while context.get_remaining_time_in_millis() > 0:
        time.sleep(0.02)


@raven_lambda.handler(
    timeout_warning=True, timeout_margin=float(os.environ.get("TIMEOUT_MARGIN", "1.5"))
)
def slow(event: Any, context: Any) -> Any:
    """Runs past its deadline (the loopback runtime lets it finish, where Lambda would kill it)."""
    wait_for_deadline(context)
    return "late"


@raven_lambda.handler(client=client)
def respond(event: Any, context: Any) -> Any:
    """An HTTP handler: a span of its own, then the status asked for (``?status=``), or raises
    with ``?fail=1``."""
    query = (event.get("queryStringParameters") if isinstance(event, dict) else None) or {}
    with client.start_span(op="test.step", description="load the order"):
        pass
    if query.get("fail"):
        raise LookupError("no such order")
    return {"statusCode": int(query.get("status", 200)), "body": "{}"}


@raven_lambda.handler(client=client, timeout_warning=True, timeout_margin=0.6)
def slow_traced(event: Any, context: Any) -> Any:
    """Runs past its deadline after recording a span."""
    with client.start_span(op="test.step", description="before waiting"):
        pass
    wait_for_deadline(context)
    return "late"
