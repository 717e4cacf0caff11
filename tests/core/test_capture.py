"""The capture API: every capture method, its return value and what arrives at the server."""

from __future__ import annotations

import datetime
import random
import re
import socket
import sys
import time
from typing import Any

import pytest
import raven
from raven.transport import Transport

from tests.relay import validate_event

from .conftest import CollectingClient, Harness, collecting_client

HEX32 = re.compile(r"^[0-9a-f]{32}$")


class AppError(Exception):
    """An application error used across these tests."""


def fail(message: str = "foo") -> None:
    raise ValueError(message)


def test_capture_exception_returns_the_delivered_event_id(
    sentry: Harness, client: raven.Client
) -> None:
    """``captureException`` returns the 32-hex id of the event that arrived, also kept as ``last_event_id``."""
    try:
        fail()
    except ValueError:
        event_id = client.captureException()
    assert event_id is not None and HEX32.match(event_id)
    event = sentry.event()
    assert event["event_id"] == event_id
    assert client.last_event_id == event_id


def test_exception_event_shape(sentry: Harness, client: raven.Client) -> None:
    """An exception event carries type, value, frames, level, platform, sdk, contexts and culprit."""
    try:
        fail("foo")
    except ValueError:
        client.captureException()
    event = sentry.event()
    (value,) = event["exception"]["values"]
    assert (value["type"], value["value"]) == ("ValueError", "foo")
    assert "module" not in value  # builtins are not named
    assert value["mechanism"]["type"] == "generic" and value["mechanism"]["handled"] is True
    frames = value["stacktrace"]["frames"]
    assert [f["function"] for f in frames[-2:]] == ["test_exception_event_shape", "fail"]
    assert frames[-1]["context_line"].strip() == "raise ValueError(message)"
    assert frames[-1]["vars"] == {"message": "'foo'"} or frames[-1]["vars"] == {"message": "foo"}
    assert event["message"] == "ValueError: foo"
    assert event["level"] == "error" and event["platform"] == "python"
    assert event["culprit"] == f"{__name__} in fail"
    assert event["server_name"] == socket.gethostname()
    assert event["contexts"]["runtime"]["version"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert event["contexts"]["os"]["name"]
    assert isinstance(event["timestamp"], (int, float))


def test_message_in_data_wins(sentry: Harness, client: raven.Client) -> None:
    """A ``message`` passed in ``data`` replaces the default ``"ValueError: foo"``."""
    try:
        fail()
    except ValueError:
        client.captureException(data={"message": "my own words"})
    assert sentry.event()["message"] == "my own words"


def _raise_and_capture(client: raven.Client, form: str) -> str | None:
    try:
        fail("form " + form)
    except ValueError as exc:
        if form == "none":
            return client.captureException()
        if form == "true":
            return client.captureException(True)
        if form == "tuple":
            return client.captureException(sys.exc_info())
        caught = exc
    # "instance": captured later, outside the except block
    return client.captureException(caught)


@pytest.mark.parametrize("form", ["none", "true", "tuple", "instance"])
def test_exc_info_forms(sentry: Harness, client: raven.Client, form: str) -> None:
    """``exc_info`` may be None, True, a ``sys.exc_info()`` tuple or an exception instance."""
    event_id = _raise_and_capture(client, form)
    event = sentry.event()
    assert event["event_id"] == event_id
    (value,) = event["exception"]["values"]
    assert value["value"] == "form " + form
    assert [f["function"] for f in value["stacktrace"]["frames"]][-2:] == [
        "_raise_and_capture",
        "fail",
    ]


def test_exception_instance_never_raised(sentry: Harness, client: raven.Client) -> None:
    """An exception that was never raised is sent without a stacktrace."""
    client.captureException(AppError("made, not raised"))
    (value,) = sentry.event()["exception"]["values"]
    assert value["type"] == "AppError" and value["module"] == __name__
    assert "stacktrace" not in value


def test_exc_info_tuple_with_only_a_type(sentry: Harness, client: raven.Client) -> None:
    """A ``(type, None, None)`` tuple is captured as an instance of that type."""
    client.captureException((KeyError, None, None))
    assert sentry.event()["exception"]["values"][0]["type"] == "KeyError"


def test_capture_exception_with_no_current_exception(receiver: Any, client: raven.Client) -> None:
    """``captureException()`` outside an ``except`` block sends nothing and returns None."""
    assert client.captureException() is None
    assert receiver.requests == []


def test_capture_exception_keyword_arguments(sentry: Harness, client: raven.Client) -> None:
    """extra, tags, level, fingerprint, logger, culprit, mechanism and data all reach the event."""
    try:
        fail()
    except ValueError:
        client.captureException(
            extra={"order": 17},
            tags={"shop": "eu"},
            level="warning",
            fingerprint=["{{ default }}", 3],
            logger="shop.checkout",
            culprit="checkout.pay",
            mechanism={"type": "django", "handled": False},
            data={"transaction": "/pay", "user": {"id": "u1"}},
        )
    event = sentry.event()
    assert event["extra"]["order"] == 17 and event["tags"] == {"shop": "eu"}
    assert event["level"] == "warning" and event["logger"] == "shop.checkout"
    assert event["fingerprint"] == ["{{ default }}", "3"]
    assert event["culprit"] == "checkout.pay" and event["transaction"] == "/pay"
    assert event["user"] == {"id": "u1"}
    mechanism = event["exception"]["values"][-1]["mechanism"]
    assert (mechanism["type"], mechanism["handled"]) == ("django", False)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("warn", "warning"),
        ("critical", "fatal"),
        (10, "debug"),
        (40, "error"),
        ("nonsense", "error"),
        ("INFO", "info"),
    ],
)
def test_levels_are_normalized(collector: CollectingClient, given: Any, sent: str) -> None:
    """Logging-style level names and numbers become Sentry levels."""
    collector.captureMessage("lvl", level=given)
    assert collector.events[-1]["level"] == sent


