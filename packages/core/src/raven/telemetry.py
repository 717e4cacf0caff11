"""What structured logs (:mod:`raven.logs`) and metrics (:mod:`raven.metrics`) share: attribute
values, the trace and user an entry is linked to, and the pipeline that turns buffered entries
into envelope items (default attributes, scrubbing, the ``before_send_*`` callback, typed
attributes, batches within the item limits).

On the app's thread an entry is a tuple of plain values taken at the call (its trace, its user,
its parameters made plain so that nothing mutable or lazy crosses threads); everything else
happens on the batcher's thread. Formats: ``PROTOCOL.md`` in this package.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from .__about__ import __version__
from .callbacks import WarnOnce, describe, name_of
from .guard import capture_internal_errors
from .serializer import safe_repr
from .tracing.scope import scope_trace

__all__ = [
    "Pipeline",
    "link",
    "plain",
    "plain_attributes",
    "typed",
]

logger = logging.getLogger("raven.telemetry")

SDK_NAME = "raven.python"
MAX_ITEMS = 100  # entries per envelope item (Relay is optimized for 100 logs per item)
MAX_ITEM_BYTES = 1024 * 1024  # per log or trace_metric item
MAX_BUFFERED = 1000  # entries waiting per client and kind (the logs spec's hard limit)
INTERVAL = 5.0  # seconds: the longest an entry waits in the buffer
_PLAIN = frozenset({str, int, float, bool})
_INT64 = 2**63


# -- on the app's thread ------------------------------------------------------------------------------
def plain(value: Any) -> str | int | float | bool:
    """An attribute value taken now: str, int, float and bool as they are (their subclasses as
    the base type), anything else as its repr."""
    if type(value) in _PLAIN:
        return value  # type: ignore[no-any-return]
    try:
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
    except Exception:
        pass
    return safe_repr(value)


def plain_params(params: Any) -> Any:
    """A log's parameters (a tuple, or the mapping of ``"%(name)s"`` templates) made plain."""
    if isinstance(params, Mapping):
        return {str(k): plain(v) for k, v in params.items()}
    for value in params:
        if type(value) not in _PLAIN:
            return tuple(plain(v) for v in params)
    return params


def plain_attributes(attributes: Any) -> dict[str, Any] | None:
    """A caller's ``attributes`` (a mapping) made plain; anything else is left out."""
    if not attributes or not isinstance(attributes, Mapping):
        return None
    return {str(k): plain(v) for k, v in attributes.items()}


def link(client: Any) -> tuple[str, str | None, Any]:
    """``(trace_id, span_id, user)`` of the current thread or task: the running span's ids (no
    span id without one), and the user set on the context (a dict, not a lazy one: resolving
    it could query a database on every log line)."""
    state = client.context._var.get()  # one read of the context's state: this runs per log line
    span = state.span
    if span is not None:
        trace_id, span_id = span.trace_id, span.span_id
    elif state.trace is not None:
        trace_id, span_id = state.trace.trace_id, None
    else:
        trace_id, span_id = scope_trace(client.context).trace_id, None  # made up if none
    user = state.data.get("user")
    if user is not None and type(user) is not dict:
        user = getattr(user, "overlay", None)  # a lazy user with a dict laid over it: the dict
    return trace_id, span_id, user


# -- on the batcher's thread --------------------------------------------------------------------------
def typed(value: Any) -> dict[str, Any]:
    """An attribute in the wire format: ``{"value": ..., "type": ...}``."""
    kind = type(value)
    if kind is str:
        return {"value": value, "type": "string"}
    if kind is bool:
        return {"value": value, "type": "boolean"}
    if kind is int:
        if -_INT64 <= value < _INT64:
            return {"value": value, "type": "integer"}
        return {"value": str(value), "type": "string"}
    if kind is float:
        if math.isfinite(value):
            return {"value": value, "type": "double"}
        return {"value": str(value), "type": "string"}
    return {"value": plain(value) if kind not in _PLAIN else str(value), "type": "string"}


def default_attributes(client: Any) -> dict[str, Any]:
    """What every log and metric carries: release, environment, server, SDK."""
    opts = client.options
    attributes: dict[str, Any] = {"sentry.sdk.name": SDK_NAME, "sentry.sdk.version": __version__}
    if opts.release:
        attributes["sentry.release"] = opts.release
    if opts.environment:
        attributes["sentry.environment"] = opts.environment
    if opts.server_name:
        attributes["server.address"] = opts.server_name
    return attributes


