"""The background sender's threads, which hold their transport weakly while idle.

A thread holds the transport strongly only while there is work (through :class:`Keep`), so that
a client the app drops, never closed, is collected and takes its threads with it.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .threaded import ThreadedTransport

__all__ = ["Keep", "stop_threads", "thread_main", "waiter"]


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
