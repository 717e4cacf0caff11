"""The ``sessions`` benchmark, worker side: what release health adds to a Flask hello-world
request, Raven beside sentry-sdk (``worker.py <sdk> sessions '{...}'``).

Both runs of an SDK have the SDK installed on the app with a release; ``enabled`` says whether
session tracking is on (``auto_session_tracking``). The difference is what counting one request
as a session costs: for Raven a context variable set and reset and a counter incremented under a
lock; the aggregates are sent by a background thread during the run (and flushed after it, not
timed). Requests go through the app's WSGI callable as the ``overhead`` benchmark's do.
"""

from __future__ import annotations

from typing import Any

__all__ = ["bench_sessions"]

RELEASE = "bench@1.0.0"


def _app(sdk: str, dsn: str, tracking: bool) -> tuple[Any, Any]:
    """The Flask hello-world app with ``sdk`` installed, and how to flush it afterwards."""
    from frameworks import HELLO

    flush: Any = None
    if sdk == "sentry-sdk":
        import sentry_sdk

        sentry_sdk.init(dsn, release=RELEASE, auto_session_tracking=tracking)
        flush = lambda: sentry_sdk.flush(30)  # noqa: E731
    from flask import Flask

    app = Flask("bench")

    @app.route("/hello")
    def hello() -> str:
        return HELLO

    if sdk == "raven":
        import raven
        from raven_flask import Sentry

        client = raven.Client(dsn, release=RELEASE, auto_session_tracking=tracking)
        Sentry(app, client=client)
        flush = lambda: client.flush(30)  # noqa: E731
    return app, flush


def _interleaved(sdk: str, dsn: str, app: Any, iterations: int) -> dict[str, float]:
    """Medians (µs) of requests with tracking off and on, alternating request by request in this
    one process, so that what else the machine does hits both alike: for Raven a twin app with
    tracking off, for sentry-sdk its ``auto_session_tracking`` option switched between requests
    (it reads it per request)."""
    import statistics
    import time

    from frameworks import _wsgi_timer

    on_request = _wsgi_timer(app)
    if sdk == "raven":
        twin, _flush = _app("raven", dsn, False)
        requests = {True: on_request, False: _wsgi_timer(twin)}
        options: dict[str, Any] = {}
    else:
        import sentry_sdk

        requests = {True: on_request, False: on_request}
        options = sentry_sdk.get_client().options
    samples: dict[bool, list[float]] = {True: [], False: []}
    clock = time.perf_counter
    for index in range(2 * iterations + 200):
        tracking = bool(index & 1)
        options["auto_session_tracking"] = tracking
        start = clock()
        requests[tracking]()
        if index >= 200:  # the first hundred of each warm up
            samples[tracking].append(clock() - start)
    options["auto_session_tracking"] = True
    return {
        "interleaved_off_us": statistics.median(samples[False]) * 1e6,
        "interleaved_on_us": statistics.median(samples[True]) * 1e6,
    }


def bench_sessions(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    """Per-request samples (seconds) with session tracking on (``enabled``) or off; the number
    of sessions the SDK counted is what the receiver got (checked by the orchestrator)."""
    import logging

    from frameworks import _measure, _wsgi_timer

    logging.disable(logging.WARNING)
    try:
        app, flush = _app(sdk, args["dsn"], bool(args["enabled"]))
        samples = _measure(_wsgi_timer(app), args["iterations"], args["warmup"])
        extra = _interleaved(sdk, args["dsn"], app, args["iterations"]) if args["enabled"] else None
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    flush()
    return {"samples": samples, "extra": extra} if extra else {"samples": samples}


# -- the report (run in the orchestrating process) -------------------------------------------------
def markdown(result: dict[str, Any]) -> str:
    """The ``sessions`` section of RESULTS.md."""
    from logs import _cell, _load, _ratio  # the same cells as the logs table

    row = result["row"]
    return (
        "\n".join(
            [
                "\n## sessions\n",
                "What counting each request as a session (release health) adds to a Flask "
                "hello-world request: the same app with the SDK installed and a release, session "
                "tracking off, then on (`auto_session_tracking`), requests driven through the WSGI "
                "callable. Off and on alternate, each the best of 3 processes; µs, median (p95). "
                f"Sessions received: {result.get('sessions_received', 0):,} (both SDKs). Run "
                f"{result.get('started_at', '?')}, load average {_load(result)} at the start.\n",
                "| app | Raven off → on | sentry-sdk off → on | Raven / sentry-sdk (overhead) |",
                "|---|---|---|---|",
                f"| Flask hello world | {_cell(row['sdks']['raven'])} | "
                f"{_cell(row['sdks']['sentry-sdk'])} | "
                f"{_ratio(row['ratio_overhead'].get('sentry-sdk'))} |",
                f"| same, off and on alternating in one process (best round) | "
                f"{_interleaved_cell(row['sdks']['raven'])} | "
                f"{_interleaved_cell(row['sdks']['sentry-sdk'])} | |",
            ]
        )
        + "\n"
    )


def _interleaved_cell(measured: dict[str, Any]) -> str:
    """The in-process off → on medians of the round whose overhead was smallest."""
    rounds = [r for r in measured.get("extra") or [] if r]
    if not rounds:
        return "n/a"
    best = min(rounds, key=lambda r: r["interleaved_on_us"] - r["interleaved_off_us"])
    off, on = best["interleaved_off_us"], best["interleaved_on_us"]
    return f"{off:.1f} → {on:.1f} (+{on - off:.2f})"


def headline_rows(result: dict[str, Any]) -> list[list[str]]:
    """The README headline row (columns: Raven, sentry-sdk, raven 6.10, two ratios): the
    in-process alternating figures, the ones a busy machine disturbs least."""
    from logs import _ratio

    sdks = result["row"]["sdks"]
    deltas: dict[str, float | None] = {}
    for sdk in ("raven", "sentry-sdk"):
        rounds = [r for r in sdks[sdk].get("extra") or [] if r]
        deltas[sdk] = (
            min(r["interleaved_on_us"] - r["interleaved_off_us"] for r in rounds)
            if rounds
            else None
        )
    cells = [f"{d:+,.2f} µs" if d is not None else "n/a" for d in deltas.values()]
    raven, peer = deltas["raven"], deltas["sentry-sdk"]
    ratio = _ratio(raven / peer if raven is not None and peer else None)
    return [["Release health: a Flask request counted as a session", *cells, "n/a", ratio, ""]]
