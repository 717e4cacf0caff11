"""The background sender, the default transport.

The calling thread only appends the finished event to a bounded queue. An encoder thread turns
events into compressed envelopes (so a backlog is held compactly, bounded by bytes), and a few
sender threads POST them over keep-alive connections, backing off while the server is down or
erroring. Nothing is dropped without being counted for the next client report.

Every wake-up of a background thread costs the app's threads more than the work it does (GIL
hand-offs while the app waits on its database or network): the encoder, once woken, lets events
gather for ``ENCODER_LINGER`` and encodes them in one pass. When the senders wake is
:mod:`raven.transport.workers`'s part.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import weakref
from collections import deque
from typing import Any

from ..guard import capture_internal_errors
from .base import REPORT_INTERVAL, Backoff, PreparedRequest
from .envelope import category_of, drops_of
from .fork import import_sending_modules, track, warm_up
from .queued import Queued, built, compact, expand, queued_size
from .workers import Keep, SenderThreads, stop_threads, thread_main, waiter

__all__ = ["ThreadedTransport"]

logger = logging.getLogger("raven.transport")

# How long flush() without a timeout waits at most (documented in the README's delivery table).
DEFAULT_FLUSH_TIMEOUT = 30.0
ENCODING_AT_CLOSE_TIMEOUT = 1.0  # close() waits this long at most for the event being encoded
ENCODER_LINGER = 0.02  # a woken encoder waits this long for more events (flush() cuts it short)
ENCODER_BATCH = 64  # ... unless this many are already queued
ENCODER_BURST = 0.002  # then encodes this long at most before letting the app's threads run


class ThreadedTransport(SenderThreads):
    """Non-blocking delivery: ``send_event`` never waits for the network."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outbox = None
        if self.options.outbox_path:
            from .outbox import Outbox

            try:
                self._outbox = Outbox(
                    self.options.outbox_path,
                    self.options.outbox_max_events,
                    self.options.outbox_max_bytes,
                    self.reports,
                )
            except OSError as exc:  # read-only or not creatable: start without it, say so once
                logger.warning(
                    "option 'outbox_path': cannot use %r (%s); the outbox is disabled",
                    self.options.outbox_path,
                    exc,
                )
        self._reset_state()
        track(self)
        self.close_at_exit()
        if self._outbox is not None and self._outbox.unclaimed:
            # Events left by an earlier process: send them now, not after our first capture.
            with self._cond:
                self._start()
        else:
            warm_up()

    def _reset_state(self) -> None:
        """Fresh queues, locks and no threads: at construction and in a forked child."""
        # Re-entrant: a signal handler that captures while this thread is inside send_event must
        # not wait on a lock its own thread holds. One lock, three wake-ups, so that a capture
        # wakes only the encoder, not every thread.
        lock = threading.RLock()
        self._cond = threading.Condition(lock)  # the queues drained: flush() waits here
        self._raw_added = threading.Condition(lock)  # the encoder waits here
        self._ready_added = threading.Condition(lock)  # the senders wait here
        self._raw: deque[Queued] = deque()  # events as captured, compacted
        self._ready: deque[PreparedRequest] = deque()
        self._queued_bytes = 0  # raw (compacted) and ready (compressed) bytes held
        self._in_flight = 0
        self._sending: dict[PreparedRequest, float] = {}  # those in flight, since when
        self._encoding = 0  # events the encoder took from _raw and has not yet queued as requests
        self._encoder_idle = False
        self._senders_awake = 0  # senders inside _send_some
        self._sender_called = False  # a sender was notified and has not started yet
        self._encoder_ready = False  # imports done and the outbox loaded, once per thread start
        self._keep = Keep()
        self._flush_waiters = 0
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()
        self._backoff = Backoff()
        self._local = threading.local()

    # -- the calling thread ----------------------------------------------------------------------
    @property
    def builds_transactions(self) -> bool:
        """True when :meth:`send_event` takes a transaction's event not yet built, built on the
        encoder thread: ``{"type": "transaction", "spans": [...], "_profile": ..., "_build":
        TransactionEvent}`` (the spans and profile for what dropping it counts, ``drops_of``).
        Not when a subclass or the app replaced ``send_event``: it expects events."""
        return type(self).send_event is ThreadedTransport.send_event and (
            "send_event" not in self.__dict__
        )

    def send_event(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for the background threads; never waits for the network."""
        if self._pid != os.getpid():
            self._reset_state()  # forked without our at-fork hook (e.g. os.fork from C)
        category = self.admit(event)
        if category is None:
            return
        # A transaction's dict was made for this send (or is still to be built: see
        # builds_transactions) and reaches the encoder within ENCODER_LINGER: marshalling it (some
        # 15 µs for ten spans) would only cost the app's thread. While it waits it counts as an
        # event marshal could not compact (queued.UNCOMPACT_EVENT_BYTES) against the queue's
        # byte bound.
        item = event if category == "transaction" else compact(event)
        size = queued_size(item)
        if size > self.options.queue_max_bytes:
            self._queue_oversized(event, category)
            return
        with self._cond:
            if self._closed:
                closed, overflow = True, False
            else:
                closed = False
                if not self._threads:
                    self._start()
                overflow = (
                    len(self._raw) + len(self._ready) >= self.options.queue_size
                    or self._queued_bytes + size > self.options.queue_max_bytes
                )
                if not overflow:
                    self._raw.append(item)
                    self._queued_bytes += size
                    self._keep.transport = self  # alive until sent, even if the app drops us
                    if self._encoder_idle or len(self._raw) == ENCODER_BATCH:
                        self._raw_added.notify()
        if closed:
            self.record_closed(event, category)
        elif overflow:
            self._overflow(event, category)

    def _queue_oversized(self, event: dict[str, Any], category: str) -> None:
        """An event larger than the whole queue's byte bound is a size problem, not a full queue:
        trim it here (``max_event_bytes``) and queue the small request that results."""
        with capture_internal_errors("transport", "trimming an oversized event"):
            request = self.prepare(built(event))  # counts too_large itself when nothing fits
            if request is None:
                return
            with self._cond:
                closed = self._closed
                if not closed and not self._threads:
                    self._start()
            if closed:
                self.record_closed(event, category)
            else:
                self._push_ready(request)

    def _overflow(self, event: dict[str, Any], category: str) -> None:
        if self._outbox is not None:
            event = self.processed(built(event))  # nothing unscrubbed is written to disk
            event["_processed"] = True
            if self._outbox.spill_event(event, self):
                return
        self.record_overflow(category, drops_of(event, category))

    def _start(self) -> None:
        names = ["raven-encoder"] + [
            f"raven-sender-{i}" for i in range(self.options.max_requests_in_flight)
        ]
        # The threads hold the transport weakly while idle (strongly through _keep while there is
        # work): a client the app drops, never closed, takes its threads with it.
        keep = self._keep
        keep.transport = self
        ref = weakref.ref(self)
        encoder = (
            ref,
            keep,
            ThreadedTransport._encode_some,
            waiter(self._raw_added, self._raw, keep, REPORT_INTERVAL),
        )
        sender = (
            ref,
            keep,
            ThreadedTransport._send_some,
            waiter(self._ready_added, self._ready, keep, None),
        )
        threads = [threading.Thread(target=thread_main, name=names[0], args=encoder, daemon=True)]
        threads += [
            threading.Thread(target=thread_main, name=name, args=sender, daemon=True)
            for name in names[1:]
        ]
        finalizer = weakref.finalize(self, stop_threads, keep, self._raw_added, self._ready_added)
        finalizer.atexit = False  # at exit the threads still have events to send (at_exit)
        # Listed before starting: a capture from a signal handler during start() sees them.
        self._threads = threads
        for thread in threads:
            thread.start()

    def _release_if_idle(self) -> None:
        """Nothing to do: the threads stop holding the transport (lock held)."""
        if not (self._raw or self._ready or self._in_flight or self._encoding):
            self._keep.transport = None

    # -- the encoder thread ----------------------------------------------------------------------
    def _encode_some(self) -> bool:
        """Encode until the queue is empty; False once the transport is closed."""
        if not self._encoder_ready:
            self._encoder_ready = True
            try:
                import_sending_modules()
            except Exception:
                logger.exception("raven cannot import what sending needs")
            if self._outbox is not None:
                self._load_outbox()
        reported = False
        with self._cond:
            self._encoder_idle = False  # send_event stops waking us: events gather meanwhile
            if 0 < len(self._raw) < ENCODER_BATCH and not (self._flush_waiters or self._closed):
                self._raw_added.wait(ENCODER_LINGER)
        burst = time.perf_counter()
        while True:
            with self._cond:
                if self._raw:
                    queued = self._raw.popleft()
                    self._queued_bytes -= queued_size(queued)
                    item: Queued | None = queued
                    self._encoding += 1
                elif self._closed:
                    return False
                elif not reported and self.report_due():
                    item = None
                    reported = True
                    self._encoding += 1  # a periodic client report, accounted like an event
                else:
                    self._encoder_idle = True  # woken by send_event from now on
                    self._release_if_idle()
                    return True
            event = None
            try:
                if item is None:
                    request = self._periodic_report()
                else:
                    event = expand(item)  # builds a transaction left to build here
                    request = self.prepare(event)
            except Exception:
                logger.exception("could not encode event; dropped")
                if item is None:
                    self.reports.record("internal_sdk_error", "internal")
                else:  # expand failed: a transaction that could not be built, counted as one
                    lost = event if event is not None else item if isinstance(item, dict) else {}
                    self.record_dropped("internal_sdk_error", category_of(lost), lost)
                request = None
            if request is not None:
                self._push_ready(request)
            with self._cond:
                self._encoding -= 1
                if self._flush_waiters:
                    self._cond.notify_all()
                backlog = len(self._raw)
            if backlog < 100 and time.perf_counter() - burst > ENCODER_BURST:
                # Hand the GIL to the app's threads now rather than after the 5 ms switch
                # interval; under a backlog, keep encoding so the queue shrinks.
                time.sleep(0)
                burst = time.perf_counter()

    def _periodic_report(self) -> PreparedRequest | None:
        return self.prepare_report() if self.report_due() else None

    def _push_ready(self, request: PreparedRequest, front: bool = False) -> None:
        size = len(request.body)
        with self._cond:
            closed = self._closed
            # A client report (no event id) is small and never counts as overflow: dropping it
            # would count one more drop, and so on.
            full = (
                not front
                and request.event_id is not None
                and self._queued_bytes + size > self.options.queue_max_bytes
            )
            if not (closed or full):
                (self._ready.appendleft if front else self._ready.append)(request)
                self._queued_bytes += size
                self._keep.transport = self
                self._call_sender()
        if closed:
            self._lose(request)  # encoded after close(): the senders are gone, keep it on disk
        elif full:
            if self._outbox is not None and self._outbox.spill_request(request):
                return
            if request.report is not None:
                self.reports.restore(request.report)  # the counts it carried are not lost with it
            self.record_overflow(request.category, request.drops)

    def _load_outbox(self) -> None:
        """Queue what waits in the outbox, as much as the queue has room for."""
        assert self._outbox is not None
        with self._cond:
            room = self.options.queue_size - len(self._raw) - len(self._ready) - self._in_flight
            # Counted as being encoded while loading: flush() must not see an empty queue between
            # the outbox giving its files up and their requests being queued.
            self._encoding += 1
        try:
            if room >= max(
                1, self.options.queue_size // 2
            ):  # in batches: a load lists the directory
                for request in self._outbox.load(self, limit=room):
                    self._push_ready(request)
        finally:
            with self._cond:
                self._encoding -= 1
                if self._flush_waiters:
                    self._cond.notify_all()

    # -- flush and shutdown ----------------------------------------------------------------------
    def pending(self) -> int:
        """Events queued, being encoded or being sent."""
        with self._cond:
            return len(self._raw) + len(self._ready) + self._in_flight + self._encoding

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event, every event waiting in the outbox and the pending client
        report are answered for; False when some remain after ``timeout`` seconds
        (``DEFAULT_FLUSH_TIMEOUT`` when None: a server that is down never blocks forever)."""
        if self._pid != os.getpid():
            return True
        deadline = time.monotonic() + (DEFAULT_FLUSH_TIMEOUT if timeout is None else timeout)
        reported = False
        while True:
            with self._cond:
                while self._busy():
                    if not self._threads:
                        if self._closed:
                            return False
                        self._start()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        if self._outbox is not None and self._outbox.unclaimed:
                            logger.debug(
                                "flush: events still wait in the outbox %s", self._outbox.path
                            )
                        return False
                    self._flush_waiters += 1
                    if self._raw:
                        self._raw_added.notify()  # an encoder lingering for more: encode now
                    if self._ready:
                        self._ready_added.notify_all()  # every sender helps to finish
                    try:
                        self._cond.wait(min(remaining, 0.5))
                    finally:
                        self._flush_waiters -= 1
                # One report per flush: drops counted while it is sent go out with the next event
                # (or within REPORT_INTERVAL), so a stream of drops cannot keep flush() looping.
                if reported or not self.reports.pending() or self._closed or self.store:
                    return True
                if not self._threads:
                    self._start()
            report = self.prepare_report()  # drops counted meanwhile go out now, not in 30 s
            if report is None:
                return True
            reported = True
            self._push_ready(report)

    def _busy(self) -> bool:
        """Something is queued, encoded, sent, or waits in the outbox (lock held)."""
        return bool(
            self._raw
            or self._ready
            or self._in_flight
            or self._encoding
            or (self._outbox is not None and self._outbox.unclaimed)
        )

    def close(self, timeout: float | None = None) -> bool:
        """Flush for up to ``timeout`` (default ``shutdown_timeout``), then stop the threads."""
        if self._pid != os.getpid():
            return True
        done = self.flush(self.options.shutdown_timeout if timeout is None else timeout)
        with self._cond:
            self._closed = True
            self._keep.stopped = True
            leftovers = list(self._ready) + [r for e in self._raw if (r := self._safe_prepare(e))]
            sending = list(self._sending)
            self._ready.clear()
            self._raw.clear()
            self._queued_bytes = 0
            self._cond.notify_all()
            self._raw_added.notify_all()
            self._ready_added.notify_all()
            # The event the encoder holds now is kept (on disk) when it is done: wait for that,
            # briefly, or the process may end with it half encoded.
            deadline = time.monotonic() + ENCODING_AT_CLOSE_TIMEOUT
            self._flush_waiters += 1
            try:
                while self._encoding and (remaining := deadline - time.monotonic()) > 0:
                    self._cond.wait(remaining)
            finally:
                self._flush_waiters -= 1
        for request in leftovers:
            self._lose(request)
        if self._outbox is not None:
            for request in sending:  # may still succeed; if the process ends first, it is on disk
                self._outbox.spill_request(request)
        return done

    def _safe_prepare(self, item: Queued) -> PreparedRequest | None:
        with capture_internal_errors("transport", "encoding an event at close"):
            return self.prepare(expand(item))
        self.reports.record("internal_sdk_error", "error")
        return None

    def at_exit(self) -> None:
        """Say on stderr how many events are still pending, then close for up to ``shutdown_timeout``."""
        pending = self.pending()
        if pending and self._pid == os.getpid():
            print(f"raven: sending {pending} pending events", file=sys.stderr, flush=True)
        self.close(self.options.shutdown_timeout)


def __getattr__(name: str) -> Any:
    """raven-python's ``ThreadedHTTPTransport``, resolved lazily."""
    if name not in ("ThreadedHTTPTransport",):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .legacy import legacy_name

    return legacy_name(__name__, name)
