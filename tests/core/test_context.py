"""Context: merge semantics, scopes, and isolation between threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import raven
from raven import breadcrumbs

from .conftest import CollectingClient, Harness


def test_merge_replaces_top_level_keys_and_merges_tags_and_extra(
    collector: CollectingClient,
) -> None:
    """``merge`` replaces top-level keys (user, request) but merges tags, extra and contexts key by key."""
    ctx = collector.context
    ctx.merge(
        {
            "user": {"id": "1", "email": "a@example.com"},
            "tags": {"a": "1"},
            "extra": {"x": 1},
            "contexts": {"app": {"build": "7"}},
        }
    )
    ctx.merge(
        {
            "user": {"id": "2"},
            "tags": {"b": "2"},
            "extra": {"y": 2},
            "contexts": {"device": {"model": "m"}},
        }
    )
    data = ctx.get()
    assert data["user"] == {"id": "2"}
    assert data["tags"] == {"a": "1", "b": "2"}
    assert data["extra"] == {"x": 1, "y": 2}
    assert data["contexts"] == {"app": {"build": "7"}, "device": {"model": "m"}}


def test_context_reaches_the_event(sentry: Harness, client: raven.Client) -> None:
    """user, tags, extra, request, transaction and contexts set on the context are sent."""
    client.user_context({"id": "42", "username": "ann"})
    client.tags_context({"plan": "pro"})
    client.extra_context({"cart": [1, 2]})
    client.http_context({"url": "http://shop.example/pay", "method": "POST"})
    client.context.merge(
        {"transaction": "shop.views.pay", "contexts": {"app": {"app_version": "3"}}}
    )
    client.captureMessage("with context")
    event = sentry.event()
    assert event["user"] == {"id": "42", "username": "ann"}
    assert event["tags"] == {"plan": "pro"} and event["extra"] == {"cart": [1, 2]}
    assert event["request"] == {"url": "http://shop.example/pay", "method": "POST"}
    assert event["transaction"] == "shop.views.pay"
    assert event["contexts"]["app"] == {"app_version": "3"} and "runtime" in event["contexts"]


def test_call_arguments_win_over_context(collector: CollectingClient) -> None:
    """Keys passed to the capture call (data or keywords) win over the context's."""
    collector.context.merge({"user": {"id": "ctx"}, "transaction": "ctx", "level": "info"})
    collector.captureMessage("m", data={"user": {"id": "call"}}, transaction="kw", level="warning")
    event = collector.events[-1]
    assert (
        event["user"] == {"id": "call"}
        and event["transaction"] == "kw"
        and event["level"] == "warning"
    )


def test_with_context_is_a_fresh_scope_undone_at_exit(collector: CollectingClient) -> None:
    """Inside ``with client.context`` the scope starts empty; at exit the outer data is back."""
    collector.tags_context({"outer": "1"})
    collector.captureBreadcrumb(message="outer crumb")
    with collector.context:
        assert collector.context.get() == {}
        collector.tags_context({"inner": "1"})
        collector.captureMessage("inside")
    collector.captureMessage("outside")
    inside, outside = collector.events
    assert inside["tags"] == {"inner": "1"} and "breadcrumbs" not in inside
    assert outside["tags"] == {"outer": "1"}
    assert [c["message"] for c in outside["breadcrumbs"]["values"]] == ["outer crumb"]


def test_nested_scopes(collector: CollectingClient) -> None:
    """Scopes nest: each exit restores exactly what its enter saw."""
    ctx = collector.context
    with ctx:
        ctx.merge({"tags": {"level": "1"}})
        with ctx:
            ctx.merge({"tags": {"level": "2"}})
            assert ctx.get()["tags"] == {"level": "2"}
        assert ctx.get()["tags"] == {"level": "1"}
    assert ctx.get() == {}


def test_clear_forgets_data_and_breadcrumbs(collector: CollectingClient) -> None:
    """``clear`` empties the current context, breadcrumbs included."""
    collector.user_context({"id": "1"})
    collector.captureBreadcrumb(message="crumb")
    collector.context.clear()
    assert collector.context.get() == {}
    collector.captureMessage("after clear")
    assert "user" not in collector.events[-1] and "breadcrumbs" not in collector.events[-1]


def test_deactivated_context_records_no_breadcrumbs(collector: CollectingClient) -> None:
    """``raven.breadcrumbs.record`` reaches a context only while it is active."""
    collector.context.deactivate()
    breadcrumbs.record(message="while inactive")
    collector.context.activate()
    breadcrumbs.record(message="while active")
    assert [c["message"] for c in collector.context.breadcrumbs.get_buffer()] == ["while active"]


def test_context_is_dict_like() -> None:
    """A standalone ``raven.Context`` supports merge, get, ``in``, item access and iteration."""
    ctx = raven.Context()
    ctx.merge({"user": {"id": "1"}}, activate=False)
    assert "user" in ctx and ctx["user"] == {"id": "1"} and list(ctx) == ["user"]
    copy = ctx.get()
    copy["user"]["id"] = "changed"
    assert ctx["user"] == {"id": "1"}  # get() hands out a copy