def test_same_exception_captured_twice_is_sent_once(sentry: Harness, client: raven.Client) -> None:
    """Capturing the same exception object again (e.g. by two layers) sends it only once."""
    try:
        fail()
    except ValueError as exc:
        first = client.captureException()
        second = client.captureException(exc)
    assert first is not None and second is None
    assert client.last_event_id == first
    sentry.event()


def test_distinct_exceptions_at_the_same_line_are_all_sent(sentry: Harness) -> None:
    """1,000 exceptions raised at the same line in a loop are 1,000 events (raven 6.10 sent 1)."""
    client = sentry.client(dsn=sentry.receiver.dsn, capture_locals=False, context_lines=0)
    ids = []
    for index in range(1000):
        try:
            raise ValueError(index)
        except ValueError:
            ids.append(client.captureException())
    assert None not in ids and len(set(ids)) == 1000
    assert client.flush(30)
    events = sentry.events(1000, timeout=30)
    assert {e["event_id"] for e in events} == set(ids)
    assert sorted(int(e["exception"]["values"][0]["value"]) for e in events) == list(range(1000))


def test_capture_message_with_params(sentry: Harness, client: raven.Client) -> None:
    """``params`` are kept and %-formatted into ``logentry.formatted``; the message stays the template."""
    event_id = client.captureMessage("user %s paid %d EUR", params=("ann", 12), level="info")
    event = sentry.event()
    assert event["event_id"] == event_id and event["level"] == "info"
    assert event["logentry"] == {
        "message": "user %s paid %d EUR",
        "params": ["ann", 12],
        "formatted": "user ann paid 12 EUR",
    }
    assert "exception" not in event and "stacktrace" not in event


def test_capture_message_with_mapping_params(sentry: Harness, client: raven.Client) -> None:
    """A dict of params formats ``%(name)s`` placeholders (as logging does with a dict argument)."""
    client.captureMessage("hello %(name)s", params={"name": "ann"})
    assert sentry.event()["logentry"]["formatted"] == "hello ann"


def test_capture_message_with_bad_params_does_not_raise(
    sentry: Harness, client: raven.Client
) -> None:
    """Params that do not fit the template leave the message unformatted instead of raising."""
    assert client.captureMessage("%s and %s", params=(1,)) is not None
    assert sentry.event()["logentry"]["formatted"] == "%s and %s"


def test_capture_message_with_stack(sentry: Harness, client: raven.Client) -> None:
    """``stack=True`` attaches the caller's stack, without Raven's own frames on top."""
    client.captureMessage("where am I", stack=True)
    frames = sentry.event()["stacktrace"]["frames"]
    assert frames[-1]["function"] == "test_capture_message_with_stack"
    assert not any(f["module"].startswith("raven.") for f in frames)


