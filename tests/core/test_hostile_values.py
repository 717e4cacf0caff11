"""A growing corpus of hostile values: each one spoils only itself, never the event, the rest of
``extra`` or ``user``, and never raises into the app. Everything is checked on what arrived at a
real loopback receiver (Relay-validated by the harness)."""
# ruff: noqa: F841  (locals in the failing frames exist only to be captured)

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import raven
from raven.exceptions import ConfigurationError
from raven.receiver import Receiver
from raven.serializer import register_repr, transform, unregister_repr

from tests.relay import validate_event

from .conftest import Harness

SURROGATE = "\udcff"  # what os.fsdecode / surrogateescape make of the byte 0xff
REPLACED = "\ufffd"


# -- the corpus -----------------------------------------------------------------------------------
class HostileStr(str):
    """A str subclass that breaks every method a serializer might call."""

    def __len__(self) -> int:
        raise RuntimeError("len exploded")

    def __getitem__(self, item: Any) -> Any:
        raise RuntimeError("slicing exploded")

    def __str__(self) -> str:
        raise RuntimeError("str exploded")

    def replace(self, *args: Any) -> Any:  # type: ignore[override]
        raise RuntimeError("replace exploded")

    def encode(self, *args: Any) -> Any:  # type: ignore[override]
        raise RuntimeError("encode exploded")


class ReprReturnsHostileStr:
    def __repr__(self) -> str:
        return HostileStr("hostile repr " * 100)

    def __str__(self) -> str:
        return HostileStr("hostile str")


class AttributeAccessRaises:
    """Every attribute lookup raises, ``__class__`` (which isinstance consults) included."""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(f"no attribute {name} for you")


class StrRaises:
    def __str__(self) -> str:
        raise RuntimeError("str exploded")

    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")


HUGE_INT = 10**5000  # past Python's int-to-str digit limit: str() raises ValueError

CORPUS: dict[str, Callable[[], Any]] = {
    "repr returns a hostile str subclass": ReprReturnsHostileStr,
    "hostile str subclass": lambda: HostileStr("x"),
    "attribute access raises": AttributeAccessRaises,
    "str and repr raise": StrRaises,
    "int past the int-to-str limit": lambda: HUGE_INT,
    "huge int as a list item": lambda: [1, HUGE_INT, 3],
    "huge int as a dict key": lambda: {HUGE_INT: "v", "k": 1},
    "lone surrogate": lambda: "caf" + SURROGATE,
    "surrogate dict key": lambda: {"k" + SURROGATE: SURROGATE},
    "mapping whose items raise": lambda: _ItemsRaise(),
}


