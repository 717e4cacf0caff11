"""raven-celery against a real Bugsink: a prefork Celery worker on a real Redis runs failing tasks."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import raven
from raven_celery import register_signal

from celery import Celery
from tests.e2e.bugsink import Project
from tests.e2e.servers import ServerProcess, app_env
from tests.relay import validate_event

TASKS = "tests.e2e.apps.celery_tasks"


@pytest.fixture
def producer(redis_url: str, project: Project, tmp_path: Path) -> Iterator[Celery]:
    """A prefork worker (2 children) reporting to this test's project, and a Celery app to send tasks with."""
    worker = ServerProcess(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            TASKS,
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"e2e-{project.id}@%h",
        ],
        app_env(project.dsn, E2E_BROKER=redis_url),
        tmp_path / "worker.log",
    )
    sender = Celery("e2e-producer", broker=redis_url, backend=redis_url)
    sender.conf.broker_connection_retry_on_startup = True
    try:
        worker.wait_output("ready.", timeout=60)
        yield sender
    finally:
        sender.close()
        code = worker.stop()
    assert code == 0, f"the worker did not shut down cleanly ({code}):\n{worker.output()}"


def test_failing_task_becomes_an_issue_with_task_context(
    producer: Celery, project: Project
) -> None:
    """A task failing in a prefork child is stored with its stack, locals, task tags, breadcrumbs and release."""
    result = producer.send_task(f"{TASKS}.charge", args=[42, 99.5])
    with pytest.raises(Exception, match="card declined for order 42"):
        result.get(timeout=30)
    (event,) = project.wait_for_events(1)
    data = event["data"]
    validate_event(data)

    (issue,) = project.issues()
    assert (issue["calculated_type"], issue["calculated_value"]) == (
        "RuntimeError",
        "card declined for order 42 (4242)",
    )
    frame = data["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "charge" and frame["module"] == TASKS
    assert frame["context_line"].strip().startswith("raise RuntimeError(")
    assert frame["vars"]["order_id"] == 42
    assert frame["vars"]["card"] == {"last4": "4242", "amount": 99.5}
    assert data["transaction"] == f"{TASKS}.charge"
    assert data["tags"]["celery_task_name"] == f"{TASKS}.charge"
    assert result.id in str(data["extra"]["celery-job"])
    assert any(c.get("message") == "charging order 42" for c in data["breadcrumbs"]["values"])
    assert (data["release"], data["environment"]) == ("billing-worker@5.0", "e2e")


def test_repeated_task_failures_group_and_successes_send_nothing(
    producer: Celery, project: Project
) -> None:
    """Five failing charges are one issue of five events; successful tasks add nothing."""
    assert [producer.send_task(f"{TASKS}.double", args=[n]).get(timeout=30) for n in range(3)] == [
        0,
        2,
        4,
    ]
    failures = [producer.send_task(f"{TASKS}.charge", args=[n, 10.0]) for n in range(5)]
    for result in failures:
        with pytest.raises(Exception, match="card declined"):
            result.get(timeout=30)
    events = project.wait_for_events(5)
    assert len(events) == 5
    (issue,) = project.issues()
    assert issue["digested_event_count"] == 5


def test_task_error_links_to_the_senders_trace(producer: Celery, project: Project) -> None:
    """A sender registered with raven-celery (tracing off) puts its trace into the message: the
    stored event of the failing task carries the sender's trace id."""
    trace = "771a43a4192642f0b136d5159a501700"
    sender = raven.Client(project.dsn)
    handler = register_signal(sender)
    try:
        with sender.context:
            sender.continue_trace({"sentry-trace": f"{trace}-b0e6f15b45c36b12-1"})
            result = producer.send_task(f"{TASKS}.charge", args=[7, 1.0])
    finally:
        handler.uninstall()
        sender.close()
    with pytest.raises(Exception, match="card declined for order 7"):
        result.get(timeout=30)
    (event,) = project.wait_for_events(1)
    validate_event(event["data"])
    assert event["data"]["contexts"]["trace"]["trace_id"] == trace
