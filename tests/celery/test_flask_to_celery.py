"""The issue's cross-service case: a Celery task sent from a real Flask view (raven_flask, tracing
on, served by werkzeug on loopback) continues the view's trace in a real prefork worker on a real
Redis: caller -> view -> queue.publish span -> task transaction, one trace."""

from __future__ import annotations

from typing import Any

import raven
import requests
from raven_flask import Sentry

import flask
from tests.flask.apps import serve
from tests.relay import validate_event

from .conftest import Worker, new_mark, pools, spans_of

TASK = "tests.celery.app."
TRACE = "771a43a4192642f0b136d5159a501700"
CALLER = "b0e6f15b45c36b12"  # the span of whoever called the web app


@pools("prefork-traced")
def test_task_sent_from_a_flask_view_continues_the_views_trace(
    worker: Worker, sender: raven.Client
) -> None:
    """A task sent from a Flask view runs in a prefork child as a transaction of the view's trace,
    its parent being the view's queue.publish span."""
    app = flask.Flask("web")
    Sentry(app, client=sender)
    mark = new_mark()

    @app.route("/orders/<int:order>/ship", methods=["POST"])
    def ship(order: int) -> dict[str, str]:
        result = worker.send("traced", mark, expect=0)
        return {"task": str(result.id)}

    with serve(app) as url:
        response = requests.post(
            f"{url}/orders/7/ship",
            headers={"sentry-trace": f"{TRACE}-{CALLER}-1"},
            timeout=10,
        )
    assert response.status_code == 200
    task_id = response.json()["task"]

    def views() -> list[dict[str, Any]]:
        return [
            t for t in worker.receiver.transactions if t["contexts"]["trace"]["op"] == "http.server"
        ]

    # The view's transaction ends when the server closes the response, just after the client
    # has read it.
    worker.receiver.wait_until(lambda r: views(), 10)
    (view,) = views()
    validate_event(view)
    assert view["transaction"] == "/orders/<int:order>/ship"
    assert view["contexts"]["trace"]["trace_id"] == TRACE  # the browser's (caller's) trace
    assert view["contexts"]["trace"]["parent_span_id"] == CALLER
    assert view["contexts"]["trace"]["op"] == "http.server"
    (publish,) = spans_of(view, "queue.publish")
    assert publish["description"] == TASK + "traced"
    assert publish["origin"] == "auto.queue.celery"
    assert publish["parent_span_id"] == view["contexts"]["trace"]["span_id"]
    assert publish["data"]["messaging.message.id"] == task_id
    assert publish["data"]["messaging.destination.name"] == "celery"

    task = worker.wait_transaction(task_id)
    trace = task["contexts"]["trace"]
    assert trace["trace_id"] == view["contexts"]["trace"]["trace_id"]
    assert trace["parent_span_id"] == publish["span_id"]
    assert (trace["op"], trace["status"], trace["origin"]) == (
        "queue.task.celery",
        "ok",
        "auto.queue.celery",
    )
    assert task["transaction"] == TASK + "traced"
    assert task["transaction_info"] == {"source": "task"}
    assert task["release"] == "celery-tests@1"  # the worker's own client
    (process,) = spans_of(task, "queue.process")
    assert process["parent_span_id"] == trace["span_id"]
    assert process["description"] == TASK + "traced"
    assert process["data"]["messaging.destination.name"] == "celery"
    assert process["data"]["messaging.system"] == "redis"
    assert process["data"]["messaging.message.retry.count"] == 0
    assert 0 <= process["data"]["messaging.message.receive.latency"] < 20_000
    (step,) = spans_of(task, "test.step")
    assert step["parent_span_id"] == process["span_id"]
    assert step["description"] == f"step {mark}"
    assert task["tags"]["celery_task_name"] == TASK + "traced"