def test_capture_message_without_stack_by_default(collector: CollectingClient) -> None:
    """Messages carry no stack unless asked (``auto_log_stacks`` or ``stack=True``)."""
    collector.captureMessage("plain")
    assert "stacktrace" not in collector.events[-1]
    stacked = collecting_client(auto_log_stacks=True)
    stacked.captureMessage("stacked")
    assert (
        stacked.events[-1]["stacktrace"]["frames"][-1]["function"]
        == "test_capture_message_without_stack_by_default"
    )
    stacked.close()


def test_capture_query(sentry: Harness, client: raven.Client) -> None:
    """``captureQuery`` sends the SQL as a message from the ``db`` logger, with its engine (its
    params only with ``send_default_pii``)."""
    event_id = client.captureQuery(
        "SELECT * FROM t WHERE id = %s", params=(5,), engine="postgresql"
    )
    event = sentry.event()
    assert event["event_id"] == event_id and event["logger"] == "db"
    assert event["logentry"]["formatted"] == "SELECT * FROM t WHERE id = %s"
    assert "params" not in event["logentry"]
    assert event["extra"]["engine"] == "postgresql"


@pytest.mark.parametrize("event_type", ["raven.events.Message", "Message"])
def test_capture_generic(sentry: Harness, client: raven.Client, event_type: str) -> None:
    """``capture(event_type, ...)`` with the long or short type name sends the event."""
    event_id = client.capture(
        event_type,
        message="generic",
        data={"logger": "low.level"},
        extra={"k": "v"},
        tags={"t": "1"},
        date=datetime.datetime(2024, 1, 2, 3, 4, 5),
        time_spent=12,
    )
    event = sentry.event()
    assert event["event_id"] == event_id and event["logger"] == "low.level"
    assert event["extra"] == {"k": "v", "time_spent": 12} and event["tags"] == {"t": "1"}
    assert (
        event["timestamp"]
        == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC).timestamp()
    )


def test_build_msg_does_not_send(receiver: Any, client: raven.Client) -> None:
    """``build_msg`` returns the processed event dict and sends nothing."""
    event = client.build_msg("raven.events.Message", message="built", extra={"password": "hunter2"})
    assert HEX32.match(event["event_id"])
    assert event["logentry"]["formatted"] == "built"
    assert event["extra"]["password"] == "********"  # processors ran
    validate_event(event)
    assert receiver.requests == []
    with pytest.raises(ValueError, match="unknown event type"):
        client.build_msg("raven.events.Nope")


def test_send_override_collects_events() -> None:
    """A subclass overriding ``send`` (and ``is_enabled``) gets every event as keyword arguments."""
    seen: list[dict[str, Any]] = []

    class MyClient(raven.Client):
        def is_enabled(self) -> bool:
            return True

        def send(self, **kwargs: Any) -> None:
            seen.append(kwargs)

    client = MyClient(install_sys_hook=False)
    try:
        try:
            fail()
        except ValueError:
            event_id = client.captureException()
        client.captureMessage("second")
    finally:
        client.close()
    assert [e["event_id"] for e in seen][0] == event_id
    assert seen[0]["message"] == "ValueError: foo" and seen[1]["logentry"]["message"] == "second"
    for event in seen:
        validate_event(event)


def test_send_override_calls_the_real_send(sentry: Harness) -> None:
    """An override that calls ``super().send`` still delivers."""
    seen: list[str] = []

    class Tapping(raven.Client):
        def send(self, **data: Any) -> Any:
            seen.append(data["event_id"])
            return super().send(**data)

    client = sentry.client(cls=Tapping)
    client.captureMessage("tapped")
    assert [sentry.event()["event_id"]] == seen


def test_before_send_changes_the_event(sentry: Harness) -> None:
    """``before_send`` gets the event and a hint with exc_info; what it returns is sent."""
    hints: list[Any] = []

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        hints.append(hint)
        event["tags"]["touched"] = "yes"
        return event

    client = sentry.client(before_send=before_send)
    try:
        fail()
    except ValueError as exc:
        client.captureException()
        caught = exc
    assert sentry.event()["tags"]["touched"] == "yes"
    assert hints[0]["exc_info"] is caught