def user_attributes(user: Any, send_default_pii: bool) -> dict[str, Any]:
    """``user.id`` and ``user.name`` of the user set on the context; ``user.email`` and
    ``user.ip_address`` only with ``send_default_pii``."""
    if not isinstance(user, Mapping):
        return {}
    keys = [("id", "user.id"), ("username", "user.name")]
    if send_default_pii:
        keys += [("email", "user.email"), ("ip_address", "user.ip_address")]
    attributes = {attr: plain(user[key]) for key, attr in keys if user.get(key) not in (None, "")}
    if "user.id" in attributes:
        attributes["user.id"] = str(attributes["user.id"])  # a string, as in the event's user
    return attributes


class Kind:
    """One kind of batched telemetry: its envelope item and client-report categories."""

    def __init__(
        self,
        name: str,
        item_type: str,
        content_type: str,
        category: str,
        byte_category: str | None,
        callback_option: str,
    ) -> None:
        self.name = name
        self.item_type = item_type
        self.content_type = content_type
        self.category = category
        self.byte_category = byte_category
        self.callback_option = callback_option


class Pipeline:
    """Entries of one :class:`Kind` for one client, buffered by a
    :class:`~raven.transport.batcher.Batcher`, then (on its thread) built by ``build(entry,
    options)`` into ``(item, fixed)``: the item with the attributes the app gave (plain values),
    and the attributes Raven derived itself. The app's attributes and a log's body are scrubbed;
    the client's defaults and the fixed attributes are added; ``before_send_*`` sees the result;
    attributes are typed and the items sent in batches within the item limits."""

    def __init__(
        self,
        client: Any,
        kind: Kind,
        build: Callable[[Any, Any], tuple[dict[str, Any], dict[str, Any] | None]],
    ) -> None:
        from .transport.batcher import Batcher

        self.client = client
        self.kind = kind
        self.build = build
        self.warn_once = WarnOnce(logger)
        self.batcher = Batcher(
            self.ship,
            name=kind.name,
            batch_size=MAX_ITEMS,
            max_entries=MAX_BUFFERED,
            interval=INTERVAL,
        )
        self.add = self.batcher.add

    def ship(self, entries: list[Any]) -> None:
        """Build, scrub, filter and send ``entries`` (on the batcher's thread, or on the thread
        that flushes)."""
        client, kind = self.client, self.kind
        options = client.options
        built = []
        for entry in entries:
            with capture_internal_errors("telemetry", f"building a {kind.name}"):
                built.append(self.build(entry, options))
                continue
            self._count("internal_sdk_error", None)
        self._scrub([item for item, _fixed in built])
        defaults = default_attributes(client)
        callback = getattr(options, kind.callback_option)
        # Without a callback the defaults are typed once per batch, and shared by its items.
        typed_defaults: dict[str, Any] = {}
        defaults_size = _type_into(typed_defaults, defaults)
        items: list[dict[str, Any]] = []
        sizes: list[int] = []
        for item, fixed in built:
            with capture_internal_errors("telemetry", f"encoding a {kind.name}"):
                wire: dict[str, Any] = {}
                if callback is None:
                    wire.update(typed_defaults)
                    size = defaults_size + _type_into(wire, fixed or {})
                    size += _type_into(wire, item["attributes"])
                else:
                    item["attributes"] = {**defaults, **(fixed or {}), **item["attributes"]}
                    item = self._callback(callback, item)  # type: ignore[assignment]
                    if item is None:
                        continue
                    attributes = item.get("attributes")
                    size = _type_into(wire, attributes) if isinstance(attributes, Mapping) else 0
                item["attributes"] = wire
                sizes.append(size + _fields_size(item))
                items.append(item)
                continue
            self._count("internal_sdk_error", item)
        self._send(items, sizes)

    def _send(self, items: list[dict[str, Any]], sizes: list[int]) -> None:
        from .transport.batcher import pack

        kind = self.kind
        limit = min(MAX_ITEM_BYTES, self.client.options.max_event_bytes)
        if sum(sizes) * _WORST_CASE_GROWTH > limit - 100:  # may not fit: measure exactly
            from .transport.envelope import dumps

            sizes = [len(dumps(item)) for item in items]
        for start, end in pack(sizes, MAX_ITEMS, limit):
            count = end - start
            drops = [(kind.category, count)]
            if kind.byte_category:
                drops.append((kind.byte_category, sum(sizes[start:end])))
            self.client.send_item(
                kind.item_type,
                {"items": items[start:end]},
                category=kind.category,
                headers={"item_count": count, "content_type": kind.content_type},
                drops=drops,
            )

    def _scrub(self, items: list[dict[str, Any]]) -> None:
        """The client's scrubbing processors (``raven.processors``, the rules events get) over
        the app's attributes and the body of each item, all the batch in one pass: each item is
        a dict under the pseudo-event's ``extra``. What cannot be scrubbed is left out."""
        from .processors import Processor

        processors = [p for p in self.client.processors if isinstance(p, Processor)]
        if not processors or not items:
            return
        parts: dict[str, Any] = {}
        for index, item in enumerate(items):
            part = {"attributes": item["attributes"]}
            if "body" in item:
                part["message"] = item["body"]
            parts[str(index)] = part
        pseudo: dict[str, Any] = {"extra": parts}
        for processor in processors:
            try:
                result = processor.process(pseudo)
            except Exception:
                logger.warning(
                    "processor %r failed on %ss; they are sent without attributes",
                    processor,
                    self.kind.name,
                    exc_info=True,
                )
                result = {"extra": {}}
            if isinstance(result, dict) and result:
                pseudo = result
        scrubbed = pseudo.get("extra")
        for index, item in enumerate(items):
            done = scrubbed.get(str(index)) if isinstance(scrubbed, dict) else None
            attributes = done.get("attributes") if isinstance(done, dict) else None
            item["attributes"] = attributes if isinstance(attributes, dict) else {}
            if "body" in item:
                body = done.get("message") if isinstance(done, dict) else None
                original, item["body"] = item["body"], body if isinstance(body, str) else ""
                if item["body"] != original:
                    _mask_parameters(item["attributes"], original, item["body"])

    def _callback(self, callback: Any, item: dict[str, Any]) -> dict[str, Any] | None:
        option = self.kind.callback_option
        try:
            result = callback(item, {})
        except Exception as exc:
            self.warn_once(
                option,
                "%s %s raised %s: %s; the %s is dropped (and counted)",
                option,
                name_of(callback),
                type(exc).__name__,
                exc,
                self.kind.name,
            )
            result = None
        if result is None:
            self._count("before_send", item)
            return None
        if not isinstance(result, dict):
            self.warn_once(
                f"{option} result",
                "%s %s returned %s, not a dict or None; the %s is dropped",
                option,
                name_of(callback),
                describe(result),
                self.kind.name,
            )
            self._count("before_send", item)
            return None
        return result

    def _count(self, reason: str, item: Any) -> None:
        reports = self.client.reports
        reports.record(reason, self.kind.category)
        if self.kind.byte_category:
            reports.record(reason, self.kind.byte_category, _estimate(item))


