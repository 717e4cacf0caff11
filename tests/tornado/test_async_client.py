"""AsyncSentryClient: events leave through Tornado's AsyncHTTPClient on the running loop, with the
core's envelope, size-limit, rate-limit and client-report behaviour."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
import raven
from raven.transport import ThreadedTransport
from raven_tornado import AsyncSentryClient, TornadoTransport

from tests.receiver import Receiver, parse_envelope
from tests.relay import validate_event
from tests.tornado.apps import exception_of, make_app
from tests.tornado.conftest import CLIENT_OPTIONS, Server, flush

Serve = Callable[..., Awaitable[Server]]


def capture_error(client: AsyncSentryClient, message: str = "failure") -> str | None:
    try:
        raise RuntimeError(message)
    except RuntimeError:
        return client.captureException()


async def test_events_are_sent_on_the_running_loop(async_client: AsyncSentryClient, receiver: Receiver) -> None:
    """A capture on the loop is delivered by the loop itself as a gzipped envelope; flush() awaits it."""
    event_id = capture_error(async_client)
    transport = async_client.transport
    assert isinstance(transport, TornadoTransport)
    assert transport.loop is asyncio.get_running_loop()
    assert await async_client.flush(timeout=10) is True
    (event,) = await asyncio.to_thread(receiver.wait_for, 1)
    validate_event(event)
    assert event["event_id"] == event_id
    (request,) = receiver.requests
    assert request.path == "/api/1/envelope/"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["x-sentry-auth"].startswith("Sentry sentry_version=7")
    assert request.envelope_headers["event_id"] == event_id
    assert request.item_types == ["event"]


async def test_slow_receiver_does_not_slow_responses(serve: Serve, any_client: raven.Client,
                                                     receiver: Receiver) -> None:
    """While the server takes seconds to answer each event, failing requests are answered at once."""
    delay = 1.5
    receiver.respond_with(delay=delay)
    server = await serve(make_app(any_client))
    started = time.monotonic()
    for _ in range(5):
        assert (await server.fetch("/boom")).code == 500
    elapsed = time.monotonic() - started
    assert receiver.requests == []  # not one event has been answered yet...
    transport = any_client.transport
    assert isinstance(transport, (TornadoTransport, ThreadedTransport)) and transport.pending() == 5
    assert elapsed < delay, f"5 responses took {elapsed:.2f}s"  # ...and no response waited for one
    assert await flush(any_client, timeout=30)
    events = await asyncio.to_thread(receiver.wait_for, 5)
    for event in events:
        validate_event(event)
        assert exception_of(event)["value"] == "boom"


async def test_flush_times_out_without_blocking(async_client: AsyncSentryClient, receiver: Receiver) -> None:
    """flush(timeout) returns False when the server is slower than the timeout, True once delivered."""
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
    assert ticks >= 5  # the loop kept running other work while flush waited
    ticker.cancel()
    assert await async_client.flush(timeout=10) is True
    assert len(await asyncio.to_thread(receiver.wait_for, 1)) == 1


async def test_rate_limits_are_honoured_and_reported(async_client: AsyncSentryClient, receiver: Receiver) -> None:
    """After a 429 with X-Sentry-Rate-Limits, errors are dropped locally and counted in a client report."""
    receiver.respond_with(status=429, headers={"X-Sentry-Rate-Limits": "60:error:key"})
    capture_error(async_client, "limited")
    assert await async_client.flush(timeout=10)
    receiver.respond_with(status=200)
    for n in range(3):
        capture_error(async_client, f"dropped {n}")
    async_client.captureMessage("messages are not limited")
    assert await async_client.flush(timeout=10)
    await asyncio.to_thread(receiver.wait_until, lambda r: r.client_reports and r.events)
    assert receiver.discarded() == {("ratelimit_backoff", "error"): 3}
    (event,) = receiver.events
    assert event["logentry"]["formatted"] == "messages are not limited"
    validate_event(event)
    # The 429 itself is not counted (the server counted it); the report rides with the next event.
    assert [(r.status, r.item_types) for r in receiver.requests] == [
        (429, []), (200, ["event", "client_report"])]


async def test_queue_overflow_is_counted(receiver: Receiver) -> None:
    """Events beyond queue_size are dropped and reported as queue_overflow."""
    client = AsyncSentryClient(receiver.dsn, queue_size=2, **CLIENT_OPTIONS)
    for n in range(10):  # no await in between: the workers have not started yet
        capture_error(client, f"event {n}")
    assert await client.flush(timeout=10)
    await asyncio.to_thread(receiver.wait_until, lambda r: len(r.events) == 2 and r.client_reports)
    assert receiver.discarded() == {("queue_overflow", "error"): 8}
    assert sorted(exception_of(e)["value"] for e in receiver.events) == ["event 0", "event 1"]
    client.close(timeout=0)


async def test_oversized_event_is_trimmed_to_the_limit(receiver: Receiver) -> None:
    """An event over max_event_bytes is shrunk (frame variables, breadcrumbs, extra) to fit."""
    client = AsyncSentryClient(receiver.dsn, max_event_bytes=6000, **CLIENT_OPTIONS)
    for n in range(100):
        client.captureBreadcrumb(message=f"crumb {n} " + "y" * 300, category="bulk")
    big = {f"key{n}": "x" * 300 for n in range(50)}  # noqa: F841  (a large frame variable)
    capture_error(client, "too big")
    assert await client.flush(timeout=10)
    (event,) = await asyncio.to_thread(receiver.wait_for, 1)
    validate_event(event)
    assert exception_of(event)["value"] == "too big"
    _, items = parse_envelope(receiver.requests[0].body)
    assert len(items[0][1]) <= 6000
    client.close(timeout=0)


@pytest.mark.raven_errors_expected
async def test_refused_event_is_counted_as_send_error(async_client: AsyncSentryClient, receiver: Receiver) -> None:
    """A 4xx answer (413) drops the event without retrying, and the next report says so."""
    receiver.respond_with(status=413)
    capture_error(async_client, "refused")
    assert await async_client.flush(timeout=10)
    receiver.respond_with(status=200)
    assert await async_client.flush(timeout=10)
    await asyncio.to_thread(receiver.wait_until, lambda r: r.client_reports)
    assert receiver.discarded() == {("send_error", "error"): 1}
    assert receiver.events == []
    assert [r.status for r in receiver.requests] == [413, 200]


async def test_event_survives_a_receiver_outage(async_client: AsyncSentryClient, receiver: Receiver) -> None:
    """When the server is unreachable the event is kept and retried after a backoff."""
    receiver.stop()
    capture_error(async_client, "during outage")
    assert await async_client.flush(timeout=0.3) is False
    receiver.start()  # the same port again
    assert await async_client.flush(timeout=20) is True
    (event,) = await asyncio.to_thread(receiver.wait_for, 1)
    assert exception_of(event)["value"] == "during outage"


async def test_capture_from_another_thread_is_sent_by_the_loop(async_client: AsyncSentryClient,
                                                               receiver: Receiver) -> None:
    """An event captured in a worker thread is handed to the running loop and delivered."""
    event_id = await asyncio.to_thread(async_client.captureMessage, "from a thread")
    assert await async_client.flush(timeout=10)
    (event,) = await asyncio.to_thread(receiver.wait_for, 1)
    assert event["event_id"] == event_id
    validate_event(event)


def test_capture_without_a_running_loop_is_sent_directly(receiver: Receiver) -> None:
    """With no event loop running anywhere, the event is sent from the calling thread."""
    client = AsyncSentryClient(receiver.dsn, **CLIENT_OPTIONS)
    event_id = client.captureMessage("no loop")
    (event,) = receiver.wait_for(1)
    assert event["event_id"] == event_id
    assert client.transport is not None and client.transport.pending() == 0
    client.close()


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
    result = client.flush(1)  # no loop anywhere
    assert result

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


async def test_close_after_flush_drops_nothing(receiver: Receiver) -> None:
    """close() on the loop after an awaited flush loses no event; afterwards nothing is sent."""
    client = AsyncSentryClient(receiver.dsn, **CLIENT_OPTIONS)
    capture_error(client, "before close")
    assert await client.flush(timeout=10)
    assert client.close(timeout=0) is True
    capture_error(client, "after close")
    assert await client.flush(timeout=1)
    (event,) = await asyncio.to_thread(receiver.wait_for, 1)
    assert exception_of(event)["value"] == "before close"
    assert len(receiver.requests) == 1
    assert client.reports.totals == {("network_error", "error"): 1}  # counted, never sent
