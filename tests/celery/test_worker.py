"""A real ``celery worker`` (prefork, prefork with recycled children, threads, solo) against a real
Redis, reporting to the loopback receiver. The worker's app (tests/celery/app.py) registers the
signal and the logging hooks twice each; every event must arrive exactly once.

The tests of this module share one worker per pool; the last one stops it.
"""

from __future__ import annotations

from typing import Any

import raven
from raven_celery import register_signal

from .conftest import ALL_POOLS, REUSING_POOLS, Worker, new_mark, pools

TASK = "tests.celery.app."
TRACE = "771a43a4192642f0b136d5159a501700"


def _exception(event: dict[str, Any]) -> dict[str, Any]:
    return event["exception"]["values"][-1]


@pools(*ALL_POOLS)
def test_failing_task_is_reported_with_the_task_details(worker: Worker) -> None:
    """A task that raises gives one event: its exception, name, id, arguments, retries and routing."""
    mark = new_mark()
    result = worker.send("fail", mark, expect=1, password="hunter2", note="n" * 3000)
    worker.wait_state(result, "FAILURE")
    (event,) = worker.wait_events(mark, 1)

    exc = _exception(event)
    assert (exc["type"], exc["value"]) == ("ValueError", f"boom {mark}")
    assert exc["mechanism"]["type"] == "celery" and exc["mechanism"]["handled"] is False
    assert exc["stacktrace"]["frames"][-1]["function"] == "fail"
    assert event["level"] == "error"
    assert event["transaction"] == TASK + "fail"
    assert event["release"] == "celery-tests@1"
    assert event["tags"]["celery_task_name"] == TASK + "fail"
    assert event["tags"]["celery_routing_key"] == "celery"
    assert event["tags"]["celery_hostname"] == worker.nodename
    job = event["extra"]["celery-job"]
    assert job["task_name"] == TASK + "fail"
    assert job["task_id"] == result.id
    assert job["args"] == [mark]
    assert job["kwargs"]["password"] == "********"  # scrubbed by the core's processors
    assert (
        job["kwargs"]["note"].startswith("nnn") and len(job["kwargs"]["note"]) < 3000
    )  # size-limited
    assert job["retries"] == 0
    assert job["hostname"] == worker.nodename
    assert job["routing_key"] == "celery"
    assert job["exchange"] in ("", "celery")


@pools(*REUSING_POOLS)
def test_retried_task_is_reported_once_when_it_finally_fails(worker: Worker) -> None:
    """Retries are not errors; the last attempt's exception is reported once, with the retry count."""
    mark = new_mark()
    worker.send("retry_then_fail", mark, expect=1)
    # Not the result's state: with countdown=0 on a concurrent pool, Celery may store the
    # first attempt's RETRY after the last attempt's FAILURE.
    (event,) = worker.wait_events(mark, 1)
    exc = _exception(event)
    assert exc["type"] == "KeyError"
    assert f"attempt 2 {mark}" in exc["value"]
    assert event["extra"]["celery-job"]["retries"] == 2
    assert event["transaction"] == TASK + "retry_then_fail"


@pools(*REUSING_POOLS)
def test_ignore_reject_and_declared_exceptions_are_not_reported(worker: Worker) -> None:
    """Ignore, Reject and an exception in the task's ``throws`` (ignore_expected=True) send nothing."""
    marks = {task: new_mark() for task in ("ignore", "reject", "expected")}
    ignored = worker.send("ignore", marks["ignore"], expect=0)
    rejected = worker.send("reject", marks["reject"], expect=0)
    expected = worker.send("expected", marks["expected"], expect=0)
    # A task raising Ignore leaves no result: it stays STARTED (task_track_started).
    worker.wait_state(ignored, "STARTED")
    worker.wait_state(rejected, "FAILURE", "STARTED")  # Celery < 5.7 leaves a rejected task STARTED
    worker.wait_state(expected, "FAILURE")
    # A failure sent after them arrives; theirs are checked again when the worker stops.
    mark = new_mark()
    worker.wait_state(worker.send("fail", mark, expect=1), "FAILURE")
    worker.wait_events(mark, 1)
    assert all(worker.events_for(m) == [] for m in marks.values())


@pools(*ALL_POOLS)
def test_error_logs_from_task_code_are_reported_and_failures_only_once(worker: Worker) -> None:
    """``logger.error`` and ``logger.exception`` in a task become events carrying the task's context."""
    logged, handled = new_mark(), new_mark()
    first = worker.send("log_error", logged, expect=1)
    second = worker.send("log_exception", handled, expect=1)
    assert first.get(timeout=20) == "ok" and second.get(timeout=20) == "ok"

    (event,) = worker.wait_events(logged, 1)
    assert event["logentry"]["formatted"] == f"task logged {logged}"
    assert event["level"] == "error"
    assert event["logger"] == TASK.rstrip(".")
    assert event["transaction"] == TASK + "log_error"
    assert event["tags"]["celery_task_name"] == TASK + "log_error"
    assert event["extra"]["celery-job"]["task_id"] == first.id

    (event,) = worker.wait_events(handled, 1)
    assert _exception(event)["type"] == "KeyError"
    assert event["logger"] == "tests.celery.tasks"
    assert event["transaction"] == TASK + "log_exception"