def test_before_send_drops_the_event(receiver: Any, sentry: Harness) -> None:
    """``before_send`` returning None drops the event: nothing is sent and the capture returns None."""
    client = sentry.client(before_send=lambda event, hint: None)
    assert client.captureMessage("dropped") is None
    try:
        fail()
    except ValueError:
        assert client.captureException() is None
    assert receiver.requests == []
    assert client.last_event_id is None


def test_sample_rate_zero_sends_nothing(receiver: Any, sentry: Harness) -> None:
    """``sample_rate=0`` samples everything out: captures return None."""
    client = sentry.client(sample_rate=0.0)
    assert client.captureMessage("never") is None
    assert receiver.requests == []


def test_per_call_sample_rate_overrides_the_client(sentry: Harness) -> None:
    """A ``sample_rate`` passed to the capture call wins over the client's."""
    client = sentry.client(sample_rate=0.0)
    assert client.captureMessage("always", sample_rate=1.0) is not None
    sentry.event()
    other = collecting_client(sample_rate=1.0)
    assert other.captureMessage("never", sample_rate=0) is None
    other.close()


def test_sample_rate_keeps_about_that_fraction() -> None:
    """``sample_rate=0.25`` keeps roughly a quarter of the events."""
    client = collecting_client(sample_rate=0.25)
    state = random.getstate()
    random.seed(20240101)
    try:
        kept = [client.captureMessage(f"m{i}") for i in range(400)]
    finally:
        random.setstate(state)
        client.close()
    sent = [k for k in kept if k is not None]
    assert len(sent) == len(client.events)
    assert 60 <= len(sent) <= 140


class BaseProblem(Exception):
    pass


class NestedProblem(BaseProblem):
    pass


class ThirdPartyError(KeyError):
    pass


@pytest.mark.parametrize(
    ("pattern", "ignored", "kept"),
    [
        ("NestedProblem", NestedProblem("x"), BaseProblem("x")),
        (f"{__name__}.NestedProblem", NestedProblem("x"), BaseProblem("x")),
        ("BaseProblem", NestedProblem("x"), ValueError("x")),  # matched through the MRO
        (f"{__name__}.Base*", NestedProblem("x"), ValueError("x")),
        ("*Problem", BaseProblem("x"), ValueError("x")),
        ("KeyError", ThirdPartyError("x"), ValueError("x")),
        ("builtins.LookupError", ThirdPartyError("x"), ValueError("x")),
        ("tests.core.*", ThirdPartyError("x"), KeyError("x")),
    ],
)
def test_ignore_exceptions(
    sentry: Harness, pattern: str, ignored: BaseException, kept: BaseException
) -> None:
    """``ignore_exceptions`` matches class names, dotted paths and ``*`` wildcards over the whole MRO."""
    client = sentry.client(ignore_exceptions=[pattern])
    assert not client.should_capture((type(ignored), ignored, None))
    assert client.captureException(ignored) is None
    assert client.should_capture((type(kept), kept, None))
    assert client.captureException(kept) is not None
    (event,) = sentry.events(1)
    assert event["exception"]["values"][-1]["type"] == type(kept).__qualname__


def test_ignore_exceptions_accepts_classes(collector: CollectingClient) -> None:
    """Exception classes in ``ignore_exceptions`` ignore their subclasses too."""
    client = collecting_client(ignore_exceptions=[LookupError])
    assert client.captureException(ThirdPartyError("x")) is None
    assert client.captureException(ValueError("x")) is not None
    assert len(client.events) == 1
    client.close()


def test_capture_exceptions_decorator_returns_the_result(collector: CollectingClient) -> None:
    """The decorator form returns the wrapped function's result and sends nothing on success."""

    @collector.capture_exceptions
    def add(a: int, b: int) -> int:
        return a + b

    assert add(2, 3) == 5
    assert add.__name__ == "add"
    assert collector.events == []


def test_capture_exceptions_decorator_captures_and_reraises(
    sentry: Harness, client: raven.Client
) -> None:
    """The decorator captures the exception and re-raises it unchanged."""

    @client.capture_exceptions
    def broken() -> None:
        fail("decorated")

    with pytest.raises(ValueError, match="decorated"):
        broken()
    assert sentry.event()["exception"]["values"][-1]["value"] == "decorated"


