"""RESULTS.md from results.json: the machine, the versions, one table per benchmark."""

from __future__ import annotations

from typing import Any

__all__ = ["headline", "write_markdown"]

SDKS = ["raven", "sentry-sdk", "raven-6.10"]
PEERS = ["sentry-sdk", "raven-6.10"]


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def headline(results: dict[str, Any]) -> str:
    """The short table for the README: medians, Raven first, ratios Raven/peer (below 1 is better)."""
    rows: list[list[str]] = []
    bench = results["benchmarks"]
    if "capture" in bench:
        for row in bench["capture"]["rows"]:
            if row["case"] == "message" and row["mode"].startswith("full"):
                continue
            label = (
                f"captureException 20 frames, {row['case'].split(', ')[-1]}"
                if row["case"] != "message"
                else "captureMessage"
            )
            label += " — " + ("calling thread" if row["mode"] == "calling thread" else "full cost")
            values = [f"{row['sdks'][s]['median']:,.0f} µs" for s in SDKS]
            rows.append([label, *values, *(_ratio(row["ratio"][p]) for p in PEERS)])
    if "startup" in bench:
        s = bench["startup"]
        rows.append(
            [
                "startup: import + init, over `python -c pass`",
                *(f"{s['sdk_cost'][sdk]:,.0f} ms" for sdk in SDKS),
                *(_ratio(s["ratio_sdk_cost"][p]) for p in PEERS),
            ]
        )
        if "raven_over_stdlib" in s:
            rows.append(
                [
                    "startup: `import raven; raven.Client(dsn)` / importing the stdlib modules "
                    "every app loads",
                    f"{s['raven_over_stdlib']:.2f}×",
                    "",
                    "",
                    "",
                    "",
                ]
            )
    if "storm" in bench:
        by = {(r["mode"], r["sdk"]): r for r in bench["storm"]["rows"]}
        errors = bench["storm"]["errors"]
        for mode in ("healthy", "down"):
            if all((mode, s) in by for s in SDKS):
                cells = [f"{by[(mode, s)]['app_thread_seconds']:.2f} s" for s in SDKS]
                mine = by[(mode, "raven")]["app_thread_seconds"]
                rows.append(
                    [
                        f"storm of {errors:,} errors, server {mode}: app-thread time",
                        *cells,
                        *(_ratio(mine / by[(mode, p)]["app_thread_seconds"]) for p in PEERS),
                    ]
                )
        if all(("healthy", s) in by for s in SDKS):

            def fate(r: dict[str, Any]) -> str:
                parts = [f"{r['delivered']:,} delivered"]
                if r["dropped_counted"]:
                    parts.append(f"{r['dropped_counted']:,} dropped (counted)")
                if r["still_queued"]:
                    parts.append(f"{r['still_queued']:,} still queued")
                if r["dropped_counted"] is None:
                    parts.append("drops not counted")
                return ", ".join(parts)

            rows.append(
                [
                    f"storm of {errors:,} errors, server healthy: delivered within "
                    f"{bench['storm']['flush_timeout']:.0f} s of flush",
                    *(fate(by[("healthy", s)]) for s in SDKS),
                    "",
                    "",
                ]
            )
            cells = [f"{by[('healthy', s)]['peak_rss_growth_mb']:.0f} MB" for s in SDKS]
            mine = by[("healthy", "raven")]["peak_rss_growth_mb"]
            rows.append(
                [
                    "storm, server healthy: peak RSS growth",
                    *cells,
                    *(_ratio(mine / by[("healthy", p)]["peak_rss_growth_mb"]) for p in PEERS),
                ]
            )
    if "size" in bench:
        row = bench["size"]["rows"][0]
        rows.append(
            [
                f"bytes on the wire, {row['case']}",
                *(f"{row['sdks'][s]['compressed']:,} B" for s in SDKS),
                *(_ratio(row["ratio_compressed"][p]) for p in PEERS),
            ]
        )
    if "overhead" in bench:
        for row in bench["overhead"]["rows"]:
            if "skipped" in row:
                continue
            cells = []
            for sdk in SDKS:
                data = row["sdks"].get(sdk, {})
                cells.append("n/a" if "error" in data else f"{data['overhead_us']:+,.0f} µs")
            label = (
                "Celery task round trip overhead"
                if row["framework"] == "celery"
                else f"{row['framework'].capitalize()} per-request overhead"
            )
            rows.append([label, *cells, *(_ratio(row["ratio_overhead"][p]) for p in PEERS)])
    if "tracing" in bench:
        from tracing import headline_rows

        rows.extend(headline_rows(bench["tracing"]))
    if "logs" in bench:
        from logs import headline_rows as logs_rows

        rows.extend(logs_rows(bench["logs"]))
    if "profiling" in bench:
        from profiling import headline_rows as profiling_rows

        rows.extend(profiling_rows(bench["profiling"]))
    if "monitor" in bench:
        from monitors import headline_rows as monitor_rows

        rows.extend(monitor_rows(bench["monitor"]))
    if "sessions" in bench:
        from sessions import headline_rows as sessions_rows

        rows.extend(sessions_rows(bench["sessions"]))
    header = ["", "Raven", "sentry-sdk", "raven 6.10", "Raven / sentry-sdk", "Raven / raven 6.10"]
    return _table(header, rows) + (
        "\nMedians; ratio below 1: Raven is cheaper. n/a: no integration in that SDK, or "
        "its measured overhead is zero or below (within noise).\n"
    )


