"""The ``logs`` benchmark, worker side: what one structured log or one metric costs the calling
thread, Raven beside sentry-sdk with ``enable_logs=True``, each against the same loop with no
SDK (``worker.py <sdk> logs '{...}'``).

Cases:
- ``logging``: ``logging.getLogger("bench").info("order %s paid", i)`` (a ``NullHandler``,
  level INFO) with logs on: the SDK's breadcrumb and its log;
- ``breadcrumb``: the same call with logs off: the breadcrumb alone (the yardstick the issue
  sets: a log should cost about as much);
- ``api``: the SDK's own log call (``client.logger.info("order %s paid", i)``;
  ``sentry_sdk.logger.info("order {id} paid", id=i)``), against calling a no-op;
- ``metric``: ``metrics.count("orders", 1, attributes={"shop": "main"})``, against a no-op.

Logs and metrics are batched by each SDK's background thread and sent by its own transport to
a healthy loopback receiver during the run: what is timed is what the calling thread pays,
GIL contention with those threads included.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

__all__ = ["bench_logs"]

CASES = {
    "logging": "Structured log from logging.info",
    "breadcrumb": "logging.info with logs off (breadcrumb only)",
    "api": "Structured log from the SDK's logger.info",
    "metric": "Metric (metrics.count)",
}


def _noop(*args: Any, **kwargs: Any) -> None:
    pass


def _call(sdk: str, case: str, dsn: str) -> tuple[Callable[[int], None], Callable[[], Any]]:
    """The call to time for ``case`` (``sdk == "off"``: the same loop with no SDK), and how to
    deliver what it buffered afterwards (not timed)."""
    log = logging.getLogger("bench")
    log.setLevel(logging.INFO)
    log.addHandler(logging.NullHandler())
    log.propagate = False
    logs_on = case != "breadcrumb"
    if sdk == "off":
        if case in ("logging", "breadcrumb"):
            return (lambda i: log.info("order %s paid", i)), _noop
        if case == "api":
            return (lambda i: _noop("order %s paid", i)), _noop
        return (lambda i: _noop("orders", 1, attributes={"shop": "main"})), _noop
    if sdk == "raven":
        import raven

        client = raven.Client(dsn, enable_logs=logs_on)
        flush = lambda: client.flush(10)  # noqa: E731
        if case == "api":
            info = client.logger.info
            return (lambda i: info("order %s paid", i)), flush
        if case == "metric":
            count = client.metrics.count
            return (lambda i: count("orders", 1, attributes={"shop": "main"})), flush
        return (lambda i: log.info("order %s paid", i)), flush
    import sentry_sdk

    sentry_sdk.init(dsn, enable_logs=logs_on)
    sentry_flush = lambda: sentry_sdk.flush(10)  # noqa: E731
    if case == "api":
        sentry_info = sentry_sdk.logger.info
        return (lambda i: sentry_info("order {id} paid", id=i)), sentry_flush
    if case == "metric":
        sentry_count = sentry_sdk.metrics.count
        return (lambda i: sentry_count("orders", 1, attributes={"shop": "main"})), sentry_flush
    return (lambda i: log.info("order %s paid", i)), sentry_flush


def bench_logs(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    """Per-call samples (seconds) of ``args["case"]``, with the SDK (``enabled``) or without."""
    try:
        call, flush = _call(sdk if args["enabled"] else "off", args["case"], args["dsn"])
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    for i in range(args["warmup"]):
        call(i)
    samples = []
    clock = time.perf_counter
    for i in range(args["iterations"]):
        start = clock()
        call(i)
        samples.append(clock() - start)
    flush()  # what the receiver counts arrived; not timed
    return {"samples": samples}


# -- the report (run in the orchestrating process) -------------------------------------------------
def _cell(data: dict[str, Any]) -> str:
    if "error" in data:
        return f"n/a ({data['error']})"
    return (
        f"{data['off']['median']:,.2f} → {data['on']['median']:,.2f} "
        f"(p95 {data['on']['p95']:,.1f}): **{data['overhead_us']:+,.2f}**"
    )


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}×"


def _load(result: dict[str, Any]) -> str:
    load = result.get("load_average_at_start")
    return ", ".join(f"{x:.2f}" for x in load) if load else "?"


def headline_rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for the README headline (columns: Raven, sentry-sdk, raven 6.10, two ratios)."""
    rows = []
    for row in result["rows"]:
        if row["case"] == "breadcrumb":
            continue
        cells = [
            "n/a" if "error" in row["sdks"][s] else f"{row['sdks'][s]['overhead_us']:+,.2f} µs"
            for s in ("raven", "sentry-sdk")
        ]
        ratio = _ratio(row["ratio_overhead"].get("sentry-sdk"))
        rows.append([f"{row['title']}: calling-thread cost", *cells, "n/a", ratio, ""])
    return rows


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "\n## logs\n",
        "What one structured log or one metric costs the calling thread: each SDK with "
        "`enable_logs=True` against the same loop without an SDK (for `api` and `metric`, a call "
        "to a no-op). `logging.info` goes to a logger with a `NullHandler` at INFO; with logs off "
        "the same call costs the breadcrumb alone. Logs and metrics are batched and sent by the "
        "SDK's own threads to a loopback receiver during the run. Raven: `client.logger.info("
        '"order %s paid", i)`, `client.metrics.count`; sentry-sdk: `sentry_sdk.logger.info('
        '"order {id} paid", id=i)`, `sentry_sdk.metrics.count`. Off and on alternate, each the '
        "best of 3 processes; µs, median (p95). "
        f"Logs received: {result.get('logs_received', 0):,}; metrics: "
        f"{result.get('metrics_received', 0):,}. Run {result.get('started_at', '?')}, load "
        f"average {_load(result)} at the start (other work on the machine shows there).\n",
        "| call | Raven off → on | sentry-sdk off → on | Raven / sentry-sdk (overhead) |",
        "|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['title']} | {_cell(row['sdks']['raven'])} | "
            f"{_cell(row['sdks']['sentry-sdk'])} | {_ratio(row['ratio_overhead'].get('sentry-sdk'))} |"
        )
    log_part = result.get("raven_log_over_breadcrumb")
    if log_part is not None:
        lines.append(
            f"\nRaven's log alone (logs on minus logs off, `logging.info`): "
            f"{log_part['log_us']:+,.2f} µs, beside its breadcrumb's {log_part['breadcrumb_us']:+,.2f} µs."
        )
    return "\n".join(lines) + "\n"
