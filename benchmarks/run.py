"""Raven beside sentry-sdk and raven 6.10: capture cost, framework overhead, startup, error
storms and bytes per event, each SDK in its own virtualenv, all in one run.

    hatch run bench:run                      # everything (about 10 minutes on 2 cores)
    hatch run bench:run --only capture,size  # some benchmarks (the other rows are kept)
    hatch run bench:run --only tracing       # per-request cost with tracing on
    hatch run bench:run --only devserver     # raven serve: ingestion rate and page loads
    hatch run bench:run --quick              # fewer iterations, to try the harness (writes nothing)
    hatch run bench:run --report-only        # RESULTS.md again from results.json

Prints medians, p95 and the ratio Raven/peer; writes benchmarks/results.json and
benchmarks/RESULTS.md. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from devserver import bench_devserver  # noqa: E402
from raven.receiver import Receiver  # noqa: E402  (the bench env has this repo's raven)
from report import write_markdown  # noqa: E402
from stats import summary  # noqa: E402
from venvs import FRAMEWORKS, SdkEnv, prepare_envs  # noqa: E402

SDKS = ["raven", "sentry-sdk", "raven-6.10"]
ROUNDS = (
    3  # capture and overhead: each measurement process runs this many times; the best round counts
)
PEERS = ["sentry-sdk", "raven-6.10"]
DEAD_DSN_HOST = "127.0.0.1"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_worker(
    env: SdkEnv, benchmark: str, args: dict[str, Any], timeout: float = 600
) -> dict[str, Any]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("VIRTUAL_ENV", "PYTHONPATH", "SENTRY_DSN", "SENTRY_RELEASE", "SENTRY_ENVIRONMENT")
    }
    result = subprocess.run(
        [env.python, str(HERE / "worker.py"), env.name, benchmark, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE,
        env=clean,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(
            f"{env.name} {benchmark} failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    parsed: dict[str, Any] = json.loads(lines[-1])
    return parsed


def ratios(values: dict[str, float | None]) -> dict[str, float | None]:
    """Raven's value divided by each peer's."""
    mine = values.get("raven")
    out: dict[str, float | None] = {}
    for peer in PEERS:
        theirs = values.get(peer)
        out[peer] = (
            (mine / theirs) if mine is not None and theirs is not None and theirs > 0 else None
        )
    return out


# -- capture ----------------------------------------------------------------------------------------
CAPTURE_CASES = [
    ("exception, locals on", {"kind": "exception", "locals": True}),
    ("exception, locals off", {"kind": "exception", "locals": False}),
    ("message", {"kind": "message", "locals": True}),
]
CAPTURE_MODES = [
    # The real background transport against a healthy loopback receiver: what the app thread pays.
    ("calling thread", {"transport": "default", "pause": 0.003}),
    # Everything up to the bytes on the wire (JSON, envelope, compression), in the calling thread.
    ("full (serialize + compress)", {"transport": "serialize-drop"}),
]


def bench_capture(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    iterations, warmup, rounds = (60, 10, 1) if quick else (300, 30, ROUNDS)
    rows = []
    versions: dict[str, str] = {}
    for mode_name, mode in CAPTURE_MODES:
        for case_name, case in CAPTURE_CASES:
            row: dict[str, Any] = {"mode": mode_name, "case": case_name, "sdks": {}}
            per_round: dict[str, list[dict[str, float]]] = {sdk: [] for sdk in SDKS}
            for _ in range(rounds):  # SDKs interleaved, so a burst of machine load hits one round
                for sdk in SDKS:
                    receiver = Receiver().start()
                    try:
                        result = run_worker(
                            envs[sdk],
                            "capture",
                            {
                                "dsn": receiver.dsn,
                                "iterations": iterations,
                                "warmup": warmup,
                                **case,
                                **mode,
                            },
                        )
                    finally:
                        receiver.stop()
                    versions[sdk] = result["version"]
                    per_round[sdk].append(summary(result["samples"], scale=1e6))
            for sdk in SDKS:
                row["sdks"][sdk] = best_round(per_round[sdk])
            row["ratio"] = ratios({s: row["sdks"][s]["median"] for s in SDKS})
            rows.append(row)
            log(
                f"[capture] {mode_name:28} {case_name:22} "
                + "  ".join(f"{s}={row['sdks'][s]['median']:.0f}us" for s in SDKS)
            )
    return {
        "unit": "us",
        "iterations": iterations,
        "rounds": rounds,
        "rows": rows,
        "versions": versions,
    }


def best_round(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The round with the lowest median (best of N, as timeit does): least disturbed by other load."""
    best = dict(min(rounds, key=lambda r: r["median"]))
    best["round_medians"] = [r["median"] for r in rounds]  # type: ignore[assignment]
    return best


