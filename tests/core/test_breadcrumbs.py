"""Breadcrumbs: explicit records, the ring buffer, the logging hook, library hooks and HTTP crumbs."""

from __future__ import annotations

import http.client
import logging
import uuid
from typing import Any

import pytest
import raven
import requests
from raven import breadcrumbs

from .conftest import CollectingClient, Harness, collecting_client


def crumbs_of(client: CollectingClient) -> list[dict[str, Any]]:
    return client.context.breadcrumbs.get_buffer()


def unique_logger() -> logging.Logger:
    log = logging.getLogger(f"app.crumbs.{uuid.uuid4().hex[:8]}")
    log.setLevel(logging.DEBUG)
    return log


def test_recorded_breadcrumbs_arrive_with_the_event(sentry: Harness, client: raven.Client) -> None:
    """Crumbs from ``record`` and ``captureBreadcrumb`` arrive in order with every field."""
    breadcrumbs.record(
        message="user clicked pay", category="ui.click", level="info", data={"button": "pay"}
    )
    client.captureBreadcrumb(
        message="charge",
        category="payment",
        level="warning",
        type="http",
        data={"url": "http://psp.example/charge", "method": "POST", "status_code": 200},
        timestamp=1_700_000_000.0,
    )
    client.captureMessage("after crumbs")
    values = sentry.event()["breadcrumbs"]["values"]
    first, second = values
    assert first["message"] == "user clicked pay" and first["category"] == "ui.click"
    assert (
        first["data"] == {"button": "pay"}
        and first["level"] == "info"
        and first["type"] == "default"
    )
    assert (
        second["type"] == "http"
        and second["level"] == "warning"
        and second["timestamp"] == 1_700_000_000.0
    )


def test_positional_message(collector: CollectingClient) -> None:
    """``captureBreadcrumb("text")`` and ``record("text")`` take the message as first argument."""
    collector.captureBreadcrumb("positional", None, "warning", "ui")
    breadcrumbs.record("module level")
    first, second = crumbs_of(collector)
    assert (first["message"], first["level"], first["category"]) == ("positional", "warning", "ui")
    assert second["message"] == "module level"


def test_record_with_processor(collector: CollectingClient) -> None:
    """``record(..., processor=f)`` lets ``f`` edit the crumb before it is stored."""

    def processor(crumb: dict[str, Any]) -> None:
        crumb["message"] = crumb["message"].upper()
        crumb.setdefault("data", {})["processed"] = True

    breadcrumbs.record(message="quiet", processor=processor)
    (crumb,) = crumbs_of(collector)
    assert crumb["message"] == "QUIET" and crumb["data"] == {"processed": True}


def test_ring_buffer_keeps_the_latest_max_breadcrumbs(collector: CollectingClient) -> None:
    """Past ``max_breadcrumbs`` (default 100) the oldest crumbs are dropped."""
    for index in range(150):
        breadcrumbs.record(message=f"m{index}")
    assert [c["message"] for c in crumbs_of(collector)] == [f"m{i}" for i in range(50, 150)]
    small = collecting_client(max_breadcrumbs=3)
    for index in range(10):
        small.captureBreadcrumb(message=f"s{index}")
    assert [c["message"] for c in crumbs_of(small)] == ["s7", "s8", "s9"]
    small.close()


def test_max_breadcrumbs_zero_records_nothing() -> None:
    """``max_breadcrumbs=0`` keeps no crumbs at all."""
    client = collecting_client(max_breadcrumbs=0)
    client.captureBreadcrumb(message="nope")
    client.captureMessage("m")
    assert "breadcrumbs" not in client.events[-1]
    client.close()


def test_enable_breadcrumbs_false_sends_no_breadcrumbs(collector: CollectingClient) -> None:
    """With ``enable_breadcrumbs=False`` events carry no crumbs, even with another client's hooks on."""
    client = collecting_client(enable_breadcrumbs=False)
    unique_logger().warning("a log line")
    breadcrumbs.record(message="explicit")
    client.captureMessage("m")
    assert "breadcrumbs" not in client.events[-1]
    client.close()


