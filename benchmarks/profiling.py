"""The ``profiling`` benchmark: a profiled Django request, Raven beside sentry-sdk, with
``traces_sample_rate=1.0`` and ``profiles_sample_rate=1.0`` (every request a profiled
transaction), against the same app with no SDK (``worker.py <sdk> profiling '{...}'``).

The app is the ``tracing`` benchmark's Django view (10 SQL queries on SQLite and one outgoing
HTTP call to a loopback server: benchmarks/tracing.py), driven through its WSGI callable. Two
figures:
- per request, the calling thread's CPU time and wall time, off → on (what profiling and tracing
  together cost the request);
- the profiler thread's own CPU time over the run (Linux: ``pthread_getcpuclockid`` of the
  thread, read from the worker; Raven's sampler also sums its own ``time.thread_time`` when
  it ends), per request and as a share of one core over the loop's wall time.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from tracing import _ratio, django_tracing, overhead_lines  # the same app and table cells

__all__ = ["VIEWS", "bench_profiling", "headline_rows", "markdown"]

SDKS = ("raven", "sentry-sdk")  # raven 6.10 has no profiler
VIEWS = {0.0: "Django view (10 SQL queries + 1 HTTP call)", 30.0: "the same + 30 ms of Python"}
PROFILER_THREADS = {"raven": "raven.profiler", "sentry-sdk": "sentry.profiler.ThreadScheduler"}
OPTIONS = {"profiles_sample_rate": 1.0}


def _profiler_cpu(sdk: str) -> float:
    """Seconds of CPU the SDK's profiler thread used in this process so far."""
    thread = next((t for t in threading.enumerate() if t.name == PROFILER_THREADS[sdk]), None)
    if sdk == "raven":
        if thread is not None:
            thread.join(5)  # nothing is profiled any more: it ends at its next tick
        from raven.profiling import process_sampler

        return process_sampler.cpu_seconds
    if thread is None or thread.ident is None:
        return 0.0
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def bench_profiling(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    logging.disable(logging.WARNING)
    name = sdk if args["enabled"] else "off"
    iterations, warmup = args["iterations"], args["warmup"]
    try:
        result: dict[str, Any] = django_tracing(
            name, args["dsn"], iterations, warmup, OPTIONS, args.get("busy_ms", 0.0)
        )
        if args["enabled"]:
            requests = iterations + warmup
            loop = sum(result["wall_samples"]) * requests / iterations
            cpu = _profiler_cpu(sdk)
            result["extra"] = {
                "profiler_cpu_us_per_request": cpu / requests * 1e6,
                "profiler_cpu_share": cpu / loop if loop else None,
            }
        return result
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- the report (run in the orchestrating process) -------------------------------------------------
def _profiler(data: dict[str, Any]) -> str:
    extras = data.get("extra") or []
    if not extras:
        return "n/a"
    per_request = sorted(e["profiler_cpu_us_per_request"] for e in extras)
    share = sorted(e["profiler_cpu_share"] or 0.0 for e in extras)
    mid = len(extras) // 2
    return f"{per_request[mid]:,.1f} µs per request ({share[mid] * 100:.1f}% of a core)"


def _overhead(data: dict[str, Any]) -> str:
    return "n/a" if "error" in data else f"{data['overhead_us']:+,.0f} µs"


def headline_rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for the README headline (columns: Raven, sentry-sdk, raven 6.10, two ratios)."""
    rows = []
    for row in result["rows"]:
        sdks = row["sdks"]
        rows.append(
            [
                f"{row['title']}, tracing + profiling on: calling thread per request",
                *(_overhead(sdks[s]) for s in SDKS),
                "n/a",
                _ratio(row["ratio_overhead"].get("sentry-sdk")),
                "",
            ]
        )
        rows.append(
            [
                f"{row['title']}: profiler thread CPU",
                *(_profiler(sdks[s]) for s in SDKS),
                "n/a",
                "",
                "",
            ]
        )
    return rows


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "\n## profiling\n",
        "A profiled Django request: `traces_sample_rate=1.0` and `profiles_sample_rate=1.0` "
        "(every request a profiled transaction, sent with its profile by the SDK's background "
        "transport to a loopback receiver), against the same app with no SDK, through the WSGI "
        "callable. The view is the tracing benchmark's (10 SQL queries on SQLite and one "
        "outgoing HTTP call: about a millisecond, so most of its profiles hold fewer than 2 "
        "samples at 101 Hz and are dropped as `insufficient_data` by both SDKs), and the same "
        "view spending 30 ms more in Python (every profile sent). Off and on alternate, each the "
        "best of 3 processes; µs, median (p95). The profiler thread's CPU is its own thread "
        "clock over the whole run (warm-up included), divided by the requests served, and as a "
        "share of one core over the run.\n",
        "| view | measure | Raven off → on | sentry-sdk off → on | Raven / sentry-sdk (overhead) |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        raven, sentry = row["sdks"]["raven"], row["sdks"]["sentry-sdk"]
        lines += overhead_lines(row)
        lines.append(f"| | profiler thread CPU | {_profiler(raven)} | {_profiler(sentry)} | |")
        received = row.get("received", {})
        lines.append(
            "| | transactions / profiles received | "
            + " | ".join(
                f"{received.get(s, {}).get('transaction', 0):,} / "
                f"{received.get(s, {}).get('profile', 0):,}"
                for s in SDKS
            )
            + " | |"
        )
    return "\n".join(lines) + "\n"
