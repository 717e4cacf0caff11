"""Runs one benchmark for one SDK inside that SDK's virtualenv; prints one JSON line.

    <venv>/bin/python benchmarks/worker.py <sdk> <benchmark> '<json arguments>'

Standard library and the SDK under test only. Timings are taken with ``time.perf_counter`` around
the SDK call alone (building the exception happens outside the timed region).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
from typing import Any

from sdks import RssSampler, make_adapter, rss_bytes

DEPTH = 20


class Basket:
    """An ordinary object in every frame's locals."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.items = 3


def _frame(depth: int, tag: int) -> None:
    count = depth  # int
    label = f"frame {depth} of error {tag}"  # str
    settings = {"depth": depth, "label": label, "enabled": True, "ratio": 0.5}  # dict
    values = list(range(100))  # 100-item list
    basket = Basket("alice")  # object
    if depth <= 1:
        raise ValueError(
            f"benchmark error {tag}: {count} {len(values)} {settings['ratio']} {basket.items}"
        )
    _frame(depth - 1, tag)


def deep_exception(tag: int, depth: int = DEPTH) -> BaseException:
    """A fresh exception raised ``depth`` frames deep, each frame with the 5 kinds of locals."""
    try:
        _frame(depth, tag)
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


def _shallow(tag: int) -> None:
    kind = (KeyError, ValueError, RuntimeError, LookupError, OSError)[tag % 5]
    raise kind(f"storm error {tag}")


def shallow_exception(tag: int) -> BaseException:
    try:
        _shallow(tag)
    except Exception as exc:
        return exc
    raise AssertionError("unreachable")


# -- benchmarks -------------------------------------------------------------------------------------
def bench_capture(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    """Per-call cost of one capture kind: ``exception`` (20 deep) or ``message``."""
    adapter = make_adapter(sdk)
    adapter.setup(args["dsn"], capture_locals=args.get("locals", True), transport=args["transport"])
    kind, iterations, warmup = args["kind"], args["iterations"], args["warmup"]
    pause = args.get("pause", 0.0)
    samples: list[float] = []
    for i in range(warmup + iterations):
        if kind == "exception":
            exc = deep_exception(i)
            start = time.perf_counter()
            adapter.capture_exception(exc)
            elapsed = time.perf_counter() - start
        else:
            message = f"benchmark message {i}"
            start = time.perf_counter()
            adapter.capture_message(message)
            elapsed = time.perf_counter() - start
        if i >= warmup:
            samples.append(elapsed)
        if pause:
            time.sleep(pause)  # let the background transport finish, as between real errors
    adapter.flush(10)
    return {"samples": samples, "version": adapter.version()}


def bench_storm(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    """``count`` distinct errors as fast as possible, then up to ``flush_timeout`` s to deliver."""
    logging.disable(logging.CRITICAL)  # the peers log every failed send; that is not measured
    adapter = make_adapter(sdk)
    adapter.setup(args["dsn"])
    count = args["count"]
    errors = [shallow_exception(i) for i in range(count)]
    adapter.preload()
    baseline = rss_bytes()
    stalls: list[float] = []
    with RssSampler() as sampler:
        loop_start = time.perf_counter()
        for exc in errors:
            start = time.perf_counter()
            adapter.capture_exception(exc)
            stalls.append(time.perf_counter() - start)
        loop_time = time.perf_counter() - loop_start
        flush_start = time.perf_counter()
        adapter.flush(args["flush_timeout"])
        flush_time = time.perf_counter() - flush_start
    return {
        "app_thread_seconds": sum(stalls),
        "loop_seconds": loop_time,
        "flush_seconds": flush_time,
        "max_stall": max(stalls),
        "samples": stalls,
        "dropped_counted": adapter.dropped(),
        "pending": adapter.pending(),
        "peak_rss_growth": sampler.peak - baseline,
        "version": adapter.version(),
    }


def bench_size(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    """Send one event through the SDK's default transport; the receiver measures the request."""
    adapter = make_adapter(sdk)
    adapter.setup(args["dsn"], capture_locals=args.get("locals", True))
    if args["kind"] == "exception":
        adapter.capture_exception(deep_exception(1))
    else:
        adapter.capture_message("benchmark message 1")
    adapter.flush(10)
    return {"version": adapter.version()}


BENCHMARKS = {"capture": bench_capture, "storm": bench_storm, "size": bench_size}


# Benchmarks in their own modules, imported only by the worker that runs them: (module, function).
LAZY_BENCHMARKS = {
    "overhead": ("frameworks", "bench_overhead"),
    "tracing": ("tracing", "bench_tracing"),
    "logs": ("logs", "bench_logs"),
    "profiling": ("profiling", "bench_profiling"),
    "monitor": ("monitors", "bench_monitor"),
    "sessions": ("sessions", "bench_sessions"),
}


def main() -> None:
    sdk, name, raw = sys.argv[1], sys.argv[2], sys.argv[3]
    if name in LAZY_BENCHMARKS:
        module, function = LAZY_BENCHMARKS[name]
        bench = getattr(importlib.import_module(module), function)
    else:
        bench = BENCHMARKS[name]
    result = bench(sdk, json.loads(raw))
    print(json.dumps(result), flush=True)
    # No interpreter shutdown: the SDKs' exit hooks would keep delivering (and be measured).
    os._exit(0)


if __name__ == "__main__":
    main()