def _mask_parameters(attributes: dict[str, Any], original: str, scrubbed: str) -> None:
    """Mask the parameters that scrubbing took out of the body (``"password=%s"``): a value
    secret in the body is secret as ``sentry.message.parameter.N`` too."""
    from .processors import MASK

    for key, value in attributes.items():
        if key.startswith("sentry.message.parameter."):
            text = value if type(value) is str else str(value)
            if text and text in original and text not in scrubbed:
                attributes[key] = MASK


# JSON can take up to 6 bytes for one character of a string (a control character as \\u0001).
_WORST_CASE_GROWTH = 6


def _type_into(wire: dict[str, Any], attributes: Mapping[Any, Any]) -> int:
    """Add ``attributes`` to ``wire`` typed; the characters they take in JSON, counting one
    byte per character (exact for ASCII text with nothing to escape; :meth:`Pipeline._send`
    measures exactly when the worst case could pass the item limit)."""
    size = 0
    for key, value in attributes.items():
        if type(key) is not str:
            key = str(key)
        if type(value) is str:
            wire[key] = {"value": value, "type": "string"}
            size += len(key) + len(value) + 34
        else:
            wire[key] = typed(value)
            size += len(key) + 56
    return size


def _fields_size(item: dict[str, Any]) -> int:
    """The JSON characters of an item's fields besides its attributes (as :func:`_type_into`)."""
    size = 40
    for key, value in item.items():
        if type(value) is str:
            size += len(key) + len(value) + 6
        elif key != "attributes":
            size += len(key) + 28
    return size


def _estimate(item: Any) -> int:
    """The bytes an item would take, roughly (for a drop's ``log_byte``)."""
    try:
        from .transport.envelope import dumps

        return len(dumps(item)) if item is not None else 0
    except Exception:
        return 0
