"""Report failing Celery tasks: ``register_signal(client)`` and :class:`SentryCeleryHandler`.

Everything hangs off Celery's signals, so it works the same in the prefork, threads, solo,
eventlet and gevent pools and in eager mode: the receivers run wherever the task runs.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from celery import signals
from celery.exceptions import Ignore, Reject, Retry, SoftTimeLimitExceeded
from celery.utils.serialization import UnpickleableExceptionWrapper
from raven.guard import capture_internal_errors

from . import tracing
from ._signals import Receivers

__all__ = ["SentryCeleryHandler", "is_reported", "job_data", "register_signal", "task_context"]

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

#: Raised by tasks to steer Celery, not failures: never reported.
NOT_ERRORS: tuple[type[BaseException], ...] = (Retry, Ignore, Reject)

# Set on an exception once a task_failure receiver captured it, so that Celery's own log line
# for the same failure (or the worker's "Task handler raised error") is not reported again.
_REPORTED_ATTR = "__raven_celery_reported__"


def is_reported(exc: BaseException | None, client: Any = None) -> bool:
    """Whether a task-failure receiver already captured ``exc`` (for ``client``, or for any)."""
    clients = getattr(exc, _REPORTED_ATTR, None) if exc is not None else None
    if not isinstance(clients, frozenset):
        return False
    return bool(clients) if client is None else id(client) in clients


def _mark_reported(client: Any, *excs: BaseException | None) -> None:
    for exc in excs:
        if exc is None:
            continue
        try:
            setattr(exc, _REPORTED_ATTR, getattr(exc, _REPORTED_ATTR, frozenset()) | {id(client)})
        except Exception:  # exceptions with __slots__ or a read-only __setattr__
            pass


# (client id, task id, exception type) of the failures reported lately in this process. Celery
# sends task_failure twice for a hard time limit (from the timeout handler, without the task's
# request, and again from the pool's error callback, with a new exception object); a task fails
# once (retries are not failures), so the second is skipped.
_recent: OrderedDict[tuple[int, str, str], None] = OrderedDict()
_recent_lock = threading.Lock()
_RECENT_MAX = 1024


def _first_report(client: Any, task_id: str | None, exc: BaseException) -> bool:
    if task_id is None:
        return True
    key = (id(client), task_id, type(exc).__name__)
    with _recent_lock:
        if key in _recent:
            return False
        _recent[key] = None
        while len(_recent) > _RECENT_MAX:
            _recent.popitem(last=False)
    return True


def _task_name(task: Any, request: Any) -> str:
    # ``shadow`` is the name the task was sent under (``apply_async(shadow=...)``): Celery logs it.
    return str(getattr(request, "shadow", None) or getattr(task, "name", None) or "celery.task")


def _request_of(task: Any, task_id: str | None) -> Any:
    """The request of the task being traced, or None when the signal comes from elsewhere.

    The worker's main process sends ``task_failure`` for hard time limits with no request on
    the stack; ``task.request`` is then an empty or unrelated one, so check its id.
    """
    request = getattr(task, "request", None)
    if request is None or task_id is None or getattr(request, "id", None) != task_id:
        return None
    return request


def job_data(
    task: Any, task_id: str | None, args: Sequence[Any] | None, kwargs: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What Raven attaches about a task: the ``extra["celery-job"]`` of its events.

    Celery does not tell a task which queue its message came from, only the exchange and the
    routing key (with Celery's default direct routing, the routing key is the queue's name).
    """
    request = _request_of(task, task_id)
    delivery: Mapping[str, Any] = (getattr(request, "delivery_info", None) or {}) if request else {}
    job: dict[str, Any] = {
        "task_name": _task_name(task, request),
        "task_id": task_id,
        "args": list(args) if args is not None else [],
        "kwargs": dict(kwargs) if kwargs is not None else {},
    }
    if request is not None:
        job["retries"] = getattr(request, "retries", 0) or 0
        job["hostname"] = getattr(request, "hostname", None)
        job["eager"] = bool(getattr(request, "is_eager", False))
    for key in ("queue", "exchange", "routing_key", "priority", "redelivered"):
        if delivery.get(key) is not None:
            job[key] = delivery[key]
    return job


def task_context(job: Mapping[str, Any]) -> dict[str, Any]:
    """What a task puts in the context, for every event captured while it runs: the task's name as
    the transaction, its name and routing as tags, and :func:`job_data` as ``extra["celery-job"]``."""
    return {"transaction": job["task_name"], "tags": _tags(job), "extra": {"celery-job": job}}