def test_before_breadcrumb_changes_or_drops(collector: CollectingClient) -> None:
    """``before_breadcrumb`` may edit a crumb or return None to drop it."""

    def before(crumb: dict[str, Any], hint: Any) -> dict[str, Any] | None:
        if crumb.get("message") == "drop me":
            return None
        crumb["message"] = "edited: " + crumb["message"]
        return crumb

    client = collecting_client(before_breadcrumb=before)
    client.captureBreadcrumb(message="drop me")
    client.captureBreadcrumb(message="keep me")
    assert [c["message"] for c in crumbs_of(client)] == ["edited: keep me"]  # type: ignore[arg-type]
    client.close()


def test_log_records_become_breadcrumbs(collector: CollectingClient) -> None:
    """A log record becomes a crumb with the logger as category, its level and formatted message."""
    log = unique_logger()
    log.warning("disk at %d%%", 91)
    try:
        raise KeyError("k")
    except KeyError:
        log.exception("lookup failed")
    first, second = crumbs_of(collector)
    assert first["message"] == "disk at 91%" and first["category"] == log.name
    assert first["level"] == "warning"
    assert second["level"] == "error"
    assert second["data"] == {"exception_type": "KeyError", "exception_value": "'k'"}


def test_log_crumb_messages_are_cut_at_1024_chars(collector: CollectingClient) -> None:
    """Log messages longer than 1,024 characters are truncated in the crumb."""
    unique_logger().info("x" * 5000)
    (crumb,) = crumbs_of(collector)
    assert len(crumb["message"]) == 1024 and crumb["message"].endswith("...")


def test_consecutive_identical_crumbs_collapse(collector: CollectingClient) -> None:
    """The same log line repeated back to back is one crumb; separated repeats are kept."""
    log = unique_logger()
    for _ in range(5):
        log.info("retrying")
    log.info("other")
    log.info("retrying")
    assert [c["message"] for c in crumbs_of(collector)] == ["retrying", "other", "retrying"]


def test_logging_hook_leaves_records_unchanged(collector: CollectingClient) -> None:
    """The hook never changes a record's name, filename, funcName or lineno."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = unique_logger()
    log.addHandler(Keep())
    log.propagate = False

    def emitting_function() -> int:
        import inspect

        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        log.info("where")
        return line

    line = emitting_function()
    (record,) = records
    assert record.name == log.name and record.funcName == "emitting_function"
    assert record.filename == "test_breadcrumbs.py" and record.lineno == line
    assert len(crumbs_of(collector)) == 1


def test_logging_with_bad_arguments_still_records(collector: CollectingClient) -> None:
    """A record whose arguments do not fit its message becomes a crumb with the raw message."""
    log = unique_logger()
    log.propagate = False
    log.addHandler(logging.NullHandler())
    log.info("%s and %s", 1)
    assert crumbs_of(collector)[-1]["message"] == "%s and %s"


def test_ignore_logger(collector: CollectingClient) -> None:
    """``ignore_logger(name)`` stops crumbs from that logger and its children, not its siblings."""
    base = unique_logger()
    breadcrumbs.ignore_logger(base.name)
    base.info("ignored")
    logging.getLogger(base.name + ".child").warning("ignored too")
    logging.getLogger(base.name + "x").warning("kept")
    assert [c["message"] for c in crumbs_of(collector)] == ["kept"]


def test_ignore_logger_below_a_level(collector: CollectingClient) -> None:
    """``ignore_logger(name, allow_level=WARNING)`` keeps only records at WARNING and above."""
    log = unique_logger()
    breadcrumbs.ignore_logger(log, allow_level=logging.WARNING)
    log.info("chatter")
    log.warning("important")
    assert [c["message"] for c in crumbs_of(collector)] == ["important"]


def test_raven_logger_never_becomes_breadcrumbs(collector: CollectingClient) -> None:
    """The SDK's own log lines (``raven`` and below, ``sentry.errors``) never become crumbs."""
    logging.getLogger("raven").warning("sdk warning")
    logging.getLogger("raven.transport").warning("transport warning")
    logging.getLogger("sentry.errors").warning("legacy")
    assert crumbs_of(collector) == []


