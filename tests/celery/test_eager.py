"""The hooks in-process, with tasks run eagerly (``Task.apply``): Celery sends the same signals as
in a worker, so install/uninstall, scoping and the guard can be checked without one."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator
from typing import Any

import pytest
import raven
from celery.exceptions import SoftTimeLimitExceeded
from raven.handlers.logging import SentryHandler
from raven_celery import (
    CeleryFilter,
    SentryCeleryHandler,
    register_logger_signal,
    register_signal,
    unregister_logger_signal,
)

from celery import Celery, signals
from tests.receiver import Receiver
from tests.relay import validate_event


@pytest.fixture
def client(receiver: Receiver) -> Iterator[raven.Client]:
    client = raven.Client(dsn=receiver.dsn)
    yield client
    client.close()


@pytest.fixture
def installed(client: raven.Client) -> Iterator[list[SentryCeleryHandler]]:
    """Handlers a test installs; all are uninstalled afterwards (Celery's signals are global)."""
    handlers: list[SentryCeleryHandler] = []
    yield handlers
    for handler in handlers:
        handler.uninstall()
    unregister_logger_signal(client)


# One app for the module: Celery remembers task names process-wide. Tasks reach the test's
# client through ``current``.
eager = Celery("raven-eager", set_as_current=False)
current: dict[str, raven.Client] = {}


@eager.task(name="eager.fail")
def fail(mark: str) -> None:
    raise ValueError(f"boom {mark}")


@eager.task(name="eager.expected", throws=(LookupError,))
def expected(mark: str) -> None:
    raise LookupError(mark)


@eager.task(name="eager.soft_limit")
def soft_limit() -> None:
    raise SoftTimeLimitExceeded()


@eager.task(name="eager.message")
def message(mark: str, inner: bool = False) -> None:
    raven.breadcrumbs.record(message=f"inside {mark}")
    current["client"].context.merge({"tags": {"inside": mark}})
    if inner:
        message.apply((f"{mark}-inner",))
    current["client"].captureMessage(f"message {mark}")


task_logger = logging.getLogger("tests.celery.eager")


@eager.task(name="eager.log_capture_fail")
def log_capture_fail(mark: str) -> None:
    task_logger.error("task logged %s", mark)
    current["client"].captureMessage(f"manual capture {mark}")
    raise RuntimeError(f"failed after logging {mark}")


@pytest.fixture
def app(client: raven.Client) -> Iterator[Celery]:
    current["client"] = client
    yield eager
    current.clear()


def _events(client: raven.Client, receiver: Receiver) -> list[dict[str, Any]]:
    assert client.flush(10)
    for event in receiver.events:
        validate_event(event)
    return list(receiver.events)


def test_register_twice_reports_once_and_uninstall_stops_reporting(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """Registering twice installs one handler; after uninstall() failures are not reported."""
    first = register_signal(client)
    installed.append(first)
    assert register_signal(client) is first
    first.install()
    result = app.tasks["eager.fail"].apply(("one",))
    assert result.state == "FAILURE" and isinstance(result.result, ValueError)
    (event,) = _events(client, receiver)
    assert event["exception"]["values"][-1]["value"] == "boom one"
    assert event["transaction"] == "eager.fail"
    assert event["extra"]["celery-job"]["eager"] is True

    first.uninstall()
    first.uninstall()
    assert app.tasks["eager.fail"].apply(("two",)).state == "FAILURE"
    assert len(_events(client, receiver)) == 1
    assert register_signal(client) is not first  # a fresh registration after uninstall
    installed.append(register_signal(client))


def test_two_handlers_for_one_client_report_once(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """A hand-made handler next to register_signal's does not double-report a failure."""
    extra = SentryCeleryHandler(client)
    extra.install()
    installed.extend([extra, register_signal(client)])
    app.tasks["eager.fail"].apply(("once",))
    assert len(_events(client, receiver)) == 1


def test_declared_exceptions_are_reported_unless_ignore_expected(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """An exception in ``throws`` is an error by default and skipped with ignore_expected=True."""
    installed.append(register_signal(client))
    app.tasks["eager.expected"].apply(("reported",))
    (event,) = _events(client, receiver)
    assert event["exception"]["values"][-1]["type"] == "LookupError"

    installed.append(register_signal(client, ignore_expected=True))
    assert app.tasks["eager.expected"].apply(("skipped",)).state == "FAILURE"
    assert app.tasks["eager.fail"].apply(("still",)).state == "FAILURE"
    events = _events(client, receiver)
    assert [e["exception"]["values"][-1]["type"] for e in events] == ["LookupError", "ValueError"]


def test_soft_time_limits_group_by_task(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """A soft time limit is fingerprinted by task name, not by the line it interrupted."""
    installed.append(register_signal(client))
    app.tasks["eager.soft_limit"].apply()
    (event,) = _events(client, receiver)
    assert event["fingerprint"] == ["celery", "SoftTimeLimitExceeded", "eager.soft_limit"]


def test_task_context_is_a_scope_of_its_own(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """A task starts from an empty context and gives the caller's context back when it ends."""
    installed.append(register_signal(client))
    client.context.merge({"tags": {"request": "outer"}})
    raven.breadcrumbs.record(message="before the task")

    app.tasks["eager.message"].apply(("outer",), {"inner": True})

    # Arrival order is not fixed (several connections): the inner task's tag names both tasks.
    inner, outer = sorted(
        _events(client, receiver), key=lambda event: event["tags"]["inside"] != "outer-inner"
    )
    assert inner["transaction"] == "eager.message"
    assert inner["tags"]["inside"] == "outer-inner" and "request" not in inner["tags"]
    assert [c["message"] for c in inner["breadcrumbs"]["values"]] == ["inside outer-inner"]
    # The outer task got its own context back after the inner one ran.
    assert outer["tags"]["inside"] == "outer"
    assert outer["extra"]["celery-job"]["args"] == ["outer"]
    assert [c["message"] for c in outer["breadcrumbs"]["values"]] == ["inside outer"]
    # And the caller got its own.
    assert client.context.get()["tags"] == {"request": "outer"}
    assert [c["message"] for c in client.context.breadcrumbs.get_buffer()] == ["before the task"]
    client.context.clear()


def test_log_record_and_manual_capture_in_a_task_carry_the_task(
    app: Celery, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """An error logged through a SentryHandler and a client.captureMessage() in a task arrive with
    the same transaction (the task's name), tags and job details as the task's failure."""
    client = raven.Client(dsn=receiver.dsn, send_default_pii=True)
    current["client"] = client
    handler = register_signal(client)
    sentry_handler = SentryHandler(client, level=logging.ERROR)
    task_logger.addHandler(sentry_handler)
    try:
        result = app.tasks["eager.log_capture_fail"].apply(("m1",), {})
        events = _events(client, receiver)
    finally:
        task_logger.removeHandler(sentry_handler)
        handler.uninstall()
        client.close()
    assert result.state == "FAILURE"
    by_kind = {("exception" if "exception" in e else e["logentry"]["message"]): e for e in events}
    assert set(by_kind) == {"exception", "task logged %s", "manual capture m1"}
    failure = by_kind["exception"]
    assert failure["transaction"] == "eager.log_capture_fail"
    assert failure["tags"]["celery_task_name"] == "eager.log_capture_fail"
    assert failure["extra"]["celery-job"]["task_id"] == result.id
    assert failure["extra"]["celery-job"]["args"] == ["m1"]
    for event in events:
        assert event["transaction"] == failure["transaction"]
        assert event.get("user") == failure.get("user")
        assert event["tags"]["celery_task_name"] == failure["tags"]["celery_task_name"]
        assert event["extra"]["celery-job"] == failure["extra"]["celery-job"]


def test_failure_reported_outside_the_task_gets_the_task_data(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """A failure reported outside the task's context (as the worker does for a hard time limit)
    carries the task's name and details, and leaves the caller's context as it was."""
    installed.append(register_signal(client))
    client.context.merge({"tags": {"caller": "worker"}})
    try:
        raise TimeoutError("hard limit")
    except TimeoutError as exc:
        signals.task_failure.send(
            sender=app.tasks["eager.fail"],
            task_id="t-outside",
            exception=exc,
            args=["late"],
            kwargs={},
            traceback=exc.__traceback__,
            einfo=None,
        )
    (event,) = _events(client, receiver)
    assert event["exception"]["values"][-1]["value"] == "hard limit"
    assert event["transaction"] == "eager.fail"
    assert event["tags"]["celery_task_name"] == "eager.fail"
    assert event["extra"]["celery-job"]["task_id"] == "t-outside"
    assert event["extra"]["celery-job"]["args"] == ["late"]
    assert "caller" not in event["tags"]
    assert client.context.get() == {"tags": {"caller": "worker"}}
    client.context.clear()


def test_reported_exception_still_pickles(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """A prefork child pickles the task's exception: reporting it must keep that possible."""
    installed.append(register_signal(client))
    result = app.tasks["eager.fail"].apply(("pickled",))
    assert len(_events(client, receiver)) == 1
    restored = pickle.loads(pickle.dumps(result.result))
    assert str(restored) == "boom pickled"


class BrokenClient(raven.Client):
    def captureException(self, exc_info: Any = None, **kwargs: Any) -> str | None:
        raise RuntimeError("raven is broken")


@pytest.mark.raven_errors_expected
def test_an_error_in_raven_never_changes_the_task_outcome(
    app: Celery, receiver: Receiver, raven_internal_errors: Any
) -> None:
    """If capturing fails, the task still fails with its own exception and Raven logs why."""
    broken = BrokenClient(dsn=receiver.dsn)
    handler = register_signal(broken)
    try:
        result = app.tasks["eager.fail"].apply(("broken",))
    finally:
        handler.uninstall()
        broken.close()
    assert result.state == "FAILURE" and str(result.result) == "boom broken"
    (record,) = raven_internal_errors.records
    assert record.name == "raven.celery" and "process_failure_signal" in record.getMessage()


def test_logger_signal_reports_error_logs_once_and_can_be_undone(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """Error logs become events; Celery's own failure line does not add a second event."""
    installed.append(register_signal(client))
    celery_logger = logging.getLogger("celery")  # celery.app.trace logs each failure through it
    handler = register_logger_signal(client, logger=celery_logger)
    assert register_logger_signal(client, logger=celery_logger) is handler
    assert celery_logger.handlers.count(handler) == 1

    logging.getLogger("celery.custom").error("custom %s", "error")
    app.tasks["eager.fail"].apply(("logged",))
    logging.getLogger("celery.custom").warning("below the level")
    # Events travel on several connections at once: their order of arrival is not fixed.
    failure, message = sorted(_events(client, receiver), key=lambda event: "exception" not in event)
    assert message["logentry"]["formatted"] == "custom error"
    assert failure["exception"]["values"][-1]["value"] == "boom logged"

    unregister_logger_signal(client)
    assert handler not in celery_logger.handlers
    logging.getLogger("celery.custom").error("not reported")
    assert len(_events(client, receiver)) == 2


def test_logger_signal_only_filters_an_existing_sentry_handler(
    client: raven.Client, installed: list[SentryCeleryHandler]
) -> None:
    """Where a SentryHandler is already attached, only the CeleryFilter is added to it."""
    logger = logging.getLogger("tests.celery.existing")
    existing = SentryHandler(client)
    logger.addHandler(existing)
    try:
        register_logger_signal(client, logger=logger)
        assert logger.handlers == [existing]
        assert [type(f) for f in existing.filters] == [CeleryFilter]
        unregister_logger_signal(client)
        assert existing.filters == []
    finally:
        logger.removeHandler(existing)


def _record(
    func: str = "work", data: Any = None, exc: BaseException | None = None
) -> logging.LogRecord:
    record = logging.LogRecord(
        "celery.app.trace",
        logging.ERROR,
        __file__,
        1,
        "failed",
        (),
        (type(exc), exc, None) if exc else None,
        func=func,
    )
    if data is not None:
        record.data = data
    return record


def test_celery_filter_drops_task_failure_lines_only() -> None:
    """The filter drops Celery's failure line (not internal errors) and keeps other records once."""
    keep = CeleryFilter()
    assert keep.filter(_record(func="_log_error", data={"internal": False})) is False
    assert keep.filter(_record(func="_log_error")) is False
    assert keep.filter(_record(func="_log_error", data={"internal": True})) is True
    record = _record()
    assert keep.filter(record) is True
    assert keep.filter(record) is False  # the same record reaching the handler a second time
    assert CeleryFilter().filter(record) is True  # another handler's filter still lets it through


# -- tracing ----------------------------------------------------------------------------------
TRACE = "771a43a4192642f0b136d5159a501700"
PARENT = "b0e6f15b45c36b12"


def test_eager_task_is_a_transaction_of_the_callers_trace(
    app: Celery, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """With tracing on, a task run in place is a transaction continuing the caller's span, and
    ``traces_sampler`` sees the task's name and arguments under sentry-sdk's ``celery_job`` key."""
    seen: list[dict[str, Any]] = []

    def sampler(context: dict[str, Any]) -> float:
        seen.append(context)
        return 1.0

    client = raven.Client(dsn=receiver.dsn, traces_sampler=sampler)
    current["client"] = client
    handler = register_signal(client)
    try:
        with client.start_transaction(name="caller", op="test") as caller:
            app.tasks["eager.message"].apply(("traced",))
            app.tasks["eager.fail"].apply(("failed",))
        assert client.flush(10)
    finally:
        handler.uninstall()
        client.close()
    transactions = {t["transaction"]: t for t in receiver.transactions}
    assert set(transactions) == {"caller", "eager.message", "eager.fail"}
    for transaction in transactions.values():
        validate_event(transaction)
    for name, status in (("eager.message", "ok"), ("eager.fail", "internal_error")):
        trace = transactions[name]["contexts"]["trace"]
        assert (trace["trace_id"], trace["parent_span_id"]) == (caller.trace_id, caller.span_id)
        assert (trace["op"], trace["status"]) == ("queue.task.celery", status)
        assert transactions[name]["transaction_info"] == {"source": "task"}
        (process,) = transactions[name]["spans"]
        assert (process["op"], process["description"]) == ("queue.process", name)
    jobs = [c["celery_job"] for c in seen if "celery_job" in c]
    assert [(j["task"], list(j["args"])) for j in jobs] == [
        ("eager.message", ["traced"]),
        ("eager.fail", ["failed"]),
    ]
    failure = next(e for e in receiver.events if "exception" in e)
    assert failure["contexts"]["trace"]["trace_id"] == caller.trace_id
    assert (
        failure["contexts"]["trace"]["parent_span_id"]
        == (transactions["eager.fail"]["contexts"]["trace"]["span_id"])
    )


def test_with_tracing_off_nothing_is_traced_but_errors_keep_the_callers_trace(
    app: Celery, client: raven.Client, receiver: Receiver, installed: list[SentryCeleryHandler]
) -> None:
    """Tracing off: no transaction is sent, and a task's error carries its caller's trace id."""
    installed.append(register_signal(client))
    with client.context:
        client.continue_trace({"sentry-trace": f"{TRACE}-{PARENT}-1"})
        app.tasks["eager.fail"].apply(("untraced",))
    (event,) = _events(client, receiver)
    assert event["contexts"]["trace"]["trace_id"] == TRACE
    assert receiver.transactions == []
