"""Callbacks and helpers never raise into the app, Raven's own sending never feeds back into
events or breadcrumbs, and ``before_breadcrumb`` gets a hint (issues 17 and 20)."""

from __future__ import annotations

import http.client
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import raven
from raven.handlers.logging import SentryHandler
from raven.processors import Processor

from tests.receiver import Receiver

from .conftest import BASE_OPTIONS, Harness


@pytest.fixture
def log() -> Iterator[logging.Logger]:
    """A fresh application logger that does not propagate to the root."""
    logger = logging.getLogger(f"app.{uuid.uuid4().hex[:8]}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger
    logger.handlers.clear()


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The warnings Raven logs during the test."""
    caplog.set_level(logging.WARNING, logger="raven")
    return caplog


def raven_warnings(caplog: pytest.LogCaptureFixture, needle: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("raven") and r.levelno == logging.WARNING and needle in r.getMessage()
    ]


def crumbs(event: dict[str, Any]) -> list[dict[str, Any]]:
    return list(event.get("breadcrumbs", {}).get("values", []))


# -- no feedback storm ----------------------------------------------------------------------------
@pytest.fixture
def root_at_debug() -> Iterator[logging.Logger]:
    """The root logger at DEBUG, as an app that logs everything sets it (restored afterwards)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    yield root
    root.setLevel(level)


def test_threaded_send_logs_do_not_become_events(
    receiver: Receiver, root_at_debug: logging.Logger
) -> None:
    """With the root at DEBUG and a SentryHandler on it, one logged error is exactly one event."""
    client = raven.Client(receiver.dsn, **BASE_OPTIONS)
    handler = SentryHandler(client)
    root_at_debug.addHandler(handler)
    try:
        logging.getLogger("app.storm").error("the one error")
        assert client.flush(10)
        client.captureMessage("marker")  # sent after whatever the first send may have caused
        assert client.flush(10)
    finally:
        root_at_debug.removeHandler(handler)
        client.close(5)
    messages = [e["logentry"]["formatted"] for e in receiver.events]
    assert messages == ["the one error", "marker"]


def test_sync_send_logs_do_not_become_events_or_breadcrumbs(
    sentry: Harness, root_at_debug: logging.Logger
) -> None:
    """A sync send's own urllib3 lines become neither events nor crumbs; the app's own do."""
    import requests

    client = sentry.client()
    handler = SentryHandler(client)
    root_at_debug.addHandler(handler)
    try:
        logging.getLogger("app.storm").error("first")
        requests.get(f"http://127.0.0.1:{sentry.receiver.port}/app-call", timeout=5)
        logging.getLogger("app.storm").error("second")
    finally:
        root_at_debug.removeHandler(handler)
    events = list(sentry.receiver.events)
    errors = [e for e in events if e.get("logger") == "app.storm"]
    assert [e["logentry"]["formatted"] for e in errors] == ["first", "second"]
    from_urllib3 = [e["logentry"]["formatted"] for e in events if e["logger"].startswith("urllib3")]
    assert any("/app-call" in m for m in from_urllib3)  # the app's own request is the app's
    assert not any("envelope" in m for m in from_urllib3)  # Raven's sending is not
    second_crumbs = [str(c) for c in crumbs(errors[1])]
    assert any("/app-call" in c for c in second_crumbs)
    assert not any("envelope" in c for c in second_crumbs)
    sentry.validate(events)


# -- callbacks that misbehave ---------------------------------------------------------------------
class ReturnsAnInt(Processor):
    """A processor that returns something that is not the event."""

    def process(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return 42


def test_processor_returning_a_non_dict_keeps_the_event(
    sentry: Harness, warnings: pytest.LogCaptureFixture
) -> None:
    """A processor returning a non-dict is named in one warning; events go out as they were."""
    client = sentry.client(processors=[ReturnsAnInt, "raven.processors.SanitizePasswordsProcessor"])
    assert client.captureMessage("one", extra={"password": "hunter2"}) is not None
    assert client.captureMessage("two") is not None
    first, second = sentry.events(2)
    assert first["extra"]["password"] != "hunter2" and second["logentry"]["formatted"] == "two"
    (warning,) = raven_warnings(warnings, "ReturnsAnInt")
    assert "int 42" in warning


def test_before_send_returning_a_dict_without_event_id(sentry: Harness) -> None:
    """A new dict from before_send without an event_id is given one and sent."""
    client = sentry.client(
        before_send=lambda event, hint: {"message": "rebuilt", "level": "warning"}
    )
    event_id = client.captureMessage("original")
    event = sentry.event()
    assert event_id and event["event_id"] == event_id and event["level"] == "warning"


def test_before_send_returning_a_non_event_is_dropped_with_one_warning(
    receiver: Receiver, warnings: pytest.LogCaptureFixture
) -> None:
    """before_send returning an int or a string drops the event with one warning naming it and
    counts the drops as before_send in the client report."""
    answers = iter([42, "not an event", None])

    def before_send(event: dict[str, Any], hint: Any) -> Any:
        return next(answers)

    client = raven.Client(receiver.dsn, before_send=before_send, **BASE_OPTIONS)
    try:
        assert client.captureMessage("a") is None
        assert client.captureMessage("b") is None
        assert client.captureMessage("c") is None
        assert client.flush(5)
        receiver.wait_until(lambda r: r.discarded() == {("before_send", "default"): 3})
    finally:
        client.close(5)
    assert receiver.events == []
    (warning,) = raven_warnings(warnings, "before_send")
    assert "int 42" in warning and "before_send" in warning


def test_before_breadcrumb_returning_a_string_drops_only_that_crumb(
    sentry: Harness, warnings: pytest.LogCaptureFixture
) -> None:
    """A string from before_breadcrumb drops that crumb, warns once, and later events still go out."""

    def before(crumb: dict[str, Any], hint: Any) -> Any:
        return "oops" if crumb.get("message", "").startswith("bad") else crumb

    client = sentry.client(before_breadcrumb=before)
    client.captureBreadcrumb(message="bad one")
    client.captureBreadcrumb(message="good")
    client.captureBreadcrumb(message="bad two")
    client.captureMessage("still sent")
    client.captureMessage("and again")
    first, _ = sentry.events(2)
    assert [c.get("message") for c in crumbs(first)] == ["good"]
    (warning,) = raven_warnings(warnings, "before_breadcrumb")
    assert "str 'oops'" in warning


def test_context_helpers_accept_none_and_ignore_non_mappings(
    sentry: Harness, warnings: pytest.LogCaptureFixture
) -> None:
    """None clears the user and request and adds no tags or extra; a non-dict is ignored with a
    warning; nothing raises and the event goes out."""
    client = sentry.client(send_default_pii=True)
    client.user_context({"id": "42"})
    client.http_context({"url": "http://x/", "method": "GET"})
    client.user_context(None)
    client.http_context(None)
    client.tags_context(None)
    client.extra_context(None)
    client.tags_context("not a dict")  # type: ignore[arg-type]
    client.extra_context({"kept": 1})
    client.captureMessage("context")
    event = sentry.event()
    assert "user" not in event and "request" not in event and event["extra"]["kept"] == 1
    assert len(raven_warnings(warnings, "tags_context")) == 1


@pytest.mark.parametrize("data", ["x", [1, 2], 7])
def test_breadcrumb_data_that_is_not_a_dict(sentry: Harness, data: Any) -> None:
    """``captureBreadcrumb(data="x")`` or a list keeps the crumb with the value under data.value."""
    client = sentry.client()
    client.captureBreadcrumb(message="odd", data=data)
    client.captureMessage("m")
    (crumb,) = crumbs(sentry.event())
    assert crumb["message"] == "odd" and crumb["data"] == {"value": data}


def test_capture_exception_with_a_string_as_value(sentry: Harness) -> None:
    """``captureException((ValueError, "x", None))`` sends a ValueError("x") instead of raising."""
    client = sentry.client()
    assert client.captureException((ValueError, "x", None)) is not None
    (value,) = sentry.event()["exception"]["values"]
    assert value["type"] == "ValueError" and value["value"] == "x"


class Ambiguous:
    """Compares like a numpy array: ``==`` gives something whose truth value raises."""

    class _Result:
        def __bool__(self) -> bool:
            raise ValueError("The truth value of an array with more than one element is ambiguous")

    def __eq__(self, other: object) -> Any:
        return self._Result()

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "array([1, 2])"


def cyclic() -> dict[str, Any]:
    data: dict[str, Any] = {"name": "node"}
    data["self"] = data
    return data


def test_consecutive_crumbs_with_uncomparable_data(sentry: Harness) -> None:
    """Consecutive crumbs whose data hold array-like or cyclic values are both recorded."""
    client = sentry.client()
    client.captureBreadcrumb(message="a", data={"arr": Ambiguous()})
    client.captureBreadcrumb(message="a", data={"arr": Ambiguous()})
    client.captureBreadcrumb(message="c", data=cyclic())
    client.captureBreadcrumb(message="c", data=cyclic())
    client.captureMessage("m")
    assert [c["message"] for c in crumbs(sentry.event())] == ["a", "a", "c", "c"]


def test_logging_extra_with_reserved_keys_of_the_wrong_type(
    sentry: Harness, log: logging.Logger, warnings: pytest.LogCaptureFixture
) -> None:
    """``extra={"data": "str", "tags": [...]}`` goes to the event's extra: ``tags`` with one
    warning, ``data`` silently (raven-python sent a non-dict ``data`` as ``extra["data"]``)."""
    client = sentry.client()
    log.addHandler(SentryHandler(client))
    log.error("first", extra={"data": "str", "tags": ["a", "b"], "fingerprint": "fp"})
    log.error("second", extra={"data": "str"})
    first, second = sentry.events(2)
    assert first["extra"]["data"] == "str" and first["extra"]["tags"] == ["a", "b"]
    assert first["fingerprint"] == ["fp"] and second["extra"]["data"] == "str"
    assert len(raven_warnings(warnings, "'data'")) == 0
    assert len(raven_warnings(warnings, "'tags'")) == 1


# -- before_breadcrumb's hint ---------------------------------------------------------------------
def test_before_breadcrumb_gets_the_log_record(sentry: Harness, log: logging.Logger) -> None:
    """A log crumb's hint holds its record, so a filter can decide on the record's attributes."""
    seen: list[Any] = []

    def before(crumb: dict[str, Any], hint: Any) -> dict[str, Any] | None:
        record = (hint or {}).get("log_record")
        seen.append(record)
        return None if record is not None and getattr(record, "noisy", False) else crumb

    client = sentry.client(before_breadcrumb=before)
    log.info("kept")
    log.info("dropped", extra={"noisy": True})
    client.captureMessage("m")
    assert [c["message"] for c in crumbs(sentry.event())] == ["kept"]
    assert [r.getMessage() for r in seen if isinstance(r, logging.LogRecord)] == ["kept", "dropped"]


def test_before_breadcrumb_gets_the_http_request_and_response(sentry: Harness) -> None:
    """An HTTP crumb's hint holds the http.client connection and response (sentry-sdk's names)."""
    hints: list[Any] = []

    def before(crumb: dict[str, Any], hint: Any) -> dict[str, Any] | None:
        if crumb.get("type") == "http":
            hints.append(hint)
            return None if "/health" in hint["httplib_request"]._raven_request[1] else crumb
        return crumb

    client = sentry.client(before_breadcrumb=before)
    for path in ("/health", "/api"):
        conn = http.client.HTTPConnection("127.0.0.1", sentry.receiver.port, timeout=5)
        conn.request("GET", path)
        conn.getresponse().read()
        conn.close()
    client.captureMessage("m")
    http_crumbs = [c for c in crumbs(sentry.event()) if c["type"] == "http"]
    assert [c["data"]["url"].rsplit("/", 1)[1] for c in http_crumbs] == ["api"]
    assert len(hints) == 2
    assert all(isinstance(h["httplib_request"], http.client.HTTPConnection) for h in hints)
    assert all(isinstance(h["httplib_response"], http.client.HTTPResponse) for h in hints)
    assert hints[1]["httplib_response"].status == 200


def test_context_merge_with_none_or_a_non_dict_tags(
    sentry: Harness, warnings: pytest.LogCaptureFixture
) -> None:
    """``context.merge(None)`` merges nothing and ``tags`` given as a list is left out with one
    warning; every later event still goes out with the tags that were valid."""
    client = sentry.client()
    client.context.merge(None)
    client.tags_context({"kept": "yes"})
    client.context.merge({"tags": ["a", "b"]})
    client.context.merge({"tags": ["c"]})
    client.captureMessage("one")
    client.captureMessage("two")
    first, second = sentry.events(2)
    assert first["tags"]["kept"] == "yes" and second["tags"]["kept"] == "yes"
    assert len(raven_warnings(warnings, "'tags' must be a dict")) == 1


def test_breadcrumb_message_and_category_of_other_types(sentry: Harness) -> None:
    """A crumb's message or category given as a number is sent as its text."""
    client = sentry.client()
    client.captureBreadcrumb(message=404, category=7)  # type: ignore[arg-type]
    client.captureMessage("m")
    (crumb,) = crumbs(sentry.event())
    assert crumb["message"] == "404" and crumb["category"] == "7"


def test_capture_exception_of_something_else_warns_once(
    sentry: Harness, warnings: pytest.LogCaptureFixture
) -> None:
    """``captureException("x")`` sends nothing, returns None and says why once; outside an except
    block ``captureException()`` stays silent."""
    client = sentry.client()
    assert client.captureException("x") is None
    assert client.captureException(42) is None
    assert client.captureException() is None
    assert sentry.receiver.events == []
    (warning,) = raven_warnings(warnings, "captureException")
    assert "str 'x'" in warning


def test_capture_breadcrumb_passes_its_hint(sentry: Harness) -> None:
    """``captureBreadcrumb(hint=...)`` hands the hint to before_breadcrumb, which may decide on it."""
    client = sentry.client(
        before_breadcrumb=lambda crumb, hint: None if (hint or {}).get("noisy") else crumb
    )
    client.captureBreadcrumb(message="quiet")
    client.captureBreadcrumb(message="loud", hint={"noisy": True})
    client.captureMessage("m")
    assert [c["message"] for c in crumbs(sentry.event())] == ["quiet"]
