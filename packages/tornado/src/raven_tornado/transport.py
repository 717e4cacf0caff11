"""``TornadoTransport``: deliver events with Tornado's ``AsyncHTTPClient`` on the running IOLoop.

Everything HTTP-specific (envelopes, size limits, rate limits, client reports, reading the
answer) is the core's :class:`raven.transport.HTTPTransport`; this class only schedules and
performs the I/O, the way the core's background sender does with threads:

- ``send_event`` appends to a bounded queue and returns; it never waits for the network.
- Up to ``max_requests_in_flight`` worker coroutines drain the queue on the event loop. They run
  in an empty ``contextvars`` context, so they hold no request's data.
- A network error or a 5xx keeps the event and pauses every worker, exponentially longer, with
  jitter (``asyncio.sleep``, so the loop stays free).
- Dropped events are counted for client reports; a pending report rides along with the next
  event, or goes alone every 30 seconds and on flush.

The loop is the one running when an event is captured. Events captured in another thread are
handed to that loop; with no loop running anywhere (before the app starts, at exit) they are sent
from the calling thread, where blocking harms nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections import deque
from typing import Any

from raven.transport import HTTPTransport, PreparedRequest
from raven.transport.base import REPORT_INTERVAL, Backoff
from raven.transport.envelope import category_of
from raven.transport.sync import post
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

__all__ = ["TornadoTransport"]

logger = logging.getLogger("raven.tornado")


class TornadoTransport(HTTPTransport):
    """Non-blocking delivery on the asyncio/Tornado event loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[dict[str, Any] | PreparedRequest] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: AsyncHTTPClient | None = None
        self._workers = 0
        self._in_flight = 0
        self._closed = False
        self._backoff = Backoff()
        self._waiters: list[asyncio.Future[None]] = []
        self._report_timer: asyncio.TimerHandle | None = None
        self._blocking_lock = threading.Lock()
        self._session: Any = None
        self.close_at_exit()

    # -- the calling side ---------------------------------------------------------------------
    def send_event(self, event: dict[str, Any]) -> None:
        category = self.admit(event)
        if category is None:
            return
        with self._cond:
            if self._closed:
                self.record_closed(event, category)
                return
            overflow = len(self._queue) >= self.options.queue_size
            if not overflow:
                self._queue.append(event)
        if overflow:
            self.record_overflow(category)
            return
        self._schedule()

    def pending(self) -> int:
        """Events queued or being sent."""
        with self._cond:
            return len(self._queue) + self._in_flight

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the workers run on (the last one an event was captured on)."""
        return self._loop

    def _schedule(self) -> None:
        """Make sure workers run for what is queued, on whichever loop can run them."""
        current = _running_loop()
        home = self._loop
        if home is not None and home is current:
            self._kick()
            return
        if home is not None and home.is_running() and not home.is_closed():
            try:
                home.call_soon_threadsafe(self._kick)
                return
            except RuntimeError:  # closed between the check and the call
                pass
        if current is not None:
            self._bind(current)
            self._kick()
            return
        self._send_blocking()

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Adopt ``loop``; workers of a loop that stopped are gone, so forget their count."""
        old_http = self._http
        with self._cond:
            self._loop = loop
            self._http = None
            self._workers = 0
            self._in_flight = 0
            self._waiters = []
            self._report_timer = None
        if old_http is not None:
            try:
                old_http.close()
            except Exception:
                logger.debug("closing the previous loop's HTTP client failed", exc_info=True)

    # -- the event loop side --------------------------------------------------------------------
    def _kick(self) -> None:
        """Start workers up to ``max_requests_in_flight`` (runs on the home loop)."""
        loop = self._loop
        if loop is None or loop is not _running_loop():
            return
        started = 0
        with self._cond:
            while self._workers < self.options.max_requests_in_flight and self._workers < len(self._queue):
                self._workers += 1
                started += 1
        empty = contextvars.Context()  # workers carry no request's context
        for _ in range(started):
            empty.run(loop.create_task, self._work())
        if not started:
            self._wake_if_idle()

    async def _work(self) -> None:
        while True:
            wait = self._backoff.remaining()
            if wait > 0:
                await asyncio.sleep(wait)
            with self._cond:
                if not self._queue:
                    self._workers -= 1
                    break
                item = self._queue.popleft()
                self._in_flight += 1
            try:
                request = item if isinstance(item, PreparedRequest) else self._prepare(item)
                if request is not None:
                    await self._deliver(request)
            except Exception:
                logger.exception("raven could not send an event")
            finally:
                with self._cond:
                    self._in_flight -= 1
        self._after_work()

    def _prepare(self, event: dict[str, Any]) -> PreparedRequest | None:
        try:
            return self.prepare(event)
        except Exception:
            logger.exception("could not encode event; dropped")
            self.reports.record("internal_sdk_error", category_of(event))
            return None

    async def _deliver(self, request: PreparedRequest) -> None:
        if request.event_id and self.rate_limits.is_limited(request.category):
            self.reports.record("ratelimit_backoff", request.category)
            return
        http_request = HTTPRequest(
            request.url, method="POST", headers=request.headers, body=request.body,
            connect_timeout=self.timeout, request_timeout=self.timeout,
            validate_cert=bool(self.verify), ca_certs=self.verify if isinstance(self.verify, str) else None,
        )
        try:
            response = await self._client().fetch(http_request, raise_error=False)
        except Exception as exc:
            logger.debug("sending event %s failed: %s", request.event_id, exc)
            self._retry_later(request, exc)
            return
        text = response.body.decode("utf-8", "replace") if response.body else ""
        outcome = self.handle_answer(request, response.code, response.headers, text)
        if outcome == "retry":
            self._retry_later(request, None)
            return
        self._backoff.succeeded()

    def _client(self) -> AsyncHTTPClient:
        if self._http is None:
            # Our own instance: the app's shared AsyncHTTPClient and its queue stay untouched.
            self._http = AsyncHTTPClient(force_instance=True,
                                         max_clients=self.options.max_requests_in_flight)
        return self._http

    def _retry_later(self, request: PreparedRequest, exc: BaseException | None) -> None:
        """Keep the event and pause every worker, exponentially longer, with jitter."""
        self._backoff.failed()
        with self._cond:
            closed = self._closed
            if not closed:
                self._queue.appendleft(request)
        if closed:
            self.handle_failure(request, exc or ConnectionError("server unavailable at shutdown"))

    def _after_work(self) -> None:
        """A worker ran out of work: send a due client report, or plan one, and wake flushers."""
        if self.reports.pending() and not self._closed:
            due = self.reports.last_taken + REPORT_INTERVAL - time.monotonic()
            if due <= 0:
                report = self.prepare_report()
                if report is not None:
                    with self._cond:
                        self._queue.append(report)
                    self._kick()
                    return
            elif self._report_timer is None and self._loop is not None:
                self._report_timer = self._loop.call_later(due, self._report_due)
        self._wake_if_idle()

    def _report_due(self) -> None:
        self._report_timer = None
        self._after_work()

    def _idle(self) -> bool:
        return not self._queue and not self._in_flight and not self._workers

    def _wake_if_idle(self) -> None:
        with self._cond:
            if not self._idle():
                return
            waiters, self._waiters = self._waiters, []
            self._cond.notify_all()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- no loop running: send from the calling thread -------------------------------------------
    def _send_blocking(self, deadline: float | None = None) -> None:
        with self._blocking_lock:
            while True:
                with self._cond:
                    if not self._queue or (deadline is not None and time.monotonic() >= deadline):
                        return
                    item = self._queue.popleft()
                request = item if isinstance(item, PreparedRequest) else self._prepare(item)
                if request is None:
                    continue
                if request.event_id and self.rate_limits.is_limited(request.category):
                    self.reports.record("ratelimit_backoff", request.category)
                    continue
                if self._session is None:
                    import requests

                    self._session = requests.Session()
                try:
                    status, headers, text = post(self._session, request, self.timeout, self.verify)
                except Exception as exc:
                    self.handle_failure(request, exc)
                    continue
                if self.handle_answer(request, status, headers, text) == "retry" and request.event_id:
                    self.reports.record("send_error", request.category)

    # -- flush and close --------------------------------------------------------------------------
    async def flush_async(self, timeout: float | None = None) -> bool:
        """Wait, without blocking the loop, until everything queued is delivered (or ``timeout``)."""
        self._queue_report()
        loop = asyncio.get_running_loop()
        self._schedule()
        home = self._loop
        if home is not loop:
            # Workers run on a loop in another thread (or nowhere): wait in a worker thread.
            return await loop.run_in_executor(None, self.flush, timeout)
        with self._cond:
            if self._idle():
                return True
            waiter = loop.create_future()
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return False
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Blocking flush for callers outside the home loop; on it, only starts delivery.

        On the loop's own thread, waiting would stop the very loop that sends: it returns at once
        (True only if nothing is pending). Await :meth:`flush_async` there instead.
        """
        self._queue_report()
        current = _running_loop()
        home = self._loop
        if home is not None and home is current:
            self._kick()
            with self._cond:
                return self._idle()
        deadline = None if timeout is None else time.monotonic() + timeout
        if home is not None and home.is_running() and not home.is_closed():
            try:
                home.call_soon_threadsafe(self._kick)
            except RuntimeError:
                pass
            else:
                with self._cond:
                    while not self._idle():
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            return False
                        self._cond.wait(remaining if remaining is not None else 1.0)
                        if not home.is_running():
                            break
                    else:
                        return True
        self._send_blocking(deadline)
        with self._cond:
            return not self._queue

    def _queue_report(self) -> None:
        if self._closed:
            return
        report = self.prepare_report()
        if report is not None:
            with self._cond:
                self._queue.append(report)

    def close(self, timeout: float | None = None) -> bool:
        """Flush for up to ``timeout`` (default ``shutdown_timeout``), then accept nothing more.

        Called on the loop's own thread it cannot wait: queued events keep being sent for as
        long as the loop runs.
        """
        done = self.flush(self.options.shutdown_timeout if timeout is None else timeout)
        with self._cond:
            self._closed = True
            on_loop = self._loop is not None and self._loop is _running_loop()
            leftovers = [] if on_loop else list(self._queue)
            if not on_loop:
                self._queue.clear()
        for item in leftovers:
            request = item if isinstance(item, PreparedRequest) else self._prepare(item)
            if request is not None:
                self.handle_failure(request, ConnectionError("transport closed"))
        if self._session is not None:
            self._session.close()
        return done

    def at_exit(self) -> None:
        if self._queue and not self._closed:
            self.close(self.options.shutdown_timeout)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
