"""A finished transaction as the event sent for it.

Building the event (an entry per span, the client's fixed fields, a new id) is most of what
finishing a transaction costs the thread that finishes it, a request's thread. :func:`read`
takes on that thread what must be read there or then: the scope's user, request, contexts and
tags (the scope is the thread's), the transaction's own fields (its name was checked against
``ignore_transactions``; a status set after it finished must not reach the event), the sampling
context, and span data that is not plain scalars (serializing it may call the app's
``__repr__``, which must run on the app's thread). The :class:`TransactionEvent` it returns
builds the dict from that and from the finished spans: on the transport's encoder thread when
the transport can (``ThreadedTransport.builds_transactions``), else right away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import events

if TYPE_CHECKING:
    from ..client import Client
    from ..profiling import Profile
    from .span import Span, Transaction

__all__ = ["TransactionEvent", "read"]

_PLAIN = frozenset({str, int, float, bool, type(None)})


class TransactionEvent:
    """A transaction's event, read (see :func:`read`) and not yet built: calling it builds it."""

    __slots__ = (
        "client",
        "name",
        "source",
        "start_timestamp",
        "timestamp",
        "trace",
        "spans",
        "profile",
        "dsc",
        "fields",
        "contexts",
        "tags",
        "serialized",
    )

    def __init__(
        self,
        client: Client,
        transaction: Transaction,
        trace: dict[str, Any],
        spans: list[Span],
        profile: Profile | None,
        fields: dict[str, Any],
        contexts: Any,
        tags: dict[str, str],
        serialized: dict[Span, Any] | None,
    ) -> None:
        self.client = client
        self.name = transaction.name
        self.source = transaction.source
        self.start_timestamp = transaction.start_timestamp
        self.timestamp = transaction.timestamp
        self.trace = trace  # contexts.trace
        self.spans = spans
        self.profile = profile  # kept: sent with the event
        self.dsc = transaction.get_dsc()  # made now if no call went out: frozen with this name
        self.fields = fields  # user and request, serialized
        self.contexts = contexts  # the scope's, serialized
        self.tags = tags
        self.serialized = serialized  # span -> its data serialized, where not plain

    def __call__(self) -> dict[str, Any]:
        """The event as the transport takes it: with the profile (``_profile``) to encode."""
        event = self.event()
        if self.profile is not None:
            event["_profile"] = self.profile
        return event

    def event(self) -> dict[str, Any]:
        """The event as ``before_send_transaction`` and ``send`` see it (``_dsc``: the envelope's
        ``trace`` header)."""
        client = self.client
        serializer = client.serializer
        serialized = self.serialized
        event = events.new_event(client._static)
        event["timestamp"] = self.timestamp
        event.update(
            type="transaction",
            transaction=self.name,
            transaction_info={"source": self.source},
            start_timestamp=self.start_timestamp,
            spans=[_span_json(span, serialized, serializer) for span in self.spans],
            contexts={**client._static["contexts"], "trace": self.trace},
            _dsc=self.dsc,
        )
        event.update(self.fields)
        if self.contexts:
            event["contexts"] = {**self.contexts, **event["contexts"]}
        if self.tags:
            event["tags"] = self.tags
        if self.profile is not None:
            event["contexts"]["profile"] = {"profile_id": self.profile.profile_id}
        return event


def read(
    client: Client, transaction: Transaction, spans: list[Span], profile: Profile | None
) -> TransactionEvent:
    """What the event of ``transaction`` (finished, with its finished ``spans`` and its kept
    ``profile``) takes from the current thread and from the transaction itself, read now."""
    serializer = client.serializer
    trace = transaction.trace_context()
    trace["op"] = transaction.op
    trace["status"] = transaction.status or "ok"
    trace["origin"] = transaction.origin
    if transaction.data:
        trace["data"] = _json_safe(dict(transaction.data), serializer)
    scope, _crumbs = client.context.snapshot()
    fields: dict[str, Any] = {}
    for key in ("user", "request"):
        # What the app set (user_context, http_context) and the framework's url and method
        # (set_request), not the interface an integration computes lazily for errors:
        # building it would double a traced request's cost.
        value = scope.get(key)
        value = getattr(value, "overlay", None) if callable(value) else value
        if key == "request" and transaction.request:
            if not value:  # the framework's url and method alone: plain strings
                fields[key] = _json_safe({**transaction.request}, serializer)
                continue
            value = {**transaction.request, **value}
        if value:
            fields[key] = serializer(value)
    contexts = scope.get("contexts")
    holder: dict[str, Any] = {"tags": {}}  # what merge_tags sets, when there are tags at all
    layers = (client.options.tags, scope.get("tags"), transaction.tags)
    if any(layers):
        events.merge_tags(holder, *layers)
    serialized = None
    for span in spans:
        data = span.data
        if data and not _PLAIN.issuperset(map(type, data.values())):
            serialized = serialized or {}
            serialized[span] = serializer(data)
    return TransactionEvent(
        client,
        transaction,
        trace,
        spans,
        profile,
        fields,
        serializer(contexts) if contexts else None,
        holder["tags"],
        serialized,
    )


def _span_json(
    span: Span, serialized: dict[Span, Any] | None, serializer: Callable[[Any], Any]
) -> dict[str, Any]:
    """The span's entry: its data as serialized when read (not plain), else as it is unless a
    string in it is too long."""
    data = span.to_json()
    values = data.get("data")
    if values is not None:
        done = serialized.get(span) if serialized is not None else None
        data["data"] = done if done is not None else _json_safe(values, serializer)
    return data


def _json_safe(values: dict[str, Any], serializer: Callable[[Any], Any]) -> Any:
    """``values`` as they are when every value is a short plain scalar (what integrations set),
    else serialized like event data."""
    for value in values.values():
        if type(value) not in _PLAIN or (type(value) is str and len(value) > 1024):
            return serializer(values)
    return values