# -- startup ----------------------------------------------------------------------------------------
STDLIB_MODULES = ["logging", "threading", "contextvars", "urllib.parse", "typing", "random", "os"]
STDLIB_BASELINE = "stdlib modules every app loads"


def bench_startup(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    runs, warmup = (8, 2) if quick else (40, 3)
    dsn = f"http://public@{DEAD_DSN_HOST}:{closed_port()}/1"
    commands = {
        "python -c pass": (envs["raven"], "pass"),
        # What every app has loaded anyway: the floor an SDK's import is compared with.
        STDLIB_BASELINE: (envs["raven"], f"import {', '.join(STDLIB_MODULES)}"),
        "raven": (envs["raven"], f"import raven; raven.Client({dsn!r})"),
        "sentry-sdk": (envs["sentry-sdk"], f"import sentry_sdk; sentry_sdk.init({dsn!r})"),
        # Its default auto-enabling integrations import every supported framework that is installed
        # (all five here); this variant shows the SDK's own share.
        "sentry-sdk, auto_enabling_integrations=False": (
            envs["sentry-sdk"],
            f"import sentry_sdk; sentry_sdk.init({dsn!r}, auto_enabling_integrations=False)",
        ),
        "raven-6.10": (envs["raven-6.10"], f"import raven; raven.Client({dsn!r})"),
    }
    baselines = {name: (env, "pass") for name, env in envs.items()}
    samples: dict[str, list[float]] = {name: [] for name in commands}
    base_samples: dict[str, list[float]] = {name: [] for name in baselines}
    # PYTHONDONTWRITEBYTECODE would have every run compile each module edited since its .pyc
    # was written: an app starts from its bytecode cache, and so do these runs (the warm-up
    # runs write it).
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "SENTRY_DSN", "PYTHONDONTWRITEBYTECODE")
    }

    # Outside any git checkout: both SDKs look for a release (and pay for looking) but find
    # none here, as an app started outside a checkout; finding this repository's, each run would
    # end with a session for the dead server (an exit measure, not a start-up one).
    cwd = tempfile.mkdtemp(prefix="raven-bench-startup-")

    def once(env: SdkEnv, code: str) -> float:
        start = time.perf_counter()
        subprocess.run(
            [env.python, "-c", code], check=True, env=clean, cwd=cwd, stdout=subprocess.DEVNULL
        )
        return time.perf_counter() - start

    for i in range(warmup + runs):  # round robin, so machine noise spreads over every command
        for name, (env, code) in commands.items():
            elapsed = once(env, code)
            if i >= warmup:
                samples[name].append(elapsed)
        for name, (env, code) in baselines.items():
            elapsed = once(env, code)
            if i >= warmup:
                base_samples[name].append(elapsed)
    rows = {name: summary(values, scale=1e3) for name, values in samples.items()}
    base = {name: summary(values, scale=1e3) for name, values in base_samples.items()}
    cost = {
        name: rows[name]["median"] - base[env.name]["median"]
        for name, (env, code) in commands.items()
        if code != "pass"
    }
    for name, row in rows.items():
        log(f"[startup] {name:16} median {row['median']:.1f} ms  p95 {row['p95']:.1f} ms")
    return {
        "unit": "ms",
        "runs": runs,
        "rows": rows,
        "baseline_per_venv": base,
        "sdk_cost": cost,
        "ratio_total": ratios({s: rows[s]["median"] for s in SDKS}),
        "raven_over_stdlib": rows["raven"]["median"] / rows[STDLIB_BASELINE]["median"],
        "ratio_sdk_cost": ratios({s: cost[s] for s in SDKS}),
    }


# -- storm ------------------------------------------------------------------------------------------
STORM_MODES = ["healthy", "down", "slow 200 ms", "rate limiting (429)"]


