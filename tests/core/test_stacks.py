"""Stack frames: in_app, locals and their limits, source context, exception chains and groups,
hidden frames and very deep stacks."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import requests

from .conftest import CollectingClient, Harness, collecting_client


def capture(client: Any, func: Any, *args: Any) -> dict[str, Any]:
    """Call ``func``, capture what it raises, and return the event the client built."""
    try:
        func(*args)
    except BaseException:
        client.captureException()
    return client.events[-1]


def frames_of(event: dict[str, Any], index: int = -1) -> list[dict[str, Any]]:
    return event["exception"]["values"][index]["stacktrace"]["frames"]


def broken_json() -> None:
    json.loads("{not json")


def broken_url() -> None:
    requests.models.PreparedRequest().prepare_url("no scheme here", None)


def test_frame_fields(sentry: Harness, client: Any) -> None:
    """Each frame has filename (relative), abs_path, module, function (the plain name, as
    raven-python and sentry-sdk send it, so issues keep grouping after a migration), lineno and
    source."""

    class Shop:
        def pay(self) -> None:
            raise RuntimeError("declined")

    try:
        Shop().pay()
    except RuntimeError:
        client.captureException()
    frame = frames_of(sentry.event())[-1]
    assert frame["abs_path"] == __file__
    assert frame["filename"] == os.path.join("tests", "core", "test_stacks.py")
    assert frame["module"] == __name__
    assert frame["function"] == "pay"
    assert frame["context_line"].strip() == 'raise RuntimeError("declined")'
    assert frame["lineno"] > 0 and frame["in_app"] is True
    assert "self" in frame["vars"]


def test_stdlib_and_site_packages_frames_are_not_in_app(collector: CollectingClient) -> None:
    """Frames from the standard library and site-packages are not in_app; the app's frames are."""
    frames = frames_of(capture(collector, broken_json))
    assert frames[0]["in_app"] is True and frames[0]["module"] == __name__
    assert frames[-1]["module"].startswith("json") and frames[-1]["in_app"] is False
    frames = frames_of(capture(collector, broken_url))
    lib = [f for f in frames if f["module"].startswith("requests")]
    assert lib and not any(f["in_app"] for f in lib)
    event = collector.events[-1]
    assert event["culprit"] == f"{__name__} in broken_url"  # the innermost in_app frame


def test_include_paths_marks_library_frames_in_app(collector: CollectingClient) -> None:
    """``include_paths`` makes frames of the named modules in_app."""
    client = collecting_client(include_paths=["json"])
    frames = frames_of(capture(client, broken_json))
    assert all(f["in_app"] for f in frames if f["module"].startswith("json."))
    client.close()


def test_exclude_paths_marks_app_frames_not_in_app() -> None:
    """``exclude_paths`` takes the named modules out of in_app."""
    client = collecting_client(exclude_paths=["tests.core"])
    frames = frames_of(capture(client, broken_json))
    assert not any(f["in_app"] for f in frames)
    client.close()


def test_most_specific_path_rule_wins() -> None:
    """Including ``tests`` while excluding ``tests.core.test_stacks`` leaves this module out."""
    client = collecting_client(
        include_paths=["tests", "json.decoder"], exclude_paths=[__name__, "json"]
    )
    frames = frames_of(capture(client, broken_json))
    assert [f["in_app"] for f in frames if f["module"] == __name__] == [False, False]
    assert all(f["in_app"] for f in frames if f["module"] == "json.decoder")
    assert not any(f["in_app"] for f in frames if f["module"] == "json")
    client.close()


def test_string_and_list_max_length(sentry: Harness) -> None:
    """Locals and extra are cut to ``string_max_length`` characters and ``list_max_length`` items."""
    client = sentry.client(string_max_length=50, list_max_length=5)

    def work() -> None:
        text = "x" * 1000
        numbers = list(range(100))
        mapping = {f"k{i}": i for i in range(20)}
        raise ValueError(text[:10], numbers[0], mapping["k0"])

    try:
        work()
    except ValueError:
        client.captureException(extra={"long": "y" * 1000, "many": list(range(100))})
    event = sentry.event()
    variables = frames_of(event)[-1]["vars"]
    assert variables["text"] == "x" * 47 + "..."
    assert variables["numbers"] == [0, 1, 2, 3, 4]
    assert len(variables["mapping"]) == 6 and variables["mapping"]["..."] == "15 more items"
    assert event["extra"]["long"] == "y" * 47 + "..."
    assert event["extra"]["many"] == [0, 1, 2, 3, 4]


