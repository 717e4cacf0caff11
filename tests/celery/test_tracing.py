"""Tracing across Celery: the sender (this process, under a transaction of its own; a Flask view in
test_flask_to_celery.py) puts the trace into the message and records a ``queue.publish`` span; a real worker (prefork on a real
Redis, with ``SENTRY_TRACES_SAMPLE_RATE=1.0``) runs the task as a ``queue.task.celery``
transaction continuing that trace. Everything is asserted on what reached the receiver.
"""

from __future__ import annotations

import raven

from tests.relay import validate_event

from .conftest import Worker, new_mark, pools, spans_of, task_of

TASK = "tests.celery.app."
TRACE = "771a43a4192642f0b136d5159a501700"
PARENT = "b0e6f15b45c36b12"


@pools("prefork-traced", "threads-traced")
def test_failing_task_is_an_internal_error_and_its_error_carries_the_trace(
    worker: Worker, sender: raven.Client
) -> None:
    """A failing task's transaction has status internal_error; its error event belongs to it."""
    mark = new_mark()
    with sender.start_transaction(name="checkout", op="test") as outer:
        result = worker.send("fail", mark, expect=1)
    worker.wait_state(result, "FAILURE")
    (event,) = worker.wait_events(mark, 1)
    task = worker.wait_transaction(result.id)

    trace = task["contexts"]["trace"]
    assert trace["status"] == "internal_error"
    assert trace["trace_id"] == outer.trace_id
    (process,) = spans_of(task, "queue.process")
    assert process["status"] == "internal_error"
    assert event["contexts"]["trace"]["trace_id"] == outer.trace_id
    assert event["contexts"]["trace"]["span_id"] == process["span_id"]
    assert event["contexts"]["trace"]["parent_span_id"] == trace["span_id"]


@pools("prefork-traced")
def test_retries_are_aborted_transactions_of_one_trace(
    worker: Worker, sender: raven.Client
) -> None:
    """Each attempt of a retried task is a transaction of the same trace: the retries are
    ``aborted``, the last failure ``internal_error``, each attempt the child of the one before."""
    mark = new_mark()
    with sender.start_transaction(name="retrying", op="test") as outer:
        result = worker.send("retry_then_fail", mark, expect=1)
    worker.wait_events(mark, 1)
    # The same task id for every attempt: wait for three transactions carrying it.
    worker.receiver.wait_until(
        lambda r: sum(1 for t in list(r.transactions) if task_of(t) == result.id) >= 3, 20
    )
    attempts = [t for t in list(worker.receiver.transactions) if task_of(t) == result.id]
    for attempt in attempts:
        validate_event(attempt)
    attempts.sort(
        key=lambda t: spans_of(t, "queue.process")[0]["data"]["messaging.message.retry.count"]
    )
    statuses = [t["contexts"]["trace"]["status"] for t in attempts]
    assert statuses == ["aborted", "aborted", "internal_error"]
    assert {t["contexts"]["trace"]["trace_id"] for t in attempts} == {outer.trace_id}
    for before, after in zip(attempts[:-1], attempts[1:], strict=True):
        (publish,) = spans_of(before, "queue.publish")  # the retry, sent from inside the task
        assert after["contexts"]["trace"]["parent_span_id"] == publish["span_id"]


@pools("prefork-traced")
def test_a_task_sending_a_task_carries_the_trace_on(worker: Worker, sender: raven.Client) -> None:
    """A task sent from inside a task continues the same trace, under the sender task's publish span."""
    mark = new_mark()
    with sender.start_transaction(name="fan-out", op="test") as outer:
        result = worker.send("spawn", mark, expect=0)
    child_id = result.get(timeout=20)
    parent = worker.wait_transaction(result.id)
    child = worker.wait_transaction(child_id)
    (publish,) = spans_of(parent, "queue.publish")
    (process,) = spans_of(parent, "queue.process")
    assert publish["parent_span_id"] == process["span_id"]
    assert child["contexts"]["trace"]["trace_id"] == outer.trace_id
    assert child["contexts"]["trace"]["parent_span_id"] == publish["span_id"]


@pools("prefork-traced")
def test_the_senders_sampling_decision_is_followed(worker: Worker, sender: raven.Client) -> None:
    """An incoming trace that was not sampled sends no task transaction, but the task's error is
    still linked to that trace; a sampled one is continued."""
    dropped, kept = new_mark(), new_mark()
    with sender.context:
        sender.continue_trace({"sentry-trace": f"{TRACE}-{PARENT}-0"})
        with sender.start_transaction(name="unsampled", op="test"):
            first = worker.send("fail", dropped, expect=1)
    with sender.context:
        sender.continue_trace({"sentry-trace": f"{TRACE}-{PARENT}-1"})
        with sender.start_transaction(name="sampled", op="test"):
            second = worker.send("fail", kept, expect=1)
    worker.untraced.add(first.id)  # checked when the worker has stopped and flushed everything
    (event,) = worker.wait_events(dropped, 1)
    assert event["contexts"]["trace"]["trace_id"] == TRACE
    task = worker.wait_transaction(second.id)
    assert task["contexts"]["trace"]["trace_id"] == TRACE
    (event,) = worker.wait_events(kept, 1)
    assert event["contexts"]["trace"]["trace_id"] == TRACE
    sender.flush(10)
    assert [
        t["transaction"]
        for t in worker.receiver.transactions
        if t["transaction"] in ("sampled", "unsampled")
    ] == ["sampled"]