@pools(*REUSING_POOLS)
def test_unpicklable_exception_is_reported_as_raised(worker: Worker) -> None:
    """An exception Celery cannot pickle is reported as itself, not as Celery's stand-in."""
    mark = new_mark()
    worker.wait_state(worker.send("fail_unpicklable", mark, expect=1), "FAILURE")
    (event,) = worker.wait_events(mark, 1)
    assert _exception(event)["type"] == "Unpicklable"
    assert _exception(event)["stacktrace"]["frames"][-1]["function"] == "fail_unpicklable"


@pools(*REUSING_POOLS)
def test_nothing_leaks_from_one_task_into_the_next(worker: Worker) -> None:
    """Tags, user and breadcrumbs a task leaves in the context are gone for the next task."""
    failures = []
    for _ in range(3):
        assert worker.send("leave_traces", new_mark(), expect=0).get(timeout=20) == "ok"
        mark = new_mark()
        worker.wait_state(worker.send("fail", mark, expect=1), "FAILURE")
        failures.append(mark)
    for mark in failures:
        (event,) = worker.wait_events(mark, 1)
        assert "leaked" not in event["tags"]
        assert "user" not in event
        crumbs = (event.get("breadcrumbs") or {}).get("values", [])
        assert not [c for c in crumbs if str(c.get("message", "")).startswith("crumb ")]
        assert event["extra"]["celery-job"]["args"] == [mark]


@pools("prefork")
def test_lost_pool_process_is_reported_once(worker: Worker) -> None:
    """A pool child that dies mid-task is reported once, from the worker's main process."""
    mark = new_mark()
    worker.wait_state(worker.send("die", mark, expect=1), "FAILURE")
    (event,) = worker.wait_events(mark, 1)
    assert _exception(event)["type"] == "WorkerLostError"
    assert event["extra"]["celery-job"]["task_name"] == TASK + "die"
    assert event["transaction"] == TASK + "die"


@pools("prefork")
def test_time_limits_are_reported_once(worker: Worker) -> None:
    """A soft limit is reported from the child, a hard limit from the main process, each once."""
    soft, hard = new_mark(), new_mark()
    worker.wait_state(worker.send("soft_limited", soft, expect=1), "FAILURE")
    worker.wait_state(worker.send("hard_limited", hard, expect=1), "FAILURE")
    (event,) = worker.wait_events(soft, 1)
    assert _exception(event)["type"] == "SoftTimeLimitExceeded"
    assert event["fingerprint"] == ["celery", "SoftTimeLimitExceeded", TASK + "soft_limited"]
    (event,) = worker.wait_events(hard, 1)
    assert _exception(event)["type"] == "TimeLimitExceeded"
    assert event["transaction"] == TASK + "hard_limited"


@pools("prefork-recycled")
def test_exiting_pool_child_delivers_its_pending_event_first(worker: Worker) -> None:
    """A child that exits after its task (max-tasks-per-child) keeps retrying its event, then sends it."""
    mark = new_mark()
    refused_before = sum(r.status == 503 for r in list(worker.receiver.requests))
    worker.receiver.respond_with(
        status=503
    )  # "unavailable": the child's transport backs off and retries
    worker.wait_state(worker.send("fail", mark, expect=1), "FAILURE")
    # Billiard gives an exiting child one second; a third attempt comes later than that, so the
    # child is still alive only because worker_process_shutdown waits for its pending event.
    worker.receiver.wait_until(
        lambda r: sum(q.status == 503 for q in list(r.requests)) >= refused_before + 3, timeout=15
    )
    worker.receiver.respond_with(status=200)
    (event,) = worker.wait_events(mark, 1, timeout=15)
    assert _exception(event)["value"] == f"boom {mark}"


@pools("prefork")
def test_with_tracing_off_a_tasks_error_carries_the_senders_trace(worker: Worker) -> None:
    """Tracing off on both sides: the sender still puts its trace into the message, so the task's
    error links to the request that sent it; no transaction is sent."""
    sender = raven.Client(dsn=worker.receiver.dsn)
    handler = register_signal(sender)
    mark = new_mark()
    try:
        with sender.context:
            sender.continue_trace({"sentry-trace": f"{TRACE}-b0e6f15b45c36b12-1"})
            result = worker.send("fail", mark, expect=1)
            outgoing = sender.trace_headers()["sentry-trace"]
    finally:
        handler.uninstall()
        sender.close()
    worker.untraced.add(result.id)
    (event,) = worker.wait_events(mark, 1)
    trace = event["contexts"]["trace"]
    # The task's parent is the sender's scope (whose own parent is the incoming b0e6... span).
    assert outgoing == f"{TRACE}-{trace['parent_span_id']}-1"
    assert worker.receiver.transactions == []


@pools(*ALL_POOLS)
def test_sigterm_right_after_a_failure_loses_nothing(worker: Worker) -> None:
    """SIGTERM while Sentry is briefly unreachable: the event is retried and delivered before exit."""
    mark = new_mark()
    worker.receiver.stop()  # connections refused: the event waits in the transport, backing off
    result = worker.send("fail", mark, expect=1)
    worker.wait_state(result, "FAILURE")
    # The FAILURE state is stored before the pool child hands the task's result back to the
    # worker's main process. A SIGTERM in between races billiard's own shutdown (a child waiting
    # 30 s for its result to be read, a half-written result read at exit), so it lands after.
    worker.wait_idle()
    worker.terminate()
    worker.receiver.start()  # back on the same port while the worker shuts down
    assert worker.wait_exit() == 0, worker.output()
    worker.check_ledger()
    (event,) = worker.events_for(mark)
    assert _exception(event)["value"] == f"boom {mark}"
