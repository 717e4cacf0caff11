"""Tracing for Celery: where a task is sent, a ``queue.publish`` span and the trace headers in the
message; where it runs, a ``queue.task.celery`` transaction continuing the sender's trace.

The hooks are called by :class:`raven_celery.SentryCeleryHandler`'s signal receivers. With tracing
off they still carry the trace across (``sentry-trace``, ``baggage``, ``traceparent`` in the
message; the task's scope continues them), so a task's errors link to the request that sent it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from typing import Any, NamedTuple

__all__ = [
    "ENQUEUED_HEADER",
    "ORIGIN",
    "TRACE_HEADERS",
    "broker_system",
    "finish_publish",
    "finish_task",
    "incoming_headers",
    "start_publish",
    "start_task",
]

ORIGIN = "auto.queue.celery"
TRACE_HEADERS = ("sentry-trace", "baggage", "traceparent")
# When the message was sent (seconds since the epoch), for the receive latency of the task's
# queue.process span; sentry-sdk's name, so a worker of either SDK reads the other's messages.
ENQUEUED_HEADER = "sentry-task-enqueued-time"

# A task's outcome (task_postrun's ``state``) as the transaction's status. Retry, Ignore and
# Reject steer Celery and are not failures: "aborted", as sentry-sdk reports them.
_STATUS = {
    "SUCCESS": "ok",
    "FAILURE": "internal_error",
    "RETRY": "aborted",
    "IGNORED": "aborted",
    "REJECTED": "aborted",
}


class _Entry(NamedTuple):
    client: Any
    task_id: Any
    span: Any  # the publish span, or the task's transaction
    process: Any = None  # the task's queue.process span


# Between before_task_publish and after_task_publish (same thread, nothing in between but the
# broker call): the span of the message being sent, one per client. A publish that raises never
# reaches after_task_publish; its span is replaced by the client's next one and never sent.
_publishing: ContextVar[tuple[_Entry, ...]] = ContextVar("raven_celery.publishing", default=())
# Between task_prerun and task_postrun: the running tasks' transactions, innermost last (eager
# tasks nest), one per client that registered.
_running: ContextVar[tuple[_Entry, ...]] = ContextVar("raven_celery.running", default=())


def _take(var: ContextVar[tuple[_Entry, ...]], client: Any, task_id: Any) -> _Entry | None:
    """Remove and return the innermost entry of ``client`` for ``task_id``."""
    entries = var.get()
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        if entry.client is client and entry.task_id == task_id:
            var.set(entries[:index] + entries[index + 1 :])
            return entry
    return None


# -- sending ----------------------------------------------------------------------------------
def start_publish(
    client: Any,
    task_name: str,
    headers: MutableMapping[str, Any],
    exchange: Any = None,
    routing_key: Any = None,
) -> None:
    """Before a message goes out: start its ``queue.publish`` span (a child of the current span)
    and put the trace headers into the message, the span being the task's parent."""
    span = client.start_span(op="queue.publish", description=task_name, origin=ORIGIN)
    if span.sampled:  # a span that records (NOOP_SPAN's ``sampled`` is False)
        outgoing = {"sentry-trace": span.to_sentry_trace(), "traceparent": span.to_traceparent()}
        baggage = span.to_baggage()
        if baggage:
            outgoing["baggage"] = baggage
        outgoing[ENQUEUED_HEADER] = time.time()
        task_id = headers.get("id")
        if task_id is not None:
            span.set_data("messaging.message.id", task_id)
        if not exchange and routing_key:
            # The default exchange routes to the queue named by the routing key.
            span.set_data("messaging.destination.name", routing_key)
        retries = headers.get("retries")
        if isinstance(retries, int):
            span.set_data("messaging.message.retry.count", retries)
        others = tuple(e for e in _publishing.get() if e.client is not client)
        _publishing.set((*others, _Entry(client, task_id, span)))
    else:
        # No span records here: the current (unsampled) transaction's headers, or the scope's
        # trace, so that the task still continues this trace and its errors link to it.
        outgoing = client.trace_headers()
    headers.update(outgoing)