class _ItemsRaise(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("items exploded")


@pytest.fixture(params=sorted(CORPUS))
def hostile(request: pytest.FixtureRequest) -> Any:
    return CORPUS[request.param]()


def _capture_in_frame(client: raven.Client, bad: Any) -> None:
    good = "kept"
    try:
        raise ValueError("hostile local")
    except ValueError:
        client.captureException()


# -- one bad value spoils only itself -------------------------------------------------------------
def test_hostile_value_in_extra_user_tags_and_locals_spoils_only_itself(
    sentry: Harness, hostile: Any
) -> None:
    """A hostile value in extra, user, tags, a breadcrumb and a local leaves every other value intact and the event arrives."""
    client = sentry.client()
    client.user_context({"id": 7, "bad": hostile})
    client.tags_context({"bad": hostile, "good": "yes"})
    client.extra_context({"bad": hostile, "good": "kept"})
    client.captureBreadcrumb(message="crumb", data={"bad": hostile, "good": 1})
    _capture_in_frame(client, hostile)
    event = sentry.event()
    assert event["extra"]["good"] == "kept"
    assert "bad" in event["extra"]
    assert event["user"]["id"] == "7" or event["user"]["id"] == 7
    assert event["tags"]["good"] == "yes"
    assert event["breadcrumbs"]["values"][-1]["data"]["good"] == 1
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["vars"]["good"] == "kept"
    assert "bad" in frame["vars"]


def test_hostile_value_as_message_parameter(sentry: Harness, hostile: Any) -> None:
    """A hostile message parameter spoils only the formatting, never the message event."""
    client = sentry.client()
    client.captureMessage("value: %s and %s", params=(hostile, "fine"))
    event = sentry.event()
    assert event["logentry"]["message"] == "value: %s and %s"
    assert event["logentry"]["params"][1] == "fine"


def test_hostile_fingerprint_part_spoils_only_itself(sentry: Harness) -> None:
    """A fingerprint part whose str() raises (or a huge int) becomes a placeholder; the event arrives."""
    client = sentry.client()
    client.captureMessage("m", fingerprint=["{{ default }}", HUGE_INT, StrRaises()])
    fingerprint = sentry.event()["fingerprint"]
    assert fingerprint[0] == "{{ default }}"
    assert len(fingerprint) == 3


def test_values_a_before_send_adds_are_made_encodable(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """What before_send adds after serialization (a huge int, a tuple key, nesting too deep for json) is encoded anyway, on both transports."""
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]

    def before_send(event: dict[str, Any], hint: Any) -> dict[str, Any]:
        event["extra"] = {"huge": HUGE_INT, (1, 2): "tuple key", "deep": deep, "good": "kept"}
        return event

    client = make_client(before_send=before_send)
    client.captureMessage("late values")
    assert client.flush(10)
    (event,) = receiver.wait_for(1)
    validate_event(event)
    assert event["extra"]["good"] == "kept"
    assert event["extra"]["huge"] == "<int with 16610 bits: too large to show>"
    assert event["extra"]["(1, 2)"] == "tuple key"
    assert client.reports.totals == {}


def test_huge_int_is_described_not_dropped() -> None:
    """An int past the int-to-str limit becomes a short description, as a value or a key."""
    assert transform({"n": HUGE_INT}) == {"n": "<int with 16610 bits: too large to show>"}
    assert transform({HUGE_INT: 1}) == {"<int with 16610 bits: too large to show>": 1}


def test_exception_note_whose_str_raises(sentry: Harness) -> None:
    """An exception's __notes__ holding an object whose __str__ raises keeps the good notes and the event."""
    client = sentry.client()
    try:
        exc = ValueError("noted")
        exc.__notes__ = ["first note", StrRaises(), HostileStr("x")]  # type: ignore[attr-defined]
        raise exc
    except ValueError:
        client.captureException()
    value = sentry.event()["exception"]["values"][-1]["value"]
    assert value.startswith("noted\nfirst note\n")


def test_exception_whose_str_raises_or_holds_a_huge_int(sentry: Harness) -> None:
    """An exception whose str() raises (a huge int argument) still arrives, with a placeholder value."""
    client = sentry.client()
    try:
        raise ValueError(HUGE_INT)
    except ValueError:
        client.captureException()
    assert sentry.event()["exception"]["values"][-1]["type"] == "ValueError"


def test_numpy_scalars_are_sent_as_numbers(sentry: Harness) -> None:
    """numpy scalars (not a dependency: found by duck typing) arrive as JSON numbers and booleans."""
    import numpy  # in the test environment (hatch.toml), not a dependency of Raven

    client = sentry.client()
    client.captureMessage(
        "numbers",
        extra={
            "i": numpy.int64(3),
            "f": numpy.float32(0.5),
            "b": numpy.bool_(True),
            "nan": numpy.float64("nan"),
        },
    )
    extra = sentry.event()["extra"]
    assert (extra["i"], extra["f"], extra["b"], extra["nan"]) == (3, 0.5, True, "nan")


# -- strings that cannot be encoded ---------------------------------------------------------------
@pytest.fixture(params=["sync", "threaded"])
def make_client(
    request: pytest.FixtureRequest, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., raven.Client]]:
    """Builds clients on the sync or the threaded transport (closed at teardown)."""
    # os.environ holds the byte 0xff of a non-UTF-8 environment as a surrogate escape
    monkeypatch.setenv("SENTRY_RELEASE", "1.0-" + SURROGATE)
    dsn = ("sync+" if request.param == "sync" else "") + receiver.dsn
    clients: list[raven.Client] = []

    def make(**options: Any) -> raven.Client:
        clients.append(raven.Client(dsn, install_sys_hook=False, **options))
        return clients[-1]

    yield make
    for client in clients:
        client.close(timeout=5)