def test_new_thread_starts_with_a_copy_of_the_context(collector: CollectingClient) -> None:
    """A thread starts with a copy of its starter's context; what it changes stays in the thread
    (``propagate_context_to_threads``, see test_threads.py)."""
    collector.user_context({"id": "main"})
    seen: list[dict[str, Any]] = []

    def work() -> None:
        seen.append(collector.context.get())
        collector.tags_context({"thread": "yes"})

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [{"user": {"id": "main"}}]
    assert collector.context.get() == {"user": {"id": "main"}}


def test_isolation_across_200_threads(sentry: Harness) -> None:
    """200 threads set user, tags and a breadcrumb at the same time; each event carries only its own."""
    client = sentry.client(dsn=sentry.receiver.dsn)
    count = 200
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with client.context:
                client.user_context({"id": f"user-{index}"})
                client.tags_context({"worker": str(index)})
                client.captureBreadcrumb(message=f"crumb-{index}")
                barrier.wait(timeout=30)  # every thread has set its context before anyone captures
                try:
                    raise ValueError(index)
                except ValueError:
                    client.captureException(extra={"index": index})
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
        assert event["user"] == {"id": f"user-{index}"}
        assert event["tags"] == {"worker": str(index)}
        assert [c["message"] for c in event["breadcrumbs"]["values"]] == [f"crumb-{index}"]
    assert client.context.get() == {}


async def test_isolation_across_200_asyncio_tasks(sentry: Harness) -> None:
    """200 concurrent tasks set user and tags and interleave; each event carries only its own."""
    client = sentry.client(dsn=sentry.receiver.dsn)
    client.tags_context({"process": "shared"})  # set before the tasks: every task inherits it
    count = 200
    all_set = asyncio.Event()
    ready = 0

    async def handle(index: int) -> None:
        nonlocal ready
        client.user_context({"id": f"user-{index}"})
        client.tags_context({"task": str(index)})
        client.captureBreadcrumb(message=f"crumb-{index}")
        ready += 1
        if ready == count:
            all_set.set()
        await all_set.wait()  # every task has set its context before anyone captures
        await asyncio.sleep(0)
        client.captureMessage("task %s", params=(index,), extra={"index": index})

    await asyncio.gather(*(handle(i) for i in range(count)))
    assert await asyncio.to_thread(client.flush, 30)
    events = sentry.events(count, timeout=30)
    for event in events:
        index = event["extra"]["index"]
        assert event["user"] == {"id": f"user-{index}"}
        assert event["tags"] == {"process": "shared", "task": str(index)}
        assert [c["message"] for c in event["breadcrumbs"]["values"]] == [f"crumb-{index}"]
    assert client.context.get() == {
        "tags": {"process": "shared"}
    }  # nothing leaked out of the tasks


async def test_task_scope_with_context_manager(collector: CollectingClient) -> None:
    """``with client.context`` inside a task starts empty even when the parent had data."""
    collector.user_context({"id": "parent"})

    async def child() -> dict[str, Any]:
        with collector.context:
            collector.tags_context({"child": "1"})
            return collector.context.get()

    assert await asyncio.create_task(child()) == {"tags": {"child": "1"}}
    assert collector.context.get() == {"user": {"id": "parent"}}


def test_lazy_request_and_user_are_computed_only_at_capture(collector: CollectingClient) -> None:
    """Callables set for request/user/transaction run only when an event is captured, once per event."""
    calls: list[str] = []

    def request() -> dict[str, Any]:
        calls.append("request")
        return {"url": "http://example.com/lazy", "method": "GET"}

    collector.context.merge(
        {
            "request": request,
            "user": lambda: {"id": "lazy-user"},
            "transaction": lambda: "lazy.view",
        }
    )
    assert calls == []
    collector.captureMessage("now")
    (event,) = collector.events
    assert calls == ["request"]
    assert event["request"]["url"] == "http://example.com/lazy"
    assert event["user"] == {"id": "lazy-user"} and event["transaction"] == "lazy.view"


def test_failing_lazy_value_is_left_out_and_the_event_still_sent(
    collector: CollectingClient,
) -> None:
    """A lazy value that raises is left out of the event; the capture itself succeeds."""

    def broken() -> dict[str, Any]:
        raise RuntimeError("request is gone")

    collector.context.merge({"request": broken, "user": {"id": 7}})
    assert collector.captureMessage("still sent")
    (event,) = collector.events
    assert "request" not in event and event["user"] == {"id": 7}


def test_user_context_is_laid_over_a_lazy_user(collector: CollectingClient) -> None:
    """An integration's lazy user is computed at capture; what the app merges later is laid over
    it key by key instead of hiding it."""
    computed: list[int] = []

    def lazy_user() -> dict[str, str]:
        computed.append(1)
        return {"id": "42", "segment": "free"}

    collector.context.merge({"user": lazy_user})
    collector.user_context({"segment": "paid"})
    assert computed == []  # nothing computed before a capture
    collector.captureMessage("checkout")
    assert collector.events[-1]["user"] == {"id": "42", "segment": "paid"}
