"""The background sender's threads: how they hold their transport, and the sender threads' half
of it (:class:`SenderThreads`: when another sender is woken, posting what the encoder queued,
backing off while the server is down or erroring).

A thread holds the transport strongly only while there is work (through :class:`Keep`), so that
a client the app drops, never closed, is collected and takes its threads with it.

One sender posts while it keeps up: every wake-up of a thread costs the app's threads a GIL
hand-off. Another is woken when the backlog outgrows the senders awake, when every awake sender
has waited ``SLOW_ANSWER`` for the server, or by ``flush()``. A sender takes up to
``PIPELINE_DEPTH`` waiting requests (``PIPELINE_BYTES`` of bodies) at once, for its connection
to pipeline.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .base import Backoff, HTTPTransport, PreparedRequest
from .fork import import_sending_modules

if TYPE_CHECKING:
    from .connection import Connection
    from .threaded import ThreadedTransport
    from .wire import Answer

__all__ = [
    "PIPELINE_BYTES",
    "PIPELINE_DEPTH",
    "SENDER_BACKLOG",
    "SLOW_ANSWER",
    "Keep",
    "SenderThreads",
    "stop_threads",
    "thread_main",
    "waiter",
]

logger = logging.getLogger("raven.transport")


class Keep:
    """What the transport's threads share with it: a strong reference to it while there is work
    (None while idle, so that a dropped client is collected), and whether they must stop."""

    __slots__ = ("transport", "stopped")

    def __init__(self) -> None:
        self.transport: ThreadedTransport | None = None
        self.stopped = False


def waiter(
    cond: threading.Condition, queue: deque[Any], keep: Keep, timeout: float | None
) -> Callable[[], None]:
    """Wait for ``queue`` to fill without holding the transport (built here: no ``self`` inside)."""

    def wait() -> None:
        with cond:
            while not queue and not keep.stopped:
                if not cond.wait(timeout) and timeout is not None:
                    return

    return wait


def thread_main(
    ref: weakref.ref[ThreadedTransport],
    keep: Keep,
    step: Callable[[ThreadedTransport], bool],
    wait: Callable[[], None],
) -> None:
    """A transport thread: work while there is work, then wait holding the transport weakly."""
    while not keep.stopped:
        transport = keep.transport or ref()
        if transport is None:
            return
        go_on = step(transport)
        del transport
        if not go_on:
            return
        wait()


def stop_threads(keep: Keep, *conds: threading.Condition) -> None:
    """The transport was collected: wake its idle threads so that they end."""
    keep.stopped = True
    for cond in conds:
        with cond:
            cond.notify_all()


SENDER_BACKLOG = 4  # requests waiting per awake sender before another sender is woken
SLOW_ANSWER = 0.05  # ... or once every awake sender has waited this long for an answer
PIPELINE_DEPTH = 16  # requests a sender takes at once (pipelined when the server allows it)
PIPELINE_BYTES = 1 << 20  # ... as long as their bodies add up to no more than this


class SenderThreads(HTTPTransport):
    """The sender threads' methods; the queues and the lock are the subclass's."""

    _cond: threading.Condition
    _ready_added: threading.Condition
    _ready: deque[PreparedRequest]
    _queued_bytes: int
    _in_flight: int
    _sending: dict[PreparedRequest, float]  # the requests in flight, since when
    _senders_awake: int  # senders inside _send_some
    _sender_called: bool  # a sender was notified and has not started yet
    _closed: bool
    _backoff: Backoff
    _outbox: Any
    _local: threading.local
    _push_ready: Callable[..., None]
    _release_if_idle: Callable[[], None]
    _load_outbox: Callable[[], None]

    def _call_sender(self) -> None:
        """Wake a sender if none is awake, if the backlog outgrows the awake ones, or if they all
        wait on a slow server (lock held)."""
        awake = self._senders_awake + self._sender_called
        if awake and len(self._ready) <= awake * SENDER_BACKLOG and not self._senders_stuck():
            return
        self._sender_called = True
        self._ready_added.notify()

    def _senders_stuck(self) -> bool:
        """Every awake sender has waited on the server for ``SLOW_ANSWER`` or longer."""
        if not self._sending or len(self._sending) < self._senders_awake:
            return False
        return time.monotonic() - max(self._sending.values()) > SLOW_ANSWER

    def _send_some(self) -> bool:
        """Send until the queue is empty; False once the transport is closed."""
        with self._cond:
            self._senders_awake += 1
            self._sender_called = False
        try:
            return self._send_all()
        finally:
            with self._cond:
                self._senders_awake -= 1

    def _send_all(self) -> bool:
        # raven-python's transports (adapted by .legacy) post one request at a time
        depth = PIPELINE_DEPTH if type(self).post_request is SenderThreads.post_request else 1
        while True:
            with self._cond:
                while True:
                    if self._closed and not self._ready:
                        return False
                    if not self._ready:
                        # A sender called for a request this one took finds nothing and waits
                        # again without starting: the call is answered, or it would keep every
                        # later request from waking anyone.
                        self._sender_called = False
                        self._release_if_idle()
                        return True
                    wait = self._backoff.remaining()
                    if wait <= 0:
                        break
                    self._ready_added.wait(wait)
                batch = [self._ready.popleft()]
                size = len(batch[0].body)
                while (
                    self._ready
                    and len(batch) < depth
                    and size + len(self._ready[0].body) <= PIPELINE_BYTES
                ):
                    batch.append(self._ready.popleft())
                    size += len(batch[-1].body)
                self._queued_bytes -= size
                started = time.monotonic()
                for request in batch:
                    self._sending[request] = started
                self._in_flight += len(batch)
            try:
                self._deliver(batch)
            finally:
                with self._cond:
                    self._in_flight -= len(batch)
                    for request in batch:
                        self._sending.pop(request, None)
                    self._cond.notify_all()

    def _deliver(self, batch: list[PreparedRequest]) -> None:
        requests = []
        for request in batch:
            if request.event_id and self.rate_limits.is_limited(request.category):
                self.count_lost("ratelimit_backoff", request)
                self._forget(request)
            else:
                logger.debug("sending event %s (%d bytes)", request.event_id, len(request.body))
                requests.append(request)
        if not requests:
            return
        answers, error = self._post_all(requests)
        again = []
        sent = False
        for request, (status, headers, text) in zip(requests, answers, strict=False):
            outcome = self.handle_answer(request, status, headers, text)
            if outcome == "retry":
                again.append(request)
            else:
                sent = sent or outcome == "sent"
                self._forget(request)
        if error is not None:
            logger.debug("sending event %s failed: %s", requests[len(answers)].event_id, error)
            again += requests[len(answers) :]
        if again:
            self._retry_later(again)
            return
        with self._cond:
            self._backoff.succeeded()
        if sent and self._outbox is not None and self._outbox.unclaimed:
            self._load_outbox()  # the server answers again: send what was spilled to disk

    def _post_all(self, requests: list[PreparedRequest]) -> tuple[list[Answer], Exception | None]:
        """POST ``requests`` in order: the answers to the first ones, and the error that stopped
        the others (None when all were answered)."""
        try:
            if len(requests) > 1:
                return self._connection().post_all(requests)
            return [self.post_request(requests[0])], None
        except Exception as exc:
            return [], exc

    def post_request(self, request: PreparedRequest) -> Answer:
        """POST ``request`` on this sender thread's connection: (status, headers, body text).
        raven-python's transports adapted by :mod:`raven.transport.legacy` override it."""
        return self._connection().post(request)

    def _connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            import_sending_modules()
            from .connection import Connection

            connection = self._local.connection = Connection(
                self.url, self.timeout, self.verify, self.proxies
            )
        return connection

    def _forget(self, request: PreparedRequest) -> None:
        if self._outbox is not None:
            self._outbox.forget(request)

    def _retry_later(self, requests: list[PreparedRequest]) -> None:
        """Keep the requests, in order, and pause every sender, exponentially longer, with
        jitter."""
        with self._cond:
            self._backoff.failed()
            closed = self._closed
        for request in reversed(requests):
            if closed:
                self._lose(request)
                continue
            if self._outbox is not None and request.event_id:
                self._outbox.spill_request(request)  # durable now: survives even a SIGKILL
            self._push_ready(request, front=True)

    def _lose(self, request: PreparedRequest) -> None:
        if self._outbox is not None and self._outbox.spill_request(request):
            return
        self.handle_failure(request, ConnectionError("server unreachable at shutdown"))
