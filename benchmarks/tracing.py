"""The ``tracing`` benchmark, worker side: per-request cost with tracing on
(``traces_sample_rate=1.0``: every request becomes a transaction), against the same app with no
SDK, in one SDK's virtualenv (``worker.py <sdk> tracing '{...}'``).

Two apps, driven through their WSGI callable as in the ``overhead`` benchmark:
- ``flask``: a hello-world route (the transaction alone);
- ``django``: a view that runs 10 SQL queries on SQLite and makes one outgoing HTTP call to a
  loopback server in the same process (a transaction with 11 spans, trace headers on the call).

The transaction is sent by the SDK's own background transport to a healthy loopback receiver.
Two figures per request: the calling thread's CPU time (``time.thread_time``: what the request's
thread itself spends, the issue's measure), and wall time (which also holds what the SDK's
background threads take from the request while they hold the GIL, and, for Django, the wait for
the outgoing call).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from frameworks import HELLO, _wsgi_timer

__all__ = ["bench_tracing"]

QUERIES = 10


def _measure(one_request: Any, iterations: int, warmup: int) -> dict[str, list[float]]:
    for _ in range(warmup):
        one_request()
    cpu, wall = [], []
    for _ in range(iterations):
        start_cpu, start = time.thread_time(), time.perf_counter()
        one_request()
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return {"samples": cpu, "wall_samples": wall}


def _sdk_init(sdk: str, dsn: str, options: dict[str, Any] | None = None) -> Any:
    """The Raven client (or None) for ``sdk``; sentry-sdk is initialised globally. ``options``:
    more options for either (the ``profiling`` benchmark adds ``profiles_sample_rate``)."""
    if sdk == "sentry-sdk":
        import sentry_sdk

        sentry_sdk.init(dsn, traces_sample_rate=1.0, **(options or {}))
    if sdk == "raven":
        import raven

        return raven.Client(dsn, traces_sample_rate=1.0, **(options or {}))
    return None


def flask_tracing(sdk: str, dsn: str, iterations: int, warmup: int) -> dict[str, list[float]]:
    client = _sdk_init(sdk, dsn)
    from flask import Flask

    app = Flask("bench")

    @app.route("/hello")
    def hello() -> str:
        return HELLO

    if client is not None:
        from raven_flask import Sentry

        Sentry(app, client=client)
    return _measure(_wsgi_timer(app), iterations, warmup)


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body in two writes: no 40 ms delayed-ACK stall

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


urlpatterns: list[Any] = []


def django_tracing(
    sdk: str,
    dsn: str,
    iterations: int,
    warmup: int,
    options: dict[str, Any] | None = None,
    busy_ms: float = 0.0,
) -> dict[str, list[float]]:
    """The Django app; ``busy_ms``: the view also spends that much CPU time in Python (a view
    slow enough for a profile to take several samples)."""
    import django
    from django.conf import settings

    if sdk == "sentry-sdk":
        _sdk_init(sdk, dsn, options)
    apps = ["django.contrib.contenttypes", "django.contrib.auth"]
    extra: dict[str, Any] = {}
    if sdk == "raven":
        apps.append("raven_django")
        extra["RAVEN_CONFIG"] = {"dsn": dsn, "traces_sample_rate": 1.0, **(options or {})}
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=apps,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        USE_TZ=True,
        LOGGING_CONFIG=None,
        **extra,
    )
    django.setup()
    import requests
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection
    from django.http import HttpResponse
    from django.urls import path

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    session = requests.Session()  # keep-alive: the call costs the same with and without SDK

    def orders(request: Any) -> HttpResponse:
        with connection.cursor() as cursor:
            for i in range(QUERIES):
                cursor.execute("SELECT %s + 1", [i])
                cursor.fetchone()
        assert session.get(url, timeout=5).content == b"ok"
        if busy_ms:
            _busy(busy_ms / 1000)
        return HttpResponse(HELLO)

    urlpatterns[:] = [path("hello", orders)]
    return _measure(_wsgi_timer(WSGIHandler()), iterations, warmup)


def _busy(seconds: float) -> int:
    """Spin in Python for ``seconds`` of this thread's CPU time."""
    end, spins = time.thread_time() + seconds, 0
    while time.thread_time() < end:
        spins += 1
    return spins


APPS = {"flask": flask_tracing, "django": django_tracing}


def bench_tracing(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    import logging

    logging.disable(logging.WARNING)
    sdk_name = sdk if args["enabled"] else "off"
    try:
        return APPS[args["app"]](sdk_name, args["dsn"], args["iterations"], args["warmup"])
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- the report (run in the orchestrating process) -------------------------------------------------
def _cell(data: dict[str, Any], kind: str = "") -> str:
    if "error" in data:
        return f"n/a ({data['error']})"
    off, on = data[f"{kind}off"], data[f"{kind}on"]
    return (
        f"{off['median']:,.1f} → {on['median']:,.1f} "
        f"(p95 {on['p95']:,.0f}): **{on['median'] - off['median']:+,.1f}**"
    )


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}×"


def headline_rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for the README headline (columns: Raven, sentry-sdk, raven 6.10, two ratios)."""
    rows = []
    for row in result["rows"]:
        cells = [
            "n/a" if "error" in row["sdks"][s] else f"{row['sdks'][s]['overhead_us']:+,.0f} µs"
            for s in ("raven", "sentry-sdk")
        ]
        ratio = _ratio(row["ratio_overhead"].get("sentry-sdk"))
        rows.append(
            [f"{row['title']}, tracing on: calling thread per request", *cells, "n/a", ratio, ""]
        )
    return rows


def overhead_lines(row: dict[str, Any]) -> list[str]:
    """A row's table lines: calling-thread CPU, and wall time when both SDKs measured it."""
    raven, sentry = row["sdks"]["raven"], row["sdks"]["sentry-sdk"]
    lines = [
        f"| {row['title']} | calling thread CPU | {_cell(raven)} | {_cell(sentry)} | "
        f"{_ratio(row['ratio_overhead'].get('sentry-sdk'))} |"
    ]
    if "wall_on" in raven and "wall_on" in sentry:
        wall = {s: d["wall_on"]["median"] - d["wall_off"]["median"] for s, d in row["sdks"].items()}
        ratio = wall["raven"] / wall["sentry-sdk"] if wall["sentry-sdk"] > 0 else None
        lines.append(
            f"| | wall time | {_cell(raven, 'wall_')} | {_cell(sentry, 'wall_')} | "
            f"{_ratio(ratio)} |"
        )
    return lines


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "\n## tracing\n",
        "Per-request cost with tracing on (`traces_sample_rate=1.0`: every request becomes a "
        "transaction, sent by the SDK's background transport to a loopback receiver), against the "
        "same app with no SDK, through the WSGI callable. Django's view runs 10 SQL queries on "
        "SQLite and one outgoing HTTP call (keep-alive `requests.Session`) to a loopback server: "
        "11 spans and trace headers on the call. Raven: raven-flask / raven-django; sentry-sdk: its "
        "default integrations. Off and on alternate, each the best of 3 processes. µs, median (p95). "
        f"Transactions received by the loopback server during the run: "
        f"{result.get('transactions_received', 0):,}.\n",
        "| app | measure | Raven off → on | sentry-sdk off → on | Raven / sentry-sdk (overhead) |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines += overhead_lines(row)
    return "\n".join(lines) + "\n"