def bench_storm(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    count, flush_timeout = (1000, 5.0) if quick else (10_000, 10.0)
    rows = []
    for mode in STORM_MODES:
        for sdk in SDKS:
            receiver: Receiver | None = None
            if mode == "down":
                dsn = f"http://public@127.0.0.1:{closed_port()}/1"
            else:
                receiver = Receiver().start()
                if mode.startswith("slow"):
                    receiver.respond_with(200, delay=0.2)
                elif mode.startswith("rate"):
                    receiver.respond_with(
                        429, {"X-Sentry-Rate-Limits": "60::key", "Retry-After": "60"}
                    )
                dsn = receiver.dsn
            try:
                result = run_worker(
                    envs[sdk], "storm", {"dsn": dsn, "count": count, "flush_timeout": flush_timeout}
                )
                # The worker exits without its SDK's exit hooks: what arrived by now is what it delivered.
                delivered = len(receiver.events) if receiver else 0
                requests = len(receiver.requests) if receiver else 0
            finally:
                if receiver is not None:
                    receiver.stop()
            calls = summary(result.pop("samples"), scale=1e6)
            dropped = result["dropped_counted"]
            row = {
                "mode": mode,
                "sdk": sdk,
                "errors": count,
                "delivered": delivered,
                "requests_seen": requests,
                "dropped_counted": dropped,
                "still_queued": result["pending"],
                # Clamped: a queue snapshot may still count an event the receiver just took.
                "unaccounted": max(0, count - delivered - (dropped or 0) - result["pending"]),
                "app_thread_seconds": result["app_thread_seconds"],
                "per_call_us": calls,
                "max_stall_ms": result["max_stall"] * 1e3,
                "flush_seconds": result["flush_seconds"],
                "peak_rss_growth_mb": result["peak_rss_growth"] / 2**20,
            }
            rows.append(row)
            log(
                f"[storm] {mode:20} {sdk:11} delivered {delivered:6} dropped(counted) {dropped!s:>6} "
                f"app-thread {row['app_thread_seconds']:.2f}s max stall {row['max_stall_ms']:.1f}ms "
                f"rss +{row['peak_rss_growth_mb']:.1f}MB"
            )
    return {"errors": count, "flush_timeout": flush_timeout, "rows": rows}


# -- size -------------------------------------------------------------------------------------------
SIZE_CASES = [
    ("exception, 20 frames, locals on", "exception", True),
    ("exception, 20 frames, locals off", "exception", False),
    ("message", "message", True),
]


def bench_size(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    rows = []
    for case_name, kind, with_locals in SIZE_CASES:
        row: dict[str, Any] = {"case": case_name, "sdks": {}}
        for sdk in SDKS:
            receiver = Receiver().start()
            try:
                run_worker(
                    envs[sdk], "size", {"dsn": receiver.dsn, "kind": kind, "locals": with_locals}
                )
                carrying = [
                    r for r in receiver.requests if "event" in r.item_types or "/store/" in r.path
                ]
            finally:
                receiver.stop()
            if not carrying:
                raise RuntimeError(f"{sdk} sent no event for the size benchmark")
            request = carrying[0]
            row["sdks"][sdk] = {
                "compressed": request.wire_bytes,
                "uncompressed": len(request.body),
                "encoding": request.headers.get("content-encoding", ""),
            }
        row["ratio_compressed"] = ratios({s: row["sdks"][s]["compressed"] for s in SDKS})
        row["ratio_uncompressed"] = ratios({s: row["sdks"][s]["uncompressed"] for s in SDKS})
        rows.append(row)
        log(
            f"[size] {case_name:34} "
            + "  ".join(
                f"{s}={row['sdks'][s]['compressed']}/{row['sdks'][s]['uncompressed']}B"
                for s in SDKS
            )
        )
    return {"rows": rows}


# -- overhead ---------------------------------------------------------------------------------------
OVERHEAD_FRAMEWORKS = ["flask", "django", "sanic", "tornado", "celery"]


def off_on(env: SdkEnv, worker: str, args: dict[str, Any], rounds: int) -> dict[str, Any]:
    """One SDK's app measured without (``off``) and with (``on``) it, alternating processes so
    that drift hits both; the best round of each, and the difference of their medians."""
    off: list[dict[str, float]] = []
    on: list[dict[str, float]] = []
    wall: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    extra: list[dict[str, Any]] = []  # other figures the "on" workers report, one per round
    for _ in range(rounds):
        for enabled, bucket in ((False, off), (True, on)):
            result = run_worker(env, worker, {**args, "enabled": enabled})
            if "error" in result:
                return {"error": result["error"]}
            bucket.append(summary(result["samples"], scale=1e6))
            if "wall_samples" in result:  # a second measure of the same requests
                wall[enabled].append(summary(result["wall_samples"], scale=1e6))
            if enabled and "extra" in result:
                extra.append(result["extra"])
    s_off, s_on = best_round(off), best_round(on)
    measured = {"off": s_off, "on": s_on, "overhead_us": s_on["median"] - s_off["median"]}
    if wall[True]:
        measured.update(wall_off=best_round(wall[False]), wall_on=best_round(wall[True]))
    if extra:
        measured["extra"] = extra
    return measured


def bench_overhead(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    rows = []
    for framework in OVERHEAD_FRAMEWORKS:
        iterations, rounds = (
            (150, 1) if quick else ((500, ROUNDS) if framework == "celery" else (3000, ROUNDS))
        )
        if framework not in envs["raven"].raven_packages:
            rows.append(
                {"framework": framework, "skipped": f"packages/{framework} is not installable yet"}
            )
            continue
        receiver = Receiver().start()
        row: dict[str, Any] = {"framework": framework, "sdks": {}}
        try:
            for sdk in SDKS:
                args = {
                    "dsn": receiver.dsn,
                    "framework": framework,
                    "iterations": iterations,
                    "warmup": max(20, iterations // 10),
                }
                row["sdks"][sdk] = result = off_on(envs[sdk], "overhead", args, rounds)
                _log_off_on("overhead", framework, sdk, result)
        finally:
            receiver.stop()
        row["ratio_overhead"] = ratios({s: row["sdks"][s].get("overhead_us") for s in SDKS})
        rows.append(row)
    return {"unit": "us", "rows": rows}


def _log_off_on(bench: str, app: str, sdk: str, result: dict[str, Any]) -> None:
    if "error" in result:
        log(f"[{bench}] {app:8} {sdk:11} n/a: {result['error']}")
        return
    off, on = result["off"]["median"], result["on"]["median"]
    log(f"[{bench}] {app:8} {sdk:11} off {off:.1f}us on {on:.1f}us (+{on - off:.1f}us)")


TRACING_APPS = {
    "flask": "Flask hello world",
    "django": "Django view: 10 SQL queries + 1 outgoing HTTP call",
}
TRACING_SDKS = ["raven", "sentry-sdk"]  # raven 6.10 has no tracing


def bench_tracing(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    """Per-request cost with ``traces_sample_rate=1.0`` (benchmarks/tracing.py)."""
    iterations, rounds = (150, 1) if quick else (2000, ROUNDS)
    rows = []
    receiver = Receiver().start()
    try:
        for app, title in TRACING_APPS.items():
            row: dict[str, Any] = {"app": app, "title": title, "sdks": {}}
            for sdk in TRACING_SDKS:
                args = {
                    "dsn": receiver.dsn,
                    "app": app,
                    "iterations": iterations,
                    "warmup": max(20, iterations // 10),
                }
                row["sdks"][sdk] = result = off_on(envs[sdk], "tracing", args, rounds)
                _log_off_on("tracing", app, sdk, result)
            row["ratio_overhead"] = ratios(
                {s: row["sdks"][s].get("overhead_us") for s in TRACING_SDKS}
            )
            rows.append(row)
        transactions = len(receiver.transactions)
    finally:
        receiver.stop()
    return {"unit": "us", "rows": rows, "transactions_received": transactions}


LOGS_SDKS = ["raven", "sentry-sdk"]  # raven 6.10 has no structured logs or metrics


def bench_logs(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    """Per-call cost of a log and a metric on the calling thread (benchmarks/logs.py)."""
    from logs import CASES

    iterations, rounds = (2000, 1) if quick else (20_000, ROUNDS)
    rows = []
    receiver = Receiver().start()
    try:
        for case, title in CASES.items():
            row: dict[str, Any] = {"case": case, "title": title, "sdks": {}}
            for sdk in LOGS_SDKS:
                args = {
                    "dsn": receiver.dsn,
                    "case": case,
                    "iterations": iterations,
                    "warmup": iterations // 10,
                }
                row["sdks"][sdk] = result = off_on(envs[sdk], "logs", args, rounds)
                _log_off_on("logs", case, sdk, result)
            row["ratio_overhead"] = ratios(
                {s: row["sdks"][s].get("overhead_us") for s in LOGS_SDKS}
            )
            rows.append(row)
        logs_received, metrics_received = len(receiver.logs), len(receiver.metrics)
    finally:
        receiver.stop()
    by_case = {row["case"]: row["sdks"]["raven"] for row in rows}
    result: dict[str, Any] = {
        "unit": "us",
        "rows": rows,
        "logs_received": logs_received,
        "metrics_received": metrics_received,
    }
    if "overhead_us" in by_case["logging"] and "overhead_us" in by_case["breadcrumb"]:
        crumb = by_case["breadcrumb"]["overhead_us"]
        result["raven_log_over_breadcrumb"] = {
            "breadcrumb_us": crumb,
            "log_us": by_case["logging"]["overhead_us"] - crumb,
        }
    return result


MONITOR_SDKS = ["raven", "sentry-sdk"]  # raven 6.10 has no cron monitors


def bench_monitor(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    """Per-run cost of ``with client.monitor(...)`` on the calling thread (benchmarks/monitors.py)."""
    iterations, rounds = (1000, 1) if quick else (10_000, ROUNDS)
    row: dict[str, Any] = {"sdks": {}}
    receiver = Receiver().start()
    try:
        for sdk in MONITOR_SDKS:
            args = {"dsn": receiver.dsn, "iterations": iterations, "warmup": iterations // 10}
            row["sdks"][sdk] = result = off_on(envs[sdk], "monitor", args, rounds)
            _log_off_on("monitor", "with", sdk, result)
        row["ratio_overhead"] = ratios({s: row["sdks"][s].get("overhead_us") for s in MONITOR_SDKS})
        check_ins = len(receiver.check_ins)
    finally:
        receiver.stop()
    return {"unit": "us", "row": row, "check_ins_received": check_ins}


def bench_profiling(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    """A profiled Django request and the profiler thread's CPU (benchmarks/profiling.py)."""
    from profiling import SDKS as PROFILING_SDKS
    from profiling import VIEWS

    rows = []
    for busy_ms, title in VIEWS.items():
        iterations = (100 if busy_ms else 150) if quick else (300 if busy_ms else 2000)
        rounds = 1 if quick else ROUNDS
        row: dict[str, Any] = {"busy_ms": busy_ms, "title": title, "sdks": {}, "received": {}}
        for sdk in PROFILING_SDKS:
            receiver = Receiver().start()
            try:
                args = {
                    "dsn": receiver.dsn,
                    "iterations": iterations,
                    "warmup": iterations // 10,
                    "busy_ms": busy_ms,
                }
                row["sdks"][sdk] = result = off_on(envs[sdk], "profiling", args, rounds)
                _log_off_on("profiling", f"+{busy_ms:g}ms", sdk, result)
                items = [t for r in receiver.requests for t in r.item_types]
                row["received"][sdk] = {k: items.count(k) for k in ("transaction", "profile")}
            finally:
                receiver.stop()
        row["ratio_overhead"] = ratios(
            {s: row["sdks"][s].get("overhead_us") for s in PROFILING_SDKS}
        )
        rows.append(row)
    return {"unit": "us", "rows": rows}


SESSIONS_SDKS = ["raven", "sentry-sdk"]  # raven 6.10 has no release health


def bench_sessions(envs: dict[str, SdkEnv], quick: bool) -> dict[str, Any]:
    """Per-request cost of session tracking in a Flask hello world (benchmarks/sessions.py)."""
    iterations, rounds = (300, 1) if quick else (3000, ROUNDS)
    row: dict[str, Any] = {"sdks": {}}
    receiver = Receiver().start()
    try:
        for sdk in SESSIONS_SDKS:
            args = {"dsn": receiver.dsn, "iterations": iterations, "warmup": iterations // 10}
            row["sdks"][sdk] = result = off_on(envs[sdk], "sessions", args, rounds)
            _log_off_on("sessions", "flask", sdk, result)
        row["ratio_overhead"] = ratios(
            {s: row["sdks"][s].get("overhead_us") for s in SESSIONS_SDKS}
        )
        sessions = sum(
            sum(a.get(k, 0) for a in p["aggregates"] for k in ("exited", "errored", "crashed"))
            for p in receiver.session_aggregates
        )
    finally:
        receiver.stop()
    return {"unit": "us", "row": row, "sessions_received": sessions}


# -- main -------------------------------------------------------------------------------------------
BENCHMARKS: dict[str, Callable[[dict[str, SdkEnv], bool], dict[str, Any]]] = {
    "capture": bench_capture,
    "size": bench_size,
    "startup": bench_startup,
    "storm": bench_storm,
    "overhead": bench_overhead,
    "tracing": bench_tracing,
    "profiling": bench_profiling,
    "logs": bench_logs,
    "monitor": bench_monitor,
    "sessions": bench_sessions,
    "devserver": bench_devserver,  # raven serve; needs no SDK virtualenv
}
NO_ENVS = {"devserver"}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def framework_versions(env: SdkEnv) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
        "['flask', 'django', 'tornado', 'sanic', 'celery', 'requests', 'urllib3']}))"
    )
    out = subprocess.run([env.python, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def sdk_version(env: SdkEnv) -> str:
    code = {
        "raven": "import raven; print(raven.__version__)",
        "sentry-sdk": "import sentry_sdk; print(sentry_sdk.VERSION)",
        "raven-6.10": "import raven; print(raven.VERSION)",
    }[env.name]
    return subprocess.run(
        [env.python, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS)
    )
    parser.add_argument(
        "--quick", action="store_true", help="few iterations (checks the harness, not numbers)"
    )
    parser.add_argument("--refresh", action="store_true", help="rebuild the SDK virtualenvs")
    parser.add_argument(
        "--output",
        default=None,
        help="where results.json and RESULTS.md go (default: benchmarks/; a --quick run writes "
        "nothing unless given)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite RESULTS.md from results.json"
    )
    options = parser.parse_args()
    if options.report_only:
        output = Path(options.output or HERE)
        (output / "RESULTS.md").write_text(
            write_markdown(json.loads((output / "results.json").read_text()))
        )
        print((output / "RESULTS.md").read_text())
        return 0
    selected = [name.strip() for name in options.only.split(",") if name.strip()]
    unknown = [name for name in selected if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")

    write = options.output is not None or not options.quick  # a quick run only checks the harness
    output = Path(options.output or HERE)
    started = time.time()
    previous = output / "results.json"
    # A partial run (--only) keeps the other rows as the last full run left them; each row
    # carries its own date and machine load.
    kept: dict[str, Any] = (
        json.loads(previous.read_text())
        if previous.exists() and set(selected) != set(BENCHMARKS) and not options.quick
        else {"benchmarks": {}}
    )
    envs: dict[str, SdkEnv] = {}
    if set(selected) <= NO_ENVS and "machine" in kept:
        results: dict[str, Any] = kept
    else:
        envs = prepare_envs(refresh=options.refresh, log=log)
        results = {
            "machine": machine(),
            "versions": {sdk: sdk_version(envs[sdk]) for sdk in SDKS},
            "frameworks": framework_versions(envs["raven"]),
            "framework_requirements": FRAMEWORKS,
            "quick": options.quick,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "benchmarks": dict(kept["benchmarks"]),
            "duration_seconds": 0.0,
        }
    log(
        f"[bench] SDKs: {results['versions']}; machine: {results['machine']['cpu']}, "
        f"{results['machine']['cores']} cores, load {os.getloadavg()}"
    )
    for name in selected:
        log(f"[bench] {name} ...")
        begin, load = time.monotonic(), os.getloadavg()
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        results["benchmarks"][name] = BENCHMARKS[name](envs, options.quick)
        results["benchmarks"][name].update(
            seconds=round(time.monotonic() - begin, 1), started_at=at, load_average_at_start=load
        )
    if envs:
        results["duration_seconds"] = round(time.time() - started, 1)
    markdown = write_markdown(results)
    if write:
        output.mkdir(parents=True, exist_ok=True)
        (output / "results.json").write_text(json.dumps(results, indent=1) + "\n")
        (output / "RESULTS.md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
