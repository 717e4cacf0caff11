"""The timeout warning: a watcher thread that, ``margin`` seconds before the invocation's
deadline, reports where the handler is stuck, because Lambda kills a timed-out process without
running any of its code."""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from typing import Any

from raven.guard import capture_internal_errors
from raven.stacks import iter_stack_frames

__all__ = ["TIMEOUT_MESSAGE", "TimeoutWatch"]

TIMEOUT_MESSAGE = "function is about to time out"


class TimeoutWatch:
    """Watches one invocation; :meth:`cancel` when the handler is done.

    The watcher runs in a copy of the handler's ``contextvars`` context, so the warning carries
    the invocation's context (function, request, trigger) as the handler had it at the start.
    The warning also finishes the invocation's ``transaction`` (status ``deadline_exceeded``),
    unless the handler was done first: Lambda kills a timed-out process before it could.
    """

    def __init__(
        self,
        client: Any,
        margin: float,
        remaining: float,
        handler_thread: int,
        event_data: Callable[[], dict[str, Any]],
        flush: Callable[[], None],
        transaction: Any = None,
    ) -> None:
        self.client = client
        self.margin = margin
        self.delay = remaining - margin
        self.handler_thread = handler_thread
        self.event_data = event_data
        self.flush = flush
        self.transaction = transaction
        self._done = threading.Event()
        self._lock = threading.Lock()  # the transaction is finished by one side only
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.delay <= 0:
            return  # no time left to warn in: the invocation is already inside the margin
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run,), name="raven-lambda-timeout", daemon=True
        )
        self._thread.start()

    def cancel(self) -> None:
        with self._lock:
            self._done.set()

    def _run(self) -> None:
        if self._done.wait(self.delay):
            return
        with capture_internal_errors("awslambda", "sending the timeout warning"):
            self.warn()

    def warn(self) -> None:
        data = self.event_data()
        frame = sys._current_frames().get(self.handler_thread)
        stacks = getattr(self.client, "stacks", None)
        if frame is not None and stacks is not None:
            pairs = list(iter_stack_frames(frame))
            pairs.reverse()  # Sentry wants the oldest frame first
            data["stacktrace"] = stacks.stacktrace(pairs)
        del frame
        self.client.captureMessage(
            TIMEOUT_MESSAGE,
            level="warning",
            data=data,
            extra={"timeout_margin_seconds": self.margin},
        )
        if self.transaction is not None:
            with self._lock:
                if not self._done.is_set():
                    self.transaction.set_status("deadline_exceeded")
                    self.transaction.finish()
        self.flush()
