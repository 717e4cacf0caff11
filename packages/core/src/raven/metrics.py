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
        self._add: Any = None  # the pipeline's add, once made

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
        try:  # not a `with` guard: this runs per call, and the guard is only needed on failure
            if not (
                (type(value) is int or (type(value) is float and -_MAX < value < _MAX))
                and type(name) is str
                and name
                and (unit is None or type(unit) is str)
            ):
                value = _checked(kind, name, value, unit)
                if value is None:
                    client.reports.record("invalid", "trace_metric")
                    return
            add = self._add
            if add is None:
                add = self._add = metric_pipeline(client).add
            trace_id, span_id, user = link(client)
            add(
                (
                    time.time(),
                    kind,
                    name,
                    value,
                    unit,
                    plain_attributes(attributes) if attributes else None,
                    trace_id,
                    span_id,
                    user,
                )
            )
        except Exception:
            with capture_internal_errors("metrics", "recording a metric"):
                raise


_MAX = float("inf")


def _checked(kind: str, name: Any, value: Any, unit: Any) -> int | float | None:
    """The value of a metric Sentry takes (a non-empty name, a finite number, a string unit),
    as an int or a float; None for what it does not, warned about once per metric name."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        value = int(value) if isinstance(value, int) else float(value)  # numpy scalars, IntEnum
        ok = math.isfinite(value)
    if ok and type(name) is str and name and (unit is None or type(unit) is str):
        return value  # type: ignore[no-any-return]
    _warn_once(
        f"{kind} {name!r}",
        "client.metrics.%s(%s, %s, unit=%s): the name must be a non-empty string, the value a "
        "finite number and the unit a string; the metric is dropped (and counted)",
        {"counter": "count"}.get(kind, kind),
        describe(name),
        describe(value),
        describe(unit),
    )
    return None