def test_capture_exceptions_with_filter(sentry: Harness, client: raven.Client) -> None:
    """With an exception filter only matching exceptions are captured; all are re-raised."""

    @client.capture_exceptions((KeyError,))
    def lookup(kind: str) -> None:
        if kind == "key":
            raise KeyError("missing")
        fail("other")

    with pytest.raises(ValueError):
        lookup("value")
    with pytest.raises(KeyError):
        lookup("key")
    assert sentry.event()["exception"]["values"][-1]["type"] == "KeyError"


def test_capture_exceptions_context_manager(sentry: Harness, client: raven.Client) -> None:
    """``with client.capture_exceptions():`` captures and re-raises; a filter limits what is captured."""
    with pytest.raises(ValueError), client.capture_exceptions():
        fail("in a block")
    with pytest.raises(ValueError), client.capture_exceptions(KeyError):
        fail("not a key error")
    with client.capture_exceptions():
        pass
    (event,) = sentry.events(1)
    assert event["exception"]["values"][-1]["value"] == "in a block"


def test_capture_exceptions_passes_keyword_arguments(collector: CollectingClient) -> None:
    """Keyword arguments given to ``capture_exceptions`` reach the event."""
    with pytest.raises(ValueError), collector.capture_exceptions(tags={"where": "block"}):
        fail()
    assert collector.events[0]["tags"] == {"where": "block"}


def test_tags_and_extra_precedence(sentry: Harness) -> None:
    """Tags and extra merge key by key: client options < context < the capture call."""
    client = sentry.client(tags={"a": "client", "b": "client", "c": "client"})
    client.tags_context({"b": "context", "c": "context"})
    client.extra_context({"x": "context", "y": "context"})
    client.captureMessage("t", tags={"c": "call"}, extra={"y": "call"})
    event = sentry.event()
    assert event["tags"] == {"a": "client", "b": "context", "c": "call"}
    assert event["extra"] == {"x": "context", "y": "call"}


def test_tag_values_become_strings(sentry: Harness, client: raven.Client) -> None:
    """Non-string tag values are sent as strings; None values are left out."""
    client.captureMessage("t", tags={"n": 5, "b": True, "none": None})
    assert sentry.event()["tags"] == {"n": "5", "b": "True"}


def test_last_event_id_follows_captures(collector: CollectingClient) -> None:
    """``last_event_id`` is the id of the most recent capture."""
    first = collector.captureMessage("one")
    assert collector.last_event_id == first
    second = collector.captureMessage("two")
    assert collector.last_event_id == second != first


@pytest.mark.raven_errors_expected
def test_refused_connection_never_raises(sentry: Harness) -> None:
    """With the server unreachable, a synchronous capture returns normally and logs the failure."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    client = sentry.client(dsn=f"sync+http://k@127.0.0.1:{port}/1", timeout=2)
    try:
        fail()
    except ValueError:
        event_id = client.captureException()
    assert event_id is not None
    assert client.captureMessage("still fine") is not None


@pytest.mark.raven_errors_expected
def test_server_errors_never_raise(sentry: Harness) -> None:
    """A 403 or 500 answer is logged, never raised into the caller."""
    client = sentry.client()
    for status in (403, 500):
        sentry.receiver.respond_with(status)
        assert client.captureMessage(f"answered {status}") is not None
    assert [r.status for r in sentry.receiver.requests] == [403, 500]


@pytest.mark.raven_errors_expected
def test_background_sender_failure_never_raises(sentry: Harness) -> None:
    """With the default background sender and the server down, captures and close return normally."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = raven.Client(
        f"http://k@127.0.0.1:{port}/1", install_sys_hook=False, shutdown_timeout=0.2
    )
    assert client.captureMessage("into the void") is not None
    client.close(timeout=0.2)


@pytest.mark.raven_errors_expected
def test_slow_server_is_cut_off_by_timeout(sentry: Harness) -> None:
    """A server slower than ``timeout`` costs the caller about ``timeout`` seconds, never an exception."""
    sentry.receiver.respond_with(delay=1.5)
    client = sentry.client(timeout=0.2)
    started = time.monotonic()
    assert client.captureMessage("slow server") is not None
    assert time.monotonic() - started < 1.2


class ExplodingTransport(Transport):
    """A transport whose ``send_event`` always raises."""

    def send_event(self, event: dict[str, Any]) -> None:
        raise RuntimeError("transport exploded")


@pytest.mark.raven_errors_expected
def test_transport_exception_never_raises() -> None:
    """An exception inside the transport is logged and swallowed; the capture returns None."""
    client = raven.Client("https://k@host/1", transport=ExplodingTransport, install_sys_hook=False)
    try:
        fail()
    except ValueError:
        assert client.captureException() is None
    client.close()