def test_register_special_log_handler_suppresses(collector: CollectingClient) -> None:
    """A special handler for one logger gets (logger, level, msg, args, kwargs); True suppresses."""
    log = unique_logger()
    calls: list[tuple[Any, ...]] = []

    def handler(logger: logging.Logger, level: int, msg: str, args: Any, kwargs: Any) -> bool:
        calls.append((logger.name, level, msg, args))
        return "secret" in msg

    breadcrumbs.register_special_log_handler(log.name, handler)
    log.info("public %s", "x")
    log.info("secret stuff")
    assert [c["message"] for c in crumbs_of(collector)] == ["public x"]
    assert calls[0] == (log.name, logging.INFO, "public %s", ("x",))


def test_register_logging_handler_suppresses(collector: CollectingClient) -> None:
    """A global logging handler sees every record; returning True suppresses the crumb."""
    log = unique_logger()
    breadcrumbs.register_logging_handler(
        lambda logger, level, msg, args, kwargs: logger.name == log.name
    )
    log.info("suppressed")
    unique_logger().info("kept")
    assert [c["message"] for c in crumbs_of(collector)] == ["kept"]


def test_libraryhook_runs_only_when_named() -> None:
    """A ``libraryhook(name)`` runs once, when a client's ``hook_libraries`` names it."""
    name = f"lib{uuid.uuid4().hex[:8]}"
    runs: list[str] = []

    @breadcrumbs.libraryhook(name)
    def install() -> None:
        runs.append(name)

    clients = [collecting_client()]
    assert runs == []
    clients.append(collecting_client(hook_libraries=[name]))
    clients.append(collecting_client(hook_libraries=[name, "requests"]))
    assert runs == [name]
    for client in clients:
        client.close()


def test_requests_calls_become_http_breadcrumbs(sentry: Harness, client: raven.Client) -> None:
    """An outgoing ``requests`` call leaves a crumb with method, url and status; Raven's own posts do not."""
    url = f"http://127.0.0.1:{sentry.receiver.port}/health?probe=1"
    assert requests.get(url, timeout=5).status_code == 200
    client.captureMessage("first")
    client.captureMessage("second")
    first, second = sentry.events(2)
    (crumb,) = [c for c in first["breadcrumbs"]["values"] if c["type"] == "http"]
    assert crumb["data"] == {"method": "GET", "url": url, "status_code": 200}
    assert crumb["category"] == "httplib"
    # the POST that delivered the first event is not a crumb of the second
    assert [c for c in second["breadcrumbs"]["values"] if c["type"] == "http"] == [crumb]


def test_http_client_calls_become_http_breadcrumbs(sentry: Harness, client: raven.Client) -> None:
    """A plain ``http.client`` request leaves a crumb with method, full url and status."""
    conn = http.client.HTTPConnection("127.0.0.1", sentry.receiver.port, timeout=5)
    try:
        conn.request("GET", "/plain")
        assert conn.getresponse().read() == b"ok"
    finally:
        conn.close()
    client.captureMessage("after http.client")
    (crumb,) = [c for c in sentry.event()["breadcrumbs"]["values"] if c["type"] == "http"]
    assert crumb["data"] == {
        "method": "GET",
        "url": f"http://127.0.0.1:{sentry.receiver.port}/plain",
        "status_code": 200,
    }


@pytest.mark.parametrize("level", ["warn", "critical", 10, "nonsense"])
def test_breadcrumb_levels_are_normalized(collector: CollectingClient, level: Any) -> None:
    """Crumb levels are Sentry levels whatever was passed."""
    collector.captureBreadcrumb(message="lvl", level=level)
    assert crumbs_of(collector)[-1]["level"] in {
        "debug",
        "info",
        "warning",
        "error",
        "fatal",
        "log",
    }
