"""One mechanism for telemetry that is buffered and shipped in batches (logs, metrics): a
bounded buffer filled on the app's threads, emptied by one background thread.

:meth:`Batcher.add` is all the app's thread pays: a ``deque.append`` and a length check. The
background thread (``raven-batcher``) hands what was added to ``ship`` as soon as a batch is
full, and everything at least every ``interval`` seconds. :meth:`Batcher.flush` ships what is
buffered now, from the calling thread (``Client.flush``/``close``, and at interpreter exit,
before the transports close).

The buffer is bounded (``max_entries``). When an app thread outruns the background thread and
finds it full, it ships the oldest batch itself before adding (the caller runs the work): the
buffer stays within its bound, a burst slows its own thread down instead of losing records,
and nothing is dropped here while the transport accepts. What the transport cannot take
(its queue full, a rate limit) it counts in client reports itself.

Anything logged while a thread ships (by a callback, a processor, the transport's libraries)
is Raven's own: :func:`is_shipping` is true then, and the logging hook leaves it alone.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from ..guard import capture_internal_errors

__all__ = ["Batcher", "is_shipping", "pack"]

_local = threading.local()
FLUSH_WAIT = 5.0  # seconds flush() waits for batches another thread is shipping
_live: weakref.WeakSet[Batcher] = weakref.WeakSet()
_process_hooks_registered = False


def is_shipping() -> bool:
    """True on the batcher thread, and on any thread while it ships a batch."""
    return getattr(_local, "shipping", False)


class Batcher:
    """Entries added from any thread, handed to ``ship(entries)`` in batches of at most
    ``batch_size`` from a background thread (see the module's docstring)."""

    def __init__(
        self,
        ship: Callable[[list[Any]], None],
        *,
        name: str,
        batch_size: int = 100,
        max_entries: int = 1000,
        interval: float = 5.0,
    ) -> None:
        self.ship = ship
        self.name = name
        self.batch_size = batch_size
        self.max_entries = max(max_entries, batch_size)
        self.interval = interval
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        """Fresh state, no thread: at construction and in a forked child (whose copy of the
        buffer is its parent's to ship)."""
        self._buffer: deque[Any] = deque()
        # Taking a batch out: whole batches, in order. Re-entrant: a signal handler that logs on
        # the thread holding it must not wait on its own thread.
        self._take_lock = threading.RLock()
        self._shipped = threading.Condition(self._take_lock)  # a batch was handed over
        self._in_hand = 0  # batches taken out and not yet handed to ``ship``'s end
        self._wake = threading.Event()
        self._woken = False  # a full batch already woke the thread
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- the app's threads ---------------------------------------------------------------------
    def add(self, entry: Any) -> None:
        """Buffer ``entry``; never waits for the network."""
        buffer = self._buffer
        buffer.append(entry)
        if len(buffer) >= self.batch_size or self._thread is None:
            self._after_add()

    def _after_add(self) -> None:
        if self._closed:  # after close(): shipped at once (the transport counts it as closed)
            self.flush()
        elif self._thread is None:
            self._start()
        elif len(self._buffer) > self.max_entries:
            self._ship_batch()  # outrun: this thread ships the oldest batch itself
        elif not self._woken:
            self._woken = True
            self._wake.set()

    def _start(self) -> None:
        with self._take_lock:
            if self._thread is not None:
                return
            _register_process_hooks()
            thread = threading.Thread(
                target=_run,
                args=(weakref.ref(self), self._wake, self.interval),
                name=f"raven-batcher-{self.name}",
                daemon=True,
            )
            self._thread = thread
        thread.start()

    # -- shipping --------------------------------------------------------------------------------
    def _take(self, limit: int) -> list[Any]:
        """Up to ``limit`` of the oldest entries, removed from the buffer (counted in hand)."""
        buffer = self._buffer
        with self._take_lock:
            count = min(limit, len(buffer))
            if count:
                self._in_hand += 1
            return [buffer.popleft() for _ in range(count)]

    def _ship_batch(self) -> int:
        """Ship the oldest batch from this thread; how many entries it held."""
        was = getattr(_local, "shipping", False)
        _local.shipping = True
        try:
            batch = self._take(self.batch_size)
            if batch:
                try:
                    with capture_internal_errors("transport", f"shipping a {self.name} batch"):
                        self.ship(batch)
                finally:
                    with self._shipped:
                        self._in_hand -= 1
                        self._shipped.notify_all()
            return len(batch)
        finally:
            _local.shipping = was

    def ship_due(self, everything: bool) -> None:
        """Ship every full batch, and with ``everything`` the last partial one too."""
        self._woken = False
        while len(self._buffer) >= (1 if everything else self.batch_size):
            if not self._ship_batch():
                break

    def flush(self, timeout: float = FLUSH_WAIT) -> None:
        """Ship everything buffered now, from the calling thread, and wait (up to ``timeout``
        seconds) for the batches other threads are shipping: once it returns, the transport
        holds everything that was added before."""
        self.ship_due(everything=True)
        if is_shipping():
            return  # called from a ship (a callback): what is in hand includes this thread's
        deadline = time.monotonic() + timeout
        with self._shipped:
            while self._in_hand and (remaining := deadline - time.monotonic()) > 0:
                self._shipped.wait(remaining)

    def close(self) -> None:
        """Ship what is buffered and stop the thread; later entries are shipped as they come."""
        self._closed = True
        self.flush()
        self._wake.set()
        self._thread = None

    def __len__(self) -> int:
        return len(self._buffer)


def _run(ref: weakref.ref[Batcher], wake: threading.Event, interval: float) -> None:
    """The background thread: holds its batcher weakly while it waits, so that a client the
    app drops (never closed) is collected and the thread ends."""
    _local.shipping = True
    deadline = time.monotonic() + interval
    while True:
        woken = wake.wait(max(0.0, deadline - time.monotonic()))
        batcher = ref()
        if batcher is None or batcher._closed:
            return
        wake.clear()
        due = time.monotonic() >= deadline
        batcher.ship_due(everything=due or not woken)
        if due or not woken:
            deadline = time.monotonic() + interval
        del batcher


def pack(sizes: list[int], max_items: int, max_bytes: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` slices of items with these encoded ``sizes`` such that each slice holds at
    most ``max_items`` and, joined in ``{"items":[...]}``, at most ``max_bytes`` (an item larger
    than that on its own is a slice alone, for the transport to refuse and count)."""
    start, total = 0, 0
    overhead = len(b'{"items":[]}')
    for index, size in enumerate(sizes):
        grown = total + size + (1 if index > start else 0)
        if index > start and (index - start >= max_items or overhead + grown > max_bytes):
            yield start, index
            start, grown = index, size
        total = grown
    if start < len(sizes):
        yield start, len(sizes)


# -- process events: exit and fork ------------------------------------------------------------------
def _register_process_hooks() -> None:
    """At exit, ship every buffer before the transports close (``atexit`` runs the hooks
    registered last first, and the transports registered theirs when the client was made);
    in a forked child, start over empty."""
    global _process_hooks_registered
    if _process_hooks_registered:
        return
    _process_hooks_registered = True
    atexit.register(_flush_all_at_exit)
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _flush_all_at_exit() -> None:
    for batcher in list(_live):
        with capture_internal_errors("transport", f"shipping {batcher.name} at exit"):
            batcher.close()


def _after_fork_in_child() -> None:
    for batcher in list(_live):
        batcher._reset()