def finish_publish(client: Any, headers: Mapping[str, Any]) -> None:
    """After the message went out: finish its ``queue.publish`` span."""
    if not _publishing.get():
        return
    entry = _take(_publishing, client, headers.get("id"))
    if entry is not None:
        entry.span.finish()


# -- running ----------------------------------------------------------------------------------
def incoming_headers(request: Any) -> dict[str, Any] | None:
    """The trace headers the sender put in the task's message (None when there are none).

    Celery gives a message's custom headers to the task as ``request.headers`` (5.4 and later)
    or as attributes of the request (earlier).
    """
    if request is None:
        return None
    custom = getattr(request, "headers", None)
    source = custom if isinstance(custom, Mapping) else None
    found: dict[str, Any] = {}
    for name in (*TRACE_HEADERS, ENQUEUED_HEADER):
        value = source.get(name) if source is not None else None
        if value is None:
            value = getattr(request, name, None)
        if value is not None:
            found[name] = value
    return found or None


def start_task(
    client: Any,
    task_id: Any,
    task_name: str,
    request: Any,
    headers: Mapping[str, Any] | None,
    args: Sequence[Any] | None,
    kwargs: Mapping[str, Any] | None,
    app: Any = None,
) -> None:
    """In the task's fresh scope: start and activate its transaction, continuing ``headers``, and
    (when it records) a ``queue.process`` span around the task's own work."""
    transaction = client.start_transaction(
        name=task_name,
        op="queue.task.celery",
        source="task",
        origin=ORIGIN,
        headers=headers,
        # sentry-sdk's key, so that a traces_sampler written for it keeps working.
        custom_sampling_context={"celery_job": {"task": task_name, "args": args, "kwargs": kwargs}},
    )
    transaction.activate()
    process = None
    if transaction.sampled:
        process = transaction.start_child(op="queue.process", description=task_name, origin=ORIGIN)
        _describe(process, task_id, request, headers, app)
        process.activate()
    _running.set((*_running.get(), _Entry(client, task_id, transaction, process)))


def _describe(
    span: Any, task_id: Any, request: Any, headers: Mapping[str, Any] | None, app: Any
) -> None:
    """The messaging data of a ``queue.process`` span (what Sentry's Queues page reads)."""
    if task_id is not None:
        span.set_data("messaging.message.id", task_id)
    delivery = getattr(request, "delivery_info", None)
    if isinstance(delivery, Mapping):
        routing_key = delivery.get("routing_key")
        if not delivery.get("exchange") and routing_key:
            span.set_data("messaging.destination.name", routing_key)
    retries = getattr(request, "retries", None)
    if isinstance(retries, int):
        span.set_data("messaging.message.retry.count", retries)
    broker = broker_system(app)
    if broker:
        span.set_data("messaging.system", broker)
    enqueued = headers.get(ENQUEUED_HEADER) if headers else None
    if isinstance(enqueued, (int, float)) and not isinstance(enqueued, bool):
        latency_ms = (time.time() - enqueued) * 1000.0
        span.set_data("messaging.message.receive.latency", max(latency_ms, 0.0))


def finish_task(client: Any, task_id: Any, state: Any) -> None:
    """At task_postrun: the transaction's status from the task's outcome, then finish it."""
    entry = _take(_running, client, task_id)
    if entry is None:
        return
    status = _STATUS.get(state) if isinstance(state, str) else None
    if entry.process is not None:
        if status is not None:
            entry.process.set_status(status)
        entry.process.finish()
    if status is not None:
        entry.span.set_status(status)
    entry.span.finish()


def broker_system(app: Any) -> str | None:
    """The broker's kind (``redis``, ``amqp``, ``sqs``, ...) from the app's broker URL, without
    connecting and without anything after the scheme (credentials)."""
    conf = getattr(app, "conf", None)
    url = conf.get("broker_url") if conf is not None else None
    if isinstance(url, (list, tuple)) and url:
        url = url[0]
    if not isinstance(url, str) or "://" not in url:
        return None
    scheme = url.partition("://")[0].lower()
    return scheme.rpartition("+")[2] or None
