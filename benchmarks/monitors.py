"""The ``monitor`` benchmark, worker side: what one monitored run costs the calling thread, Raven
beside sentry-sdk (``worker.py <sdk> monitor '{...}'``).

The timed call is ``with client.monitor("bench-job", monitor_config=CONFIG): pass`` (Raven) and
``with sentry_sdk.monitor("bench-job", monitor_config=CONFIG): pass`` (sentry-sdk): two check-ins,
``in_progress`` and ``ok`` with the duration, each handed to the SDK's transport, which sends them
from its own threads to a healthy loopback receiver during the run. Without an SDK the same loop
enters a no-op context manager.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

__all__ = ["bench_monitor"]

CONFIG = {
    "schedule": {"type": "crontab", "value": "0 * * * *"},
    "timezone": "UTC",
    "checkin_margin": 5,
    "max_runtime": 30,
}


def _run(sdk: str, dsn: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """The context manager to time (``sdk == "off"``: a no-op one), and how to deliver what the
    SDK queued afterwards (not timed)."""
    if sdk == "off":
        return contextlib.nullcontext, lambda: None
    if sdk == "raven":
        import raven

        client = raven.Client(dsn)
        monitor = client.monitor("bench-job", monitor_config=CONFIG)  # made once, as a decorator is
        return (lambda: monitor), lambda: client.flush(30)
    import sentry_sdk

    sentry_sdk.init(dsn)
    return (
        lambda: sentry_sdk.monitor("bench-job", monitor_config=CONFIG)
    ), lambda: sentry_sdk.flush(30)


def bench_monitor(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    """Per-run samples (seconds) of a monitored empty block, with the SDK (``enabled``) or
    without."""
    try:
        make, flush = _run(sdk if args["enabled"] else "off", args["dsn"])
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    for _ in range(args["warmup"]):
        with make():
            pass
    samples = []
    clock = time.perf_counter
    for _ in range(args["iterations"]):
        start = clock()
        with make():
            pass
        samples.append(clock() - start)
    flush()
    return {"samples": samples}


# -- the report (run in the orchestrating process) -------------------------------------------------
def markdown(result: dict[str, Any]) -> str:
    """The ``monitor`` section of RESULTS.md."""
    from logs import _cell, _load, _ratio  # the same cells as the logs table

    row = result["row"]
    return (
        "\n".join(
            [
                "\n## monitor\n",
                'What one monitored run costs the calling thread: `with client.monitor("bench-job", '
                'monitor_config=...): pass` (Raven) beside `with sentry_sdk.monitor("bench-job", '
                "monitor_config=...): pass` (sentry-sdk), each against the same loop entering a "
                "no-op context manager: two check-ins (`in_progress`, then `ok` with the duration) "
                "handed to the SDK's transport, sent by its own threads to a loopback receiver "
                "during the run. Off and on alternate, each the best of 3 processes; µs, median "
                f"(p95). Check-ins received: {result.get('check_ins_received', 0):,}. Run "
                f"{result.get('started_at', '?')}, load average {_load(result)} at the start.\n",
                "| call | Raven off → on | sentry-sdk off → on | Raven / sentry-sdk (overhead) |",
                "|---|---|---|---|",
                f"| Monitored run (two check-ins) | {_cell(row['sdks']['raven'])} | "
                f"{_cell(row['sdks']['sentry-sdk'])} | "
                f"{_ratio(row['ratio_overhead'].get('sentry-sdk'))} |",
            ]
        )
        + "\n"
    )


def headline_rows(result: dict[str, Any]) -> list[list[str]]:
    """The README headline row (columns: Raven, sentry-sdk, raven 6.10, two ratios)."""
    from logs import _ratio

    row = result["row"]
    cells = [
        "n/a" if "error" in row["sdks"][s] else f"{row['sdks'][s]['overhead_us']:+,.2f} µs"
        for s in ("raven", "sentry-sdk")
    ]
    ratio = _ratio(row["ratio_overhead"].get("sentry-sdk"))
    return [["Cron monitor run (two check-ins): calling-thread cost", *cells, "n/a", ratio, ""]]