def write_markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    v = results["versions"]
    fw = results["frameworks"]
    parts = [
        "# Raven benchmarks\n\n",
        "Generated by `hatch run bench:run` (benchmarks/run.py); raw numbers in `results.json`. Each SDK runs in "
        "its own virtualenv on the same interpreter; times are medians unless a column says otherwise, and a "
        "ratio below 1 means Raven is cheaper than the peer.\n\n",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}\n"
        f"- Python {m['python']}; Raven (raven-core) {v['raven']}, sentry-sdk {v['sentry-sdk']}, "
        f"raven {v['raven-6.10']}\n"
        f"- Frameworks: " + ", ".join(f"{k} {val}" for k, val in fw.items()) + "\n"
        f"- Run: {results['started_at']}, {results['duration_seconds']:.0f} s"
        + (" (--quick: harness check, not figures)" if results.get("quick") else "")
        + "\n",
        "\n## Headline\n\n",
        headline(results),
    ]
    bench = results["benchmarks"]
    if "capture" in bench:
        c = bench["capture"]
        parts.append(
            "\n## capture\n\nOne error raised 20 frames deep, each frame holding an int, a str, a dict, a 100-item "
            "list and an object; a fresh exception per call, only the SDK call timed. *Calling thread*: the SDK's "
            "own background transport sending to a healthy loopback receiver, 3 ms between captures. *Full*: a "
            "transport that does everything up to the wire (JSON, envelope/store body, compression) in the "
            f"calling thread, then drops the bytes. {c['iterations']} calls per process, best of {c.get('rounds', 1)} "
            "processes (the one with the lowest median: the least disturbed by other load), µs.\n\n"
        )
        rows = []
        for row in c["rows"]:
            cells = [
                f"{row['sdks'][s]['median']:,.0f} / {row['sdks'][s]['p95']:,.0f}" for s in SDKS
            ]
            rows.append(
                [row["mode"], row["case"], *cells, *(_ratio(row["ratio"][p]) for p in PEERS)]
            )
        parts.append(
            _table(
                [
                    "mode",
                    "case",
                    "Raven median / p95",
                    "sentry-sdk median / p95",
                    "raven 6.10 median / p95",
                    "Raven / sentry-sdk",
                    "Raven / raven 6.10",
                ],
                rows,
            )
        )
    if "startup" in bench:
        s = bench["startup"]
        parts.append(
            f"\n## startup\n\nWall time of a fresh interpreter, {s['runs']} runs each, round robin: "
            "`python -c pass`, `import raven; raven.Client(dsn)`, `import sentry_sdk; sentry_sdk.init(dsn)` "
            "(default integrations), raven 6.10's `raven.Client(dsn)`. *SDK cost* is the median minus "
            "`python -c pass` in the same virtualenv. Every virtualenv has the same five frameworks installed; "
            "sentry-sdk's auto-enabling integrations import each supported framework they find (Flask, Django, "
            "Celery, Sanic, Tornado, Redis here), which an app using one of them partly pays anyway, so its "
            "`auto_enabling_integrations=False` variant is shown too. ms.\n\n"
        )
        rows = []
        for name, row in s["rows"].items():
            cost = s["sdk_cost"].get(name)
            rows.append(
                [
                    f"`{name}`" if name.startswith("python") else name,
                    _num(row["median"], 1),
                    _num(row["p95"], 1),
                    "" if cost is None else _num(cost, 1),
                ]
            )
        parts.append(_table(["command", "median", "p95", "SDK cost"], rows))
        parts.append(
            "\nRaven / peer, SDK cost: "
            + ", ".join(f"{p} {_ratio(s['ratio_sdk_cost'][p])}" for p in PEERS)
            + "\n"
        )
    if "storm" in bench:
        st = bench["storm"]
        parts.append(
            f"\n## storm\n\n{st['errors']:,} distinct errors captured as fast as possible, then up to "
            f"{st['flush_timeout']:.0f} s of flush; the process then exits without its SDK's exit hooks. *Delivered*: "
            "events the loopback receiver accepted. *Counted dropped*: events the SDK itself counted as dropped "
            "(what its client reports tell the server; raven 6.10 counts nothing). *Queued*: still in the SDK's "
            "queue when the flush time ran out (kept for retry). *Unaccounted*: none of these: lost without "
            "being counted (for 429 this includes the few events in flight that the server refused, which the "
            "server counts itself). *Requests*: requests the server saw. Times for the app thread only.\n\n"
        )
        rows = []
        for r in st["rows"]:
            rows.append(
                [
                    r["mode"],
                    r["sdk"],
                    _num(r["delivered"]),
                    _num(r["dropped_counted"]),
                    _num(r["still_queued"]),
                    _num(r["unaccounted"]),
                    _num(r["requests_seen"]),
                    f"{r['app_thread_seconds']:.2f}",
                    f"{r['per_call_us']['median']:,.0f} / {r['per_call_us']['p99']:,.0f}",
                    f"{r['max_stall_ms']:,.1f}",
                    f"{r['flush_seconds']:.1f}",
                    f"{r['peak_rss_growth_mb']:.1f}",
                ]
            )
        parts.append(
            _table(
                [
                    "server",
                    "SDK",
                    "delivered",
                    "counted dropped",
                    "queued",
                    "unaccounted",
                    "requests",
                    "app-thread s",
                    "per call µs median / p99",
                    "max stall ms",
                    "flush s",
                    "peak RSS growth MB",
                ],
                rows,
            )
        )
    if "size" in bench:
        parts.append(
            "\n## size\n\nBytes of one event's request as it arrived at the receiver: on the wire "
            "(compressed as the SDK sends it) and decompressed.\n\n"
        )
        rows = []
        for row in bench["size"]["rows"]:
            cells = [
                f"{row['sdks'][s]['compressed']:,} / {row['sdks'][s]['uncompressed']:,} "
                f"({row['sdks'][s]['encoding'] or 'none'})"
                for s in SDKS
            ]
            rows.append([row["case"], *cells, *(_ratio(row["ratio_compressed"][p]) for p in PEERS)])
        parts.append(
            _table(
                [
                    "event",
                    "Raven wire / raw",
                    "sentry-sdk wire / raw",
                    "raven 6.10 wire / raw",
                    "Raven / sentry-sdk (wire)",
                    "Raven / raven 6.10 (wire)",
                ],
                rows,
            )
        )
    if "overhead" in bench:
        parts.append(
            "\n## overhead\n\nPer-request cost of a hello-world route with no error, SDK off vs on (the "
            "framework integration of each SDK: raven-flask/-django/-sanic/-tornado/-celery; sentry-sdk's "
            "default integrations; raven 6.10's contrib modules). Flask and Django through their WSGI "
            "callable, Sanic through its ASGI callable, Tornado over a keep-alive loopback connection, Celery "
            "as a `delay().get()` round trip through a prefork worker and Redis. Off and on alternate, each the "
            "best of 3 processes (lowest median). µs, median (p95).\n\n"
        )
        rows = []
        for row in bench["overhead"]["rows"]:
            if "skipped" in row:
                rows.append([row["framework"], row["skipped"], "", "", "", ""])
                continue
            cells = []
            for sdk in SDKS:
                data = row["sdks"].get(sdk, {})
                if "error" in data:
                    cells.append(f"n/a ({data['error']})")
                else:
                    cells.append(
                        f"{data['off']['median']:,.1f} → {data['on']['median']:,.1f} "
                        f"(p95 {data['on']['p95']:,.0f}): **{data['overhead_us']:+,.1f}**"
                    )
            rows.append(
                [row["framework"], *cells, *(_ratio(row["ratio_overhead"][p]) for p in PEERS)]
            )
        parts.append(
            _table(
                [
                    "framework",
                    "Raven off → on",
                    "sentry-sdk off → on",
                    "raven 6.10 off → on",
                    "Raven / sentry-sdk (overhead)",
                    "Raven / raven 6.10 (overhead)",
                ],
                rows,
            )
        )
    if "tracing" in bench:
        from tracing import markdown as tracing_markdown  # described where it is measured

        parts.append(tracing_markdown(bench["tracing"]))
    if "logs" in bench:
        from logs import markdown as logs_markdown

        parts.append(logs_markdown(bench["logs"]))
    if "profiling" in bench:
        from profiling import markdown as profiling_markdown

        parts.append(profiling_markdown(bench["profiling"]))
    if "monitor" in bench:
        from monitors import markdown as monitor_markdown

        parts.append(monitor_markdown(bench["monitor"]))
    if "sessions" in bench:
        from sessions import markdown as sessions_markdown

        parts.append(sessions_markdown(bench["sessions"]))
    if "devserver" in bench:
        from devserver import markdown  # the module that measures it also describes it

        parts.append(markdown(bench["devserver"]))
    return "".join(parts)