def _in_task_context(context: Any, task_id: str | None) -> bool:
    """Whether the current context is the one ``task_prerun`` opened for ``task_id``."""
    data, _crumbs = context.snapshot()
    extra = data.get("extra")
    job = extra.get("celery-job") if isinstance(extra, Mapping) else None
    return task_id is not None and isinstance(job, Mapping) and job.get("task_id") == task_id


def _tags(job: Mapping[str, Any]) -> dict[str, str]:
    tags = {"celery_task_name": str(job["task_name"])}
    if job.get("queue"):
        tags["celery_queue"] = str(job["queue"])
    if job.get("routing_key"):
        tags["celery_routing_key"] = str(job["routing_key"])
    if job.get("hostname"):
        tags["celery_hostname"] = str(job["hostname"])
    return tags


def _exc_info(exception: BaseException, traceback: Any) -> ExcInfo:
    """The exception as raised, with its traceback.

    ``task_failure`` is sent from inside the ``except`` block that caught the task's error, and
    it passes a pickleable stand-in for exceptions that do not pickle: prefer the original.
    """
    current = sys.exc_info()
    if current[0] is not None and current[1] is not None:
        if current[1] is exception or (
            isinstance(exception, UnpickleableExceptionWrapper)
            and exception.exc_cls_name == type(current[1]).__name__
        ):
            return current[0], current[1], current[2]
    tb = traceback if isinstance(traceback, TracebackType) else exception.__traceback__
    return type(exception), exception, tb


