"""AsyncSentryClient: events leave through the core's background transport, so the IOLoop never
waits for Sentry, and ``flush()`` can be awaited on the loop and blocks anywhere else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import raven
from raven.transport import ThreadedTransport
from raven_tornado import AsyncSentryClient

from tests.receiver import Receiver
from tests.relay import validate_event
from tests.tornado.apps import exception_of, make_app
from tests.tornado.conftest import CLIENT_OPTIONS, Server, flush

Serve = Callable[..., Awaitable[Server]]


def capture_error(client: AsyncSentryClient, message: str = "failure") -> str | None:
    try:
        raise RuntimeError(message)
    except RuntimeError:
        return client.captureException()


async def test_events_arrive_through_the_core_transport(
    async_client: AsyncSentryClient, receiver: Receiver
) -> None:
    """A capture on the loop is delivered by the core's threaded transport; ``await flush()`` waits for it."""
    assert isinstance(async_client.transport, ThreadedTransport)
    event_id = capture_error(async_client)
    assert await async_client.flush(timeout=10) is True
    (event,) = await asyncio.to_thread(receiver.wait_for, 1)
    validate_event(event)
    assert event["event_id"] == event_id
    assert exception_of(event)["value"] == "failure"


async def test_slow_receiver_does_not_slow_responses(
    serve: Serve, any_client: raven.Client, receiver: Receiver
) -> None:
    """While the server takes seconds to answer each event, failing requests are answered at once."""
    delay = 1.5
    receiver.respond_with(delay=delay)
    server = await serve(make_app(any_client))
    started = time.monotonic()
    for _ in range(5):
        assert (await server.fetch("/boom")).code == 500
    assert (await server.fetch("/context")).code == 200  # a handler that works answers too
    elapsed = time.monotonic() - started
    assert receiver.requests == []  # not one event has been answered yet...
    assert elapsed < delay, f"6 responses took {elapsed:.2f}s"  # ...and no response waited for one
    assert await flush(any_client, timeout=30)
    events = await asyncio.to_thread(receiver.wait_for, 5)
    assert len(events) == 5
    for event in events:
        validate_event(event)
        assert exception_of(event)["value"] == "boom"


async def test_awaited_flush_times_out_without_blocking(
    async_client: AsyncSentryClient, receiver: Receiver
) -> None:
    """``await flush(timeout)`` is False when the server is slower than the timeout, True once
    delivered, and the loop keeps running other work while it waits."""
    receiver.respond_with(delay=1.0)
    capture_error(async_client)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    assert await async_client.flush(timeout=0.2) is False
    assert ticks >= 5  # the loop kept running while flush waited
    ticker.cancel()
    assert await async_client.flush(timeout=10) is True
    assert len(await asyncio.to_thread(receiver.wait_for, 1)) == 1


async def test_flush_not_awaited_still_runs(
    async_client: AsyncSentryClient, receiver: Receiver
) -> None:
    """On the loop, ``flush()`` returns a task: it flushes whether or not the caller awaits it."""
    async_client.captureMessage("flushed in the background")
    task = async_client.flush(timeout=10)
    assert isinstance(task, asyncio.Task)
    await asyncio.to_thread(receiver.wait_for, 1)
    assert await task is True


def test_flush_outside_the_loop_blocks_and_is_awaitable(receiver: Receiver) -> None:
    """Off the loop's thread, flush() blocks like raven.Client.flush: truthy, and awaitable too."""
    client = AsyncSentryClient(receiver.dsn, **CLIENT_OPTIONS)
    receiver.respond_with(delay=0.2)

    async def on_loop() -> None:
        client.captureMessage("queued on the loop")
        done = await asyncio.to_thread(lambda: bool(client.flush(10)))  # another thread: blocks
        assert done is True

    asyncio.run(on_loop())
    assert len(receiver.wait_for(1)) == 1
    client.captureMessage("no loop anywhere")
    result = client.flush(10)  # no loop anywhere: blocks until delivered
    assert result
    assert len(receiver.events) == 2

    async def await_it() -> bool:
        return await result

    assert asyncio.run(await_it()) is True
    client.close()


def test_one_client_across_event_loops(receiver: Receiver) -> None:
    """A client used on one loop, then on a new one after the first closed, delivers from both."""
    client = AsyncSentryClient(receiver.dsn, **CLIENT_OPTIONS)

    async def capture_and_flush(message: str) -> bool:
        client.captureMessage(message)
        return await client.flush(timeout=10)

    assert asyncio.run(capture_and_flush("first loop"))
    assert asyncio.run(capture_and_flush("second loop"))
    events = receiver.wait_for(2)
    assert sorted(e["logentry"]["formatted"] for e in events) == ["first loop", "second loop"]
    client.close()