def test_lone_surrogates_everywhere_are_replaced_and_the_event_arrives(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """Lone surrogates in extra, tags, user, a breadcrumb, a log message, the release and a local arrive as U+FFFD, on both transports, with no drop counted."""
    client = make_client()
    bad = "file-" + SURROGATE
    client.user_context({"username": bad, bad: "key"})
    client.tags_context({"path": bad})
    client.captureBreadcrumb(message=bad, data={"path": bad})
    logging.getLogger("tests.hostile").warning("log %s", bad)
    client.captureMessage("message " + bad, extra={"path": bad, bad: 1})
    _capture_in_frame(client, bad)
    assert client.flush(10)
    events = receiver.wait_for(2)
    for event in events:
        validate_event(event)
    # the background sender's threads may deliver them in either order
    (message,) = [e for e in events if "logentry" in e]
    (error,) = [e for e in events if "exception" in e]
    fixed = "file-" + REPLACED
    assert message["logentry"]["formatted"] == "message " + fixed
    assert message["extra"]["path"] == fixed
    assert message["extra"][fixed] == 1
    assert message["tags"]["path"] == fixed
    assert message["user"]["username"] == fixed
    assert message["release"] == "1.0-" + REPLACED
    crumbs = message["breadcrumbs"]["values"]
    assert any(c.get("message") == fixed for c in crumbs)
    assert any(c.get("message") == "log " + fixed for c in crumbs)
    assert error["exception"]["values"][-1]["stacktrace"]["frames"][-1]["vars"]["bad"] == fixed
    assert ("internal_sdk_error", "error") not in client.reports.totals
    assert ("internal_sdk_error", "default") not in client.reports.totals


def test_module_under_a_non_utf8_directory(sentry: Harness, tmp_path: Path) -> None:
    """An error raised in a module whose path holds an undecodable byte arrives, the byte replaced."""
    directory = os.path.join(os.fsencode(tmp_path), b"caf\xe9")
    os.mkdir(directory)  # Linux file systems take any bytes but "/" and NUL in a name
    source = os.path.join(directory, b"latin_module.py")
    with open(source, "wb") as fh:
        fh.write(b"def fail(client):\n    local = 'x'\n    raise KeyError('latin')\n")
    path = os.fsdecode(source)
    assert SURROGATE[:-1] + "\udce9" in path or "\udce9" in path
    spec = importlib.util.spec_from_file_location("latin_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    client = sentry.client()
    try:
        module.fail(client)
    except KeyError:
        client.captureException()
    frame = sentry.event()["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert "caf" + REPLACED in frame["abs_path"]
    assert frame["context_line"] == "    raise KeyError('latin')"


# -- slow __repr__ --------------------------------------------------------------------------------
class SlowRepr:
    calls = 0

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __repr__(self) -> str:
        type(self).calls += 1
        time.sleep(self.seconds)
        return "<slow>"


def _hold(make: Callable[[], Any], depth: int) -> None:
    held = make()
    if depth > 1:
        _hold(make, depth - 1)
    raise ValueError("slow locals")


def _three_frames(client: raven.Client, make: Callable[[], Any]) -> None:
    """Capture an error that went through three frames, each holding ``make()`` in a local."""
    try:
        _hold(make, 3)
    except ValueError:
        client.captureException()


def test_an_object_held_in_three_frames_is_represented_once(sentry: Harness) -> None:
    """The same object in three frames' locals costs one repr per capture; each frame shows it."""
    SlowRepr.calls = 0
    client = sentry.client(max_locals_time=30)
    slow = SlowRepr(0.0)
    _three_frames(client, lambda: slow)
    assert SlowRepr.calls == 1
    frames = sentry.event()["exception"]["values"][-1]["stacktrace"]["frames"]
    assert [f["vars"]["held"] for f in frames[-3:]] == ["<slow>"] * 3


def test_time_spent_on_locals_is_bounded(sentry: Harness) -> None:
    """Three distinct 1 s reprs in three frames: past max_locals_time the rest are left out, the capture returns well under 3 s, and the event says so."""
    client = sentry.client(max_locals_time=0.5)
    start = time.perf_counter()
    _three_frames(client, lambda: SlowRepr(1.0))
    elapsed = time.perf_counter() - start
    assert elapsed < 2.5
    event = sentry.event()
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["vars"]["held"] == "<slow>"  # the frame nearest the error goes first
    assert "vars" not in frames[-2] and "vars" not in frames[-3]
    assert "max_locals_time" in event["extra"]["raven.locals_omitted"]


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "soon"])
def test_max_locals_time_is_validated(value: Any) -> None:
    """max_locals_time must be a finite number of seconds >= 0; the error names the option."""
    with pytest.raises(ConfigurationError, match="max_locals_time"):
        raven.Client(max_locals_time=value)


# -- describing one's own types -------------------------------------------------------------------
class Lazy:
    """Stands for a lazy object whose repr has side effects."""

    evaluated = False

    def __repr__(self) -> str:
        Lazy.evaluated = True
        return "<evaluated>"


def test_custom_repr_option_describes_values_without_their_repr(sentry: Harness) -> None:
    """custom_repr's text replaces a value's repr (None falls through; raising is survived), even past the depth limit."""

    def custom(value: Any) -> str | None:
        if isinstance(value, Lazy):
            return "<lazy, not evaluated>"
        if isinstance(value, StrRaises):
            raise RuntimeError("custom_repr exploded")
        return None

    Lazy.evaluated = False
    client = sentry.client(custom_repr=custom, max_depth=2)
    extra = {
        "lazy": Lazy(),
        "deep": {"lazy": Lazy(), "deeper": {"lazy": Lazy()}, "ids": [1, 2]},
        "other": StrRaises(),
    }
    client.captureMessage("m", extra=extra)
    sent = sentry.event()["extra"]
    assert sent["lazy"] == "<lazy, not evaluated>"
    assert sent["deep"] == {
        "lazy": "<lazy, not evaluated>",  # at the depth limit
        "deeper": "<dict of 1 more items: deeper than max_depth>",  # its items' reprs not run
        "ids": "[1, 2]",
    }
    assert sent["other"] == "<StrRaises instance: repr failed>"
    assert not Lazy.evaluated


def test_custom_repr_must_be_callable() -> None:
    """A custom_repr that is not callable is refused at construction, naming the option."""
    with pytest.raises(ConfigurationError, match="custom_repr"):
        raven.Client(custom_repr="repr")


class WithSentryHook:
    def __sentry__(self) -> Any:
        return {"kind": "hooked", "n": 1}

    def __repr__(self) -> str:
        raise AssertionError("repr must not be called")


class BrokenSentryHook:
    def __sentry__(self) -> Any:
        raise RuntimeError("hook exploded")


def test_sentry_hook_says_what_to_send(sentry: Harness) -> None:
    """raven's __sentry__ hook: what it returns is sent (serialized); a raising hook spoils only its value."""
    client = sentry.client()
    client.captureMessage("m", extra={"obj": WithSentryHook(), "broken": BrokenSentryHook()})
    extra = sentry.event()["extra"]
    assert extra["obj"] == {"kind": "hooked", "n": 1}
    assert extra["broken"] == "<BrokenSentryHook instance: __sentry__ failed>"


def test_register_repr_by_type_and_by_predicate() -> None:
    """register_repr applies to a type and its subclasses, or to the classes a predicate accepts, until unregistered."""

    class Base:
        pass

    class Child(Base):
        pass

    class Other:
        pass

    def by_name(cls: type) -> bool:
        return cls.__name__ == "Other"

    register_repr(Base, lambda value: f"<{type(value).__name__} described>")
    register_repr(by_name, lambda value: "<other described>")
    try:
        assert transform([Base(), Child(), Other()]) == [
            "<Base described>",
            "<Child described>",
            "<other described>",
        ]
    finally:
        unregister_repr(Base)
        unregister_repr(by_name)
    assert transform(Child()).startswith("<")
    assert "described" not in transform(Child())


# -- deep recursion -------------------------------------------------------------------------------
def test_recursion_error_under_the_decorator_is_reported_once(
    sentry: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """A decorated recursive function hitting the recursion limit raises its own RecursionError, reported once, with nothing printed."""
    client = sentry.client()

    @client.capture_exceptions
    def recurse(n: int) -> int:
        return recurse(n + 1)

    with pytest.raises(RecursionError) as info:
        recurse(0)
    assert info.value.__context__ is None  # no second RecursionError raised from Raven's code
    event = sentry.event()
    assert event["exception"]["values"][-1]["type"] == "RecursionError"
    captured = capsys.readouterr()
    assert captured.err.count("\n") < 5
    assert sys.getrecursionlimit() >= 1000