class SentryCeleryHandler:
    """Celery signal receivers that report task failures to ``client``.

    ``install()`` connects them (idempotent), ``uninstall()`` disconnects them. With
    ``ignore_expected=True``, exceptions listed in a task's ``throws`` are not reported (Celery
    itself logs them at INFO, without a traceback).
    """

    def __init__(self, client: Any, ignore_expected: bool = False) -> None:
        self.client = client
        self.ignore_expected = ignore_expected
        self._task_sessions: dict[str | None, Any] = {}  # task id -> its session (release health)
        self._receivers = Receivers(
            (signals.before_task_publish, self.handle_before_publish),
            (signals.after_task_publish, self.handle_after_publish),
            (signals.task_prerun, self.handle_task_prerun),
            (signals.task_postrun, self.handle_task_postrun),
            (signals.task_failure, self.process_failure_signal),
            (signals.worker_process_shutdown, self.handle_shutdown),
            (signals.worker_shutdown, self.handle_shutdown),
        )

    # -- install / uninstall --------------------------------------------------------------------
    def install(self) -> None:
        """Connect the receivers; calling it again changes nothing. Sessions (release health)
        are counted per task: the worker's main process sends none of its own."""
        self._receivers.connect()
        self.client.use_request_sessions()

    def uninstall(self) -> None:
        """Disconnect the receivers; the client reports nothing more from Celery."""
        if not self._receivers.disconnect():
            return
        with _registry_lock:
            if _registry.get(id(self.client)) is self:
                del _registry[id(self.client)]

    @property
    def installed(self) -> bool:
        """Whether the receivers are connected."""
        return self._receivers.connected

    # -- receivers ------------------------------------------------------------------------------
    @capture_internal_errors("celery", "adding the trace to a task message")
    def handle_before_publish(
        self,
        sender: Any = None,
        headers: Any = None,
        exchange: Any = None,
        routing_key: Any = None,
        **_: Any,
    ) -> None:
        """Where a task is sent: a ``queue.publish`` span, and the trace headers in the message."""
        if isinstance(headers, dict):  # protocol 2 (Celery's default): the message's headers
            tracing.start_publish(self.client, str(sender), headers, exchange, routing_key)

    @capture_internal_errors("celery", "finishing a publish span")
    def handle_after_publish(self, headers: Any = None, **_: Any) -> None:
        """The message is with the broker: its ``queue.publish`` span ends."""
        if isinstance(headers, Mapping):
            tracing.finish_publish(self.client, headers)

    @capture_internal_errors("celery")
    def handle_task_prerun(
        self,
        sender: Any = None,
        task_id: str | None = None,
        task: Any = None,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> None:
        """Open a fresh context for the task (its name, id and arguments, no earlier
        breadcrumbs) and start its transaction, continuing the sender's trace."""
        task = task if task is not None else sender
        headers = None
        with capture_internal_errors("celery", "reading the trace of a task"):
            headers = self._incoming_trace(task, task_id)
        # A scope, not clear(): an eager task run inside a web request (or inside another task)
        # gives the outer context back at task_postrun.
        self.client.context.__enter__()
        job = job_data(task, task_id, args, kwargs)
        self.client.context.merge(task_context(job))
        if not getattr(_request_of(task, task_id), "is_eager", False):  # counted by its caller
            self._task_sessions[task_id] = self.client.start_request_session()
        tracing.start_task(
            self.client,
            task_id,
            job["task_name"],
            _request_of(task, task_id),
            headers,
            args,
            kwargs,
            getattr(task, "app", None),
        )

    def _incoming_trace(self, task: Any, task_id: str | None) -> dict[str, Any] | None:
        request = _request_of(task, task_id)
        if request is not None and getattr(request, "is_eager", False):
            # Run in place, never published: the trace to continue is the caller's, here.
            headers: dict[str, Any] = self.client.trace_headers()
            return headers
        return tracing.incoming_headers(request)

    @capture_internal_errors("celery")
    def handle_task_postrun(
        self, task_id: str | None = None, state: str | None = None, **_: Any
    ) -> None:
        """Finish the task's transaction (status from its outcome) and drop whatever the task
        put in the context."""
        try:
            tracing.finish_task(self.client, task_id, state)
        finally:
            self.client.end_request_session(self._task_sessions.pop(task_id, None))
            self.client.context.__exit__(None, None, None)

    @capture_internal_errors("celery")
    def process_failure_signal(
        self,
        sender: Any = None,
        task_id: str | None = None,
        exception: BaseException | None = None,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        traceback: Any = None,
        einfo: Any = None,
        **_: Any,
    ) -> None:
        """Capture the exception a task failed with (once, even with several handlers)."""
        if (
            exception is None
            or isinstance(exception, NOT_ERRORS)
            or is_reported(exception, self.client)
        ):
            return
        exc_info = _exc_info(exception, traceback)
        if self.ignore_expected and self._is_expected(sender, exc_info[1]):
            return
        job = job_data(sender, task_id, args, kwargs)
        if not _first_report(self.client, task_id, exc_info[1]):
            _mark_reported(self.client, exception, exc_info[1])
            return
        fingerprint = None
        if isinstance(exc_info[1], SoftTimeLimitExceeded):
            # Time limits hit many unrelated lines: one issue per task, not per line it stopped on.
            fingerprint = ["celery", "SoftTimeLimitExceeded", job["task_name"]]
        context = self.client.context
        # Outside the task's own context (a hard time limit or a lost pool process, reported by
        # the worker's main process), the failure gets a scope of its own with the task's data.
        outside = not _in_task_context(context, task_id)
        if outside:
            context.__enter__()
            context.merge(task_context(job))
        try:
            self.client.captureException(
                exc_info=exc_info,
                fingerprint=fingerprint,
                mechanism={"type": "celery", "handled": False},
            )
        finally:
            if outside:
                context.__exit__(None, None, None)
        _mark_reported(self.client, exception, exc_info[1])

    @staticmethod
    def _is_expected(task: Any, exc: BaseException) -> bool:
        throws = getattr(task, "throws", None) or ()
        if isinstance(throws, type):
            throws = (throws,)
        return bool(throws) and isinstance(exc, tuple(throws))

    @capture_internal_errors("celery")
    def handle_shutdown(self, **_: Any) -> None:
        """Deliver pending events before a pool child or the worker exits.

        Pool children leave through ``os._exit``, so ``atexit`` flushing never runs there.
        """
        self.client.flush(timeout=self.client.options.shutdown_timeout)


_registry: dict[int, SentryCeleryHandler] = {}
_registry_lock = threading.Lock()


def register_signal(
    client: Any,
    ignore_expected: bool = False,
    *,
    monitor_beat_tasks: Any = None,
    exclude_beat_tasks: Any = None,
) -> SentryCeleryHandler:
    """Report every failing task to ``client``; returns the installed handler.

    Call it where the Celery app is created. Calling it again for the same client installs
    nothing new (``ignore_expected`` takes the latest value). ``monitor_beat_tasks=app`` (or
    True: Celery's current app) also makes the app's beat tasks cron monitors, as
    :func:`raven_celery.beat.monitor_beat_tasks` with ``exclude=exclude_beat_tasks``.
    """
    with _registry_lock:
        handler = _registry.get(id(client))
        if handler is None or handler.client is not client:
            handler = _registry[id(client)] = SentryCeleryHandler(
                client, ignore_expected=ignore_expected
            )
        else:
            handler.ignore_expected = ignore_expected
    handler.install()
    if monitor_beat_tasks:  # after the handler: check-ins are sent in the task's scope and trace
        from .beat import monitor_beat_tasks as monitor

        app = monitor_beat_tasks
        if app is True:
            from celery import current_app

            app = current_app._get_current_object()
        monitor(app, client, exclude_beat_tasks)
    return handler