@pytest.mark.raven_errors_expected
def test_raise_send_errors_surfaces_failures(sentry: Harness) -> None:
    """With ``raise_send_errors=True`` a refused event raises APIError (for tests and the CLI)."""
    client = sentry.client(raise_send_errors=True)
    sentry.receiver.respond_with(403, headers={"X-Sentry-Error": "bad key"})
    with pytest.raises(raven.APIError) as info:
        client.captureMessage("refused")
    assert info.value.code == 403


@pytest.mark.parametrize("message", [{"a": 1}, 123, ["x"], ValueError("boom")])
def test_non_string_message_is_sent_as_text(
    sentry: Harness, client: raven.Client, message: Any
) -> None:
    """A message that is not a string (a dict, a number, an exception) still arrives as text."""
    client.captureMessage(message)
    logentry = sentry.event()["logentry"]
    assert isinstance(logentry["message"], str) and logentry["formatted"] == str(message)


@pytest.mark.parametrize(
    ("level", "sent"),
    [(5, "debug"), (15, "debug"), (25, "info"), (35, "warning"), (45, "error"), (60, "fatal")],
)
def test_custom_numeric_levels_map_to_the_nearest_lower_level(
    sentry: Harness, client: raven.Client, level: int, sent: str
) -> None:
    """Custom logging levels (TRACE=5, NOTICE=25, ...) become the Sentry level at or below them."""
    client.captureMessage("custom level", level=level)
    assert sentry.event()["level"] == sent


def test_tags_are_made_acceptable_to_sentry(sentry: Harness, client: raven.Client) -> None:
    """Tag values lose newlines, empty tags are left out, and keys keep only characters Sentry allows."""
    client.captureMessage(
        "tags",
        tags={
            "multi": "line one\nline two",
            "empty": "",
            "": "no key",
            "path/to": "v",
            "ok.key:x-y_z": "kept",
        },
    )
    assert sentry.event()["tags"] == {
        "multi": "line one line two",
        "path_to": "v",
        "ok.key:x-y_z": "kept",
    }


@pytest.mark.parametrize("prefix", ["sync+", ""])
def test_nothing_is_sent_after_close(sentry: Harness, prefix: str) -> None:
    """After ``close()`` the client sends nothing more, with either transport, and never raises."""
    client = sentry.client(dsn=prefix + sentry.receiver.dsn)
    client.captureMessage("before close")
    client.close()
    client.captureMessage("after close")
    try:
        fail()
    except ValueError:
        client.captureException()
    sentry.events(1)
    assert client.flush(1) is True
    assert [e["logentry"]["message"] for e in sentry.receiver.events] == ["before close"]


async def test_capture_exceptions_decorates_coroutine_functions(sentry: Harness) -> None:
    """On an ``async def`` the decorator awaits it: results come back, exceptions are captured and re-raised."""
    client = sentry.client(dsn=sentry.receiver.dsn)

    @client.capture_exceptions
    async def double(value: int) -> int:
        return value * 2

    @client.capture_exceptions((KeyError,))
    async def broken() -> None:
        raise KeyError("async failure")

    assert await double(21) == 42
    with pytest.raises(KeyError):
        await broken()
    assert client.flush(10)
    assert sentry.event()["exception"]["values"][-1]["value"] == "'async failure'"


@pytest.mark.parametrize("form", ["tuple", "true", "instance"])
def test_low_level_capture_of_an_exception(
    sentry: Harness, client: raven.Client, form: str
) -> None:
    """``capture("raven.events.Exception", exc_info=...)`` accepts the same forms as captureException."""
    try:
        fail("low level")
    except ValueError as exc:
        exc_info = {"tuple": sys.exc_info(), "true": True, "instance": exc}[form]
        event_id = client.capture("raven.events.Exception", exc_info=exc_info)
    event = sentry.event()
    assert event["event_id"] == event_id and event["message"] == "ValueError: low level"
    assert event["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "fail"


def test_build_msg_for_an_exception_needs_one(client: raven.Client) -> None:
    """``build_msg`` for an exception event outside an except block raises a clear ValueError."""
    with pytest.raises(ValueError, match="no exception"):
        client.build_msg("raven.events.Exception")
