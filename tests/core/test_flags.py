"""Feature flags: ``client.add_feature_flag`` evaluations reach error events as ``contexts.flags``
(validated by Relay's normalizer), isolated per thread, task and scope, and mark the current span."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
import raven

from tests.core.conftest import Harness


def _flags(event: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(v["flag"], v["result"]) for v in event["contexts"]["flags"]["values"]]


def _raise_and_capture(client: raven.Client, **kwargs: Any) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        client.captureException(**kwargs)


def test_flags_arrive_on_the_error_in_evaluation_order(sentry: Harness) -> None:
    """Evaluations arrive as contexts.flags, oldest first; a flag evaluated again moves to the
    end with its new result, and appears once."""
    client = sentry.client()
    client.add_feature_flag("new-checkout", True)
    client.add_feature_flag("dark_mode", False)
    client.add_feature_flag("beta.search:v2", True)
    client.add_feature_flag("new-checkout", False)
    _raise_and_capture(client)
    event = sentry.event()
    assert _flags(event) == [
        ("dark_mode", False),
        ("beta.search:v2", True),
        ("new-checkout", False),
    ]


def test_only_the_latest_100_evaluations_are_kept(sentry: Harness) -> None:
    """150 distinct flags: the event carries the last 100, in order; re-evaluating an old one
    that is still kept moves it to the end without dropping another."""
    client = sentry.client()
    for i in range(150):
        client.add_feature_flag(f"flag-{i}", i % 2 == 0)
    client.add_feature_flag("flag-60", True)  # kept, moves to the end
    client.captureMessage("with flags")
    flags = _flags(sentry.event())
    assert len(flags) == 100
    expected = [f"flag-{i}" for i in range(50, 150) if i != 60] + ["flag-60"]
    assert [name for name, _ in flags] == expected
    assert flags[-1] == ("flag-60", True)


def test_no_flags_no_context(sentry: Harness) -> None:
    """An event of a scope that evaluated no flag has no contexts.flags."""
    client = sentry.client()
    client.captureMessage("plain")
    assert "flags" not in sentry.event()["contexts"]


@pytest.mark.parametrize(
    ("name", "result"),
    [("ok", 1), ("ok", "true"), ("ok", None), (42, True), (None, False), ("has space", True)],
)
def test_bad_arguments_are_logged_once_and_ignored(
    sentry: Harness, caplog: pytest.LogCaptureFixture, name: Any, result: Any
) -> None:
    """A non-bool result, a non-str name or a name Sentry refuses never raises: one warning on
    raven.*, however many calls, and the flag is not sent."""
    client = sentry.client()
    with caplog.at_level(logging.WARNING, logger="raven"):
        for _ in range(3):
            client.add_feature_flag(name, result)
    warnings = [r for r in caplog.records if "add_feature_flag" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].name.startswith("raven")
    client.add_feature_flag("good", True)
    client.captureMessage("after bad flags")
    assert _flags(sentry.event()) == [("good", True)]


def test_a_new_scope_starts_empty_and_its_flags_end_with_it(sentry: Harness) -> None:
    """Flags set inside ``with client.context`` (what frameworks open per request) are not seen
    before or after it, and the outer flags are not seen inside."""
    client = sentry.client()
    client.add_feature_flag("outer", True)
    with client.context:
        client.add_feature_flag("inner", True)
        client.captureMessage("inside")
    client.captureMessage("outside")
    inside, outside = sentry.events(2)
    assert _flags(inside) == [("inner", True)]
    assert _flags(outside) == [("outer", True)]


def test_isolation_across_200_threads(sentry: Harness) -> None:
    """200 threads evaluate their own flags at the same time; each error carries only its own."""
    client = sentry.client(dsn=sentry.receiver.dsn)
    count = 200
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with client.context:
                client.add_feature_flag(f"thread-{index}", index % 2 == 0)
                barrier.wait(timeout=30)  # every thread has its flag before anyone captures
                client.add_feature_flag("shared-name", index % 3 == 0)
                _raise_and_capture(client, extra={"index": index})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert client.flush(30)
    events = sentry.events(count, timeout=30)
    for event in events:
        index = event["extra"]["index"]
        assert _flags(event) == [
            (f"thread-{index}", index % 2 == 0),
            ("shared-name", index % 3 == 0),
        ]


async def test_isolation_across_200_asyncio_tasks(sentry: Harness) -> None:
    """200 concurrent tasks interleave their evaluations; each event carries the flags set
    before the tasks plus its own task's, never another task's."""
    client = sentry.client(dsn=sentry.receiver.dsn)
    client.add_feature_flag("process", True)  # set before the tasks: every task inherits it
    count = 200
    all_set = asyncio.Event()
    ready = 0

    async def handle(index: int) -> None:
        nonlocal ready
        client.add_feature_flag(f"task-{index}", True)
        ready += 1
        if ready == count:
            all_set.set()
        await all_set.wait()  # every task has evaluated before anyone captures
        client.add_feature_flag(f"late-{index}", False)
        await asyncio.sleep(0)
        client.captureMessage("task %s", params=(index,), extra={"index": index})

    await asyncio.gather(*(handle(i) for i in range(count)))
    assert await asyncio.to_thread(client.flush, 30)
    for event in sentry.events(count, timeout=30):
        index = event["extra"]["index"]
        assert _flags(event) == [
            ("process", True),
            (f"task-{index}", True),
            (f"late-{index}", False),
        ]
    assert list(client.context.flags or {}) == ["process"]  # nothing leaked out of the tasks


def test_flags_mark_the_current_span_at_most_10(sentry: Harness) -> None:
    """With tracing on, an evaluation inside a span sets ``flag.evaluation.<name>`` in its data:
    the span's first 10 flags (an 11th is left out, an already marked one updated); the error
    still carries every flag."""
    client = sentry.client(traces_sample_rate=1.0)
    with client.start_transaction(name="checkout", op="task"):
        with client.start_span(op="step", description="flags"):
            for i in range(12):
                client.add_feature_flag(f"f{i}", True)
            client.add_feature_flag("f3", False)  # already marked: updated
            _raise_and_capture(client)
    assert client.flush(10)
    event = sentry.event()
    assert len(_flags(event)) == 12
    (transaction,) = sentry.receiver.wait_for_transactions(1)
    (span,) = transaction["spans"]
    marked = {k: v for k, v in span["data"].items() if k.startswith("flag.evaluation.")}
    assert marked == {f"flag.evaluation.f{i}": i != 3 for i in range(10)}
    assert not any(
        k.startswith("flag.evaluation.") for k in transaction["contexts"]["trace"].get("data", {})
    )


def test_unused_flags_cost_nothing(collector: Any) -> None:
    """A scope that never evaluated a flag holds no flag state at all."""
    with collector.context:
        assert collector.context.flags is None
        collector.add_feature_flag("x", True)
        assert dict(collector.context.flags or {}) == {"x": True}
    assert collector.context.flags is None


def test_evaluating_a_flag_keeps_the_rest_of_the_scope(sentry: Harness) -> None:
    """A flag evaluated after tags, a breadcrumb, an attachment and inside a span leaves all of
    them on the error, which stays linked to the span."""
    client = sentry.client(traces_sample_rate=1.0)
    with client.start_transaction(name="t", op="task"):
        with client.start_span(op="step") as span:
            client.tags_context({"tier": "gold"})
            client.captureBreadcrumb(message="before the flag")
            client.add_attachment(b"state", filename="state.txt")
            client.add_feature_flag("kept", True)
            event_id = client.captureMessage("after the flag")
    assert client.flush(10)
    event = next(e for e in sentry.receiver.wait_for(1) if e["event_id"] == event_id)
    sentry.validate([event])
    assert event["tags"]["tier"] == "gold"
    assert [c["message"] for c in event["breadcrumbs"]["values"]] == ["before the flag"]
    assert event["contexts"]["trace"]["span_id"] == span.span_id
    assert _flags(event) == [("kept", True)]
    assert [a["payload"] for a in sentry.receiver.attachments] == [b"state"]


def test_a_long_run_of_evaluations_keeps_the_latest_100_in_order(sentry: Harness) -> None:
    """1,000 evaluations cycling over 150 names, some re-evaluated out of turn: the event has
    the 100 names evaluated last, each once, with its last result, in the order of their last
    evaluation."""
    client = sentry.client()
    order: list[tuple[str, bool]] = []
    for i in range(1000):
        name = f"f{i % 150}" if i % 7 else "hot"
        order.append((name, i % 3 == 0))
        client.add_feature_flag(name, i % 3 == 0)
    client.captureMessage("long run")
    expected: dict[str, bool] = {}
    for name, result in order:
        expected.pop(name, None)
        expected[name] = result
    assert _flags(sentry.event()) == list(expected.items())[-100:]