def test_capture_locals_off(sentry: Harness) -> None:
    """``capture_locals=False`` sends frames without ``vars``."""
    client = sentry.client(capture_locals=False)
    secret_local = "not sent"
    try:
        raise ValueError(secret_local)
    except ValueError:
        client.captureException()
    assert not any("vars" in f for f in frames_of(sentry.event()))


def test_context_lines(collector: CollectingClient) -> None:
    """``context_lines`` sets how many lines of source come before and after; 0 sends none."""
    client = collecting_client(context_lines=2)
    frame = frames_of(capture(client, broken_json))[0]
    assert len(frame["pre_context"]) == 2 and len(frame["post_context"]) == 2
    client.close()
    client = collecting_client(context_lines=0)
    frame = frames_of(capture(client, broken_json))[0]
    assert not {"pre_context", "context_line", "post_context"} & set(frame)
    client.close()
    frame = frames_of(capture(collector, broken_json))[0]
    assert len(frame["pre_context"]) == 5 and len(frame["post_context"]) == 5


def cause_chain() -> None:
    try:
        raise KeyError("low level")
    except KeyError as exc:
        raise RuntimeError("high level") from exc


def context_chain() -> None:
    try:
        raise KeyError("first")
    except KeyError:
        raise RuntimeError("during handling")


def suppressed_chain() -> None:
    try:
        raise KeyError("hidden")
    except KeyError:
        raise RuntimeError("clean") from None


def test_cause_chain(sentry: Harness, client: Any) -> None:
    """``raise ... from exc`` sends both, the cause first, linked by exception_id/parent_id."""
    try:
        cause_chain()
    except RuntimeError:
        client.captureException()
    cause, top = sentry.event()["exception"]["values"]
    assert (cause["type"], top["type"]) == ("KeyError", "RuntimeError")
    assert top["mechanism"]["exception_id"] == 0
    assert cause["mechanism"]["parent_id"] == 0 and cause["mechanism"]["source"] == "__cause__"
    assert cause["stacktrace"]["frames"][-1]["function"] == "cause_chain"


def test_context_chain(sentry: Harness, client: Any) -> None:
    """An exception raised while handling another carries it as ``__context__``."""
    try:
        context_chain()
    except RuntimeError:
        client.captureException()
    first, top = sentry.event()["exception"]["values"]
    assert (first["value"], top["value"]) == ("'first'", "during handling")
    assert first["mechanism"]["source"] == "__context__"


def test_suppressed_context_is_left_out(sentry: Harness, client: Any) -> None:
    """``raise ... from None`` hides the context: only the new exception is sent."""
    try:
        suppressed_chain()
    except RuntimeError:
        client.captureException()
    (value,) = sentry.event()["exception"]["values"]
    assert value["value"] == "clean"


def test_long_and_cyclic_chains_are_bounded(collector: CollectingClient) -> None:
    """A chain that loops back on itself, or is very long, is cut instead of looping forever."""
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    collector.captureException(a)
    assert [v["value"] for v in collector.events[-1]["exception"]["values"]] == ["b", "a"]
    head = ValueError(0)
    current = head
    for index in range(1, 100):
        nxt = ValueError(index)
        current.__cause__ = nxt
        current = nxt
    collector.captureException(head)
    assert len(collector.events[-1]["exception"]["values"]) == 25


def grouped() -> None:
    errors: list[Exception] = []
    for index in range(2):
        try:
            raise ValueError(f"member {index}")
        except ValueError as exc:
            errors.append(exc)
    raise ExceptionGroup("two failures", [*errors, ExceptionGroup("inner", [KeyError("deep")])])  # noqa: F821


