"""Metrics: Sentry's ``trace_metric`` items, ``client.metrics.count / gauge / distribution``.

Each call is one metric (no aggregation in the SDK: the server aggregates), linked to the
current trace and span, with the client's release, environment and server, the user, and the
call's attributes. On by default (``enable_metrics=False`` turns the calls into no-ops);
``before_send_metric`` can change or drop one. The calling thread appends a tuple to a buffer;
the rest happens on the batcher's thread (:mod:`raven.telemetry`).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from .callbacks import WarnOnce, describe
from .guard import capture_internal_errors
from .telemetry import Kind, Pipeline, link, plain_attributes, user_attributes

__all__ = ["Metrics", "metric_pipeline"]

_warn_once = WarnOnce(logging.getLogger("raven.metrics"))

METRIC = Kind(
    name="metric",
    item_type="trace_metric",
    content_type="application/vnd.sentry.items.trace-metric+json",
    category="trace_metric",
    byte_category=None,
    callback_option="before_send_metric",
)


def metric_pipeline(client: Any) -> Pipeline:
    """The client's metric pipeline, made on first use."""
    pipeline: Pipeline | None = client._metric_pipeline
    if pipeline is None:
        pipeline = client._metric_pipeline = Pipeline(client, METRIC, build_metric)
    return pipeline


# An entry: (timestamp, type, name, value, unit, attributes, trace_id, span_id, user).
def build_metric(
    entry: tuple[Any, ...], options: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The metric item of an entry, with the app's attributes, plain (see
    :class:`~raven.telemetry.Pipeline`)."""
    timestamp, kind, name, value, unit, extra, trace_id, span_id, user = entry
    attributes: dict[str, Any] = {}
    if user is not None:
        attributes.update(user_attributes(user, options.send_default_pii))
    if extra:
        attributes.update(extra)
    item: dict[str, Any] = {
        "timestamp": timestamp,
        "trace_id": trace_id,
        "name": name,
        "type": kind,
        "value": value,
        "attributes": attributes,
    }
    if span_id is not None:
        item["span_id"] = span_id
    if unit is not None:
        item["unit"] = unit
    return item, None


class Metrics:
    """``client.metrics``: one metric per call, sent in batches with the next ones."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def count(
        self, name: str, value: float = 1, unit: str | None = None, attributes: Any = None
    ) -> None:
        """Add ``value`` (default 1) to the counter ``name``."""
        self._record("counter", name, value, unit, attributes)

    def gauge(
        self, name: str, value: float, unit: str | None = None, attributes: Any = None
    ) -> None:
        """The current ``value`` of ``name`` (a level that goes up and down)."""
        self._record("gauge", name, value, unit, attributes)

    def distribution(
        self, name: str, value: float, unit: str | None = None, attributes: Any = None
    ) -> None:
        """One measured ``value`` of ``name`` (a duration, a size), for percentiles."""
        self._record("distribution", name, value, unit, attributes)

    def _record(self, kind: str, name: Any, value: Any, unit: Any, attributes: Any) -> None:
        client = self._client
        if not (client.options.enable_metrics and client.is_enabled()):
            return
        with capture_internal_errors("metrics", f"recording a {kind}"):
            if not _valid(kind, name, value, unit):
                client.reports.record("invalid", "trace_metric")
                return
            if type(value) is not int and type(value) is not float:  # numpy scalars, IntEnum
                value = int(value) if isinstance(value, int) else float(value)
            trace_id, span_id, user = link(client)
            metric_pipeline(client).add(
                (
                    time.time(),
                    kind,
                    name,
                    value,
                    unit,
                    plain_attributes(attributes),
                    trace_id,
                    span_id,
                    user,
                )
            )


def _valid(kind: str, name: Any, value: Any, unit: Any) -> bool:
    """A metric Sentry takes: a non-empty name, a finite number, a string unit; what is not is
    warned about once per metric name and counted."""
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        ok = True
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    if ok and type(name) is str and name and (unit is None or type(unit) is str):
        return True
    _warn_once(
        f"{kind} {name!r}",
        "client.metrics.%s(%s, %s, unit=%s): the name must be a non-empty string, the value a "
        "finite number and the unit a string; the metric is dropped (and counted)",
        {"counter": "count"}.get(kind, kind),
        describe(name),
        describe(value),
        describe(unit),
    )
    return False