def test_exception_group_members_are_sent(sentry: Harness, client: Any) -> None:
    """An ExceptionGroup is sent with each member (nested groups too), linked to its group."""
    try:
        grouped()
    except ExceptionGroup:  # noqa: F821  (Python 3.11+, like the dev environment)
        client.captureException()
    values = sentry.event()["exception"]["values"]
    by_value = {v["value"]: v for v in values}
    assert set(by_value) == {
        "two failures (3 sub-exceptions)",
        "member 0",
        "member 1",
        "inner (1 sub-exception)",
        "'deep'",
    }
    top = values[-1]
    assert top["type"] == "ExceptionGroup" and top["mechanism"]["is_exception_group"] is True
    top_id = top["mechanism"]["exception_id"]
    assert by_value["member 1"]["mechanism"]["parent_id"] == top_id
    assert by_value["member 1"]["mechanism"]["source"] == "exceptions[1]"
    inner_id = by_value["inner (1 sub-exception)"]["mechanism"]["exception_id"]
    assert by_value["'deep'"]["mechanism"]["parent_id"] == inner_id
    assert by_value["member 0"]["stacktrace"]["frames"][-1]["function"] == "grouped"


def test_exception_notes_are_part_of_the_value(collector: CollectingClient) -> None:
    """``add_note`` text is appended to the exception's value."""
    exc = ValueError("base")
    exc.add_note("while loading config")
    collector.captureException(exc)
    assert collector.events[-1]["exception"]["values"][0]["value"] == "base\nwhile loading config"


def hidden_helper() -> None:
    __traceback_hide__ = True  # noqa: F841
    raise ValueError("from a hidden frame")


def visible_caller() -> None:
    hidden_helper()


def test_traceback_hide(sentry: Harness, client: Any) -> None:
    """Frames whose locals set ``__traceback_hide__`` are left out of the stack."""
    try:
        visible_caller()
    except ValueError:
        client.captureException()
    functions = [f["function"] for f in frames_of(sentry.event())]
    assert functions[-1] == "visible_caller" and "hidden_helper" not in functions


def recurse(depth: int) -> None:
    if depth == 0:
        raise ValueError("bottom")
    recurse(depth - 1)


def test_very_deep_stack_is_trimmed_from_the_middle(sentry: Harness, client: Any) -> None:
    """A 500-frame stack keeps its outermost and innermost frames and drops the middle."""
    try:
        recurse(500)
    except ValueError:
        client.captureException()
    stacktrace = sentry.event()["exception"]["values"][-1]["stacktrace"]
    frames = stacktrace["frames"]
    assert len(frames) == 100
    assert frames[0]["function"] == "test_very_deep_stack_is_trimmed_from_the_middle"
    assert frames[-1]["context_line"].strip() == 'raise ValueError("bottom")'
    assert frames[-1]["vars"]["depth"] == 0 and frames[-2]["vars"]["depth"] == 1
    assert frames[1]["vars"]["depth"] == 500
    assert stacktrace["frames_omitted"] == [50, 50 + 402]


def test_max_stack_frames_option() -> None:
    """``max_stack_frames`` sets how many frames a deep stack keeps."""
    client = collecting_client(max_stack_frames=10)
    frames = frames_of(capture(client, recurse, 50))
    assert len(frames) == 10 and frames[-1]["vars"]["depth"] == 0
    client.close()


def test_recursion_error_is_captured(sentry: Harness, client: Any) -> None:
    """A real RecursionError (a stack as deep as Python allows) is captured and sent."""

    def forever(n: int) -> int:
        return forever(n + 1) + 1

    try:
        forever(0)
    except RecursionError:
        client.captureException()
    event = sentry.event()
    assert event["exception"]["values"][-1]["type"] == "RecursionError"
    assert len(frames_of(event)) == 100 and sys.getrecursionlimit() > 100


def test_raven_frames_are_not_in_app(collector: CollectingClient) -> None:
    """Frames inside Raven itself are never in_app, even though Raven is not in site-packages here."""
    from raven.dsn import Dsn

    frames = frames_of(capture(collector, Dsn.parse, "not a dsn"))
    assert frames[-1]["module"] == "raven.dsn" and frames[-1]["in_app"] is False
    assert frames[0]["in_app"] is True
