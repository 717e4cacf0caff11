"""raven-devserver (`raven serve`): events ingested per second in a burst, and the time to load
the page of an issue holding 10,000 events.

    hatch run bench:run --only devserver

The server runs as its own process (`python -m raven serve`), on a SQLite file (the default) and
in memory; a burst of 10,000 real Raven events (one captured error with 20 frames of locals,
each copy with its own event id, gzip envelopes as Raven sends them) is posted over keep-alive
connections from 8 threads, and the run checks that every one was stored. Then each page is
fetched over HTTP, one request at a time (server-side render and transfer; no browser).
Self-contained (no import of the other benchmark modules): tests/devserver uses `send_burst`.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

EVENTS = 10_000
SENDERS = 8
PAGE_LOADS = 30


def sample_event() -> dict[str, Any]:
    """One event as Raven's client builds it: an error raised 20 frames deep, locals on."""
    import raven
    from raven.receiver import Receiver

    receiver = Receiver().start()
    try:
        client = raven.Client(
            "sync+" + receiver.dsn, install_sys_hook=False, hook_libraries=(), release="bench@1"
        )

        def recurse(depth: int, payload: dict[str, Any]) -> None:
            numbers, text = list(range(100)), f"depth {depth}"
            if depth == 0:
                raise ValueError(f"failed at the bottom: {text} {len(numbers)}")
            recurse(depth - 1, payload)

        try:
            recurse(19, {"user": "ada", "cart": [1, 2, 3]})
        except ValueError:
            client.captureException()
        client.close(timeout=5)
        (event,) = receiver.wait_for(1)
    finally:
        receiver.stop()
    return dict(event)


def burst_bodies(event: dict[str, Any], event_ids: list[str]) -> list[bytes]:
    """Gzip envelopes of ``event``, one per event id."""
    bodies = []
    for event_id in event_ids:
        payload = json.dumps({**event, "event_id": event_id}).encode()
        header = json.dumps({"event_id": event_id}).encode()
        item = json.dumps({"type": "event", "length": len(payload)}).encode()
        bodies.append(gzip.compress(b"\n".join((header, item, payload)), compresslevel=6))
    return bodies


def send_burst(dsn: str, bodies: list[bytes], senders: int = SENDERS) -> tuple[float, Counter[int]]:
    """Post every body to the DSN's envelope endpoint from ``senders`` threads over keep-alive
    connections: (seconds from the first request to the last answer, statuses)."""
    parts = urlsplit(dsn)
    path = f"/api/{parts.path.strip('/')}/envelope/"
    headers = {
        "Content-Type": "application/x-sentry-envelope",
        "Content-Encoding": "gzip",
        "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=bench/1, sentry_key={parts.username}",
    }
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def send(share: list[bytes]) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        seen: Counter[int] = Counter()
        for body in share:
            connection.request("POST", path, body, headers)
            response = connection.getresponse()
            response.read()
            seen[response.status] += 1
        connection.close()
        with lock:
            statuses.update(seen)

    threads = [threading.Thread(target=send, args=(bodies[i::senders],)) for i in range(senders)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, statuses


@contextmanager
def devserver(*args: str) -> Iterator[tuple[str, str]]:
    """``raven serve --port 0 <args>`` as a process: (DSN, page URL) once it printed them."""
    process = subprocess.Popen(
        [sys.executable, "-m", "raven", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        found: dict[str, str] = {}
        assert process.stdout is not None
        for line in process.stdout:
            name, _, value = line.partition(": ")
            found[name] = value.strip()
            if "UI" in found:
                break
        if "UI" not in found:
            raise RuntimeError(f"raven serve did not start: {found}")
        yield found["DSN"], found["UI"].rstrip("/")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(url: str) -> tuple[float, int, bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    start = time.perf_counter()
    connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed, response.status, body


def _page_times(url: str, loads: int) -> dict[str, float]:
    samples = []
    for _ in range(loads + 2):
        elapsed, status, _ = _get(url)
        assert status == 200, (url, status)
        samples.append(elapsed * 1000)
    samples = sorted(samples[2:])  # the first two warm the caches
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2),
    }


def measure(storage: str, bodies: list[bytes], loads: int) -> dict[str, Any]:
    """One server: the burst, a check that all of it was stored, then the page loads."""
    with tempfile.TemporaryDirectory() as folder:
        args = ["--memory"] if storage == "memory" else ["--db", os.path.join(folder, "bench.db")]
        with devserver(*args) as (dsn, url):
            seconds, statuses = send_burst(dsn, bodies)
            (issue,) = json.loads(_get(f"{url}/api/0/projects/1/issues/")[2])["issues"]
            events = json.loads(_get(f"{url}/api/0/issues/{issue['id']}/events/?limit=1")[2])
            oldest = json.loads(
                _get(f"{url}/api/0/issues/{issue['id']}/events/?limit=1&offset={len(bodies) - 1}")[
                    2
                ]
            )
            pages = {
                "issue list": _page_times(f"{url}/", loads),
                "issue page (all events in one issue)": _page_times(
                    f"{url}/issues/{issue['id']}", loads
                ),
                "its oldest event": _page_times(f"{url}/events/{oldest[0]['event_id']}", loads),
                "event JSON (API)": _page_times(
                    f"{url}/api/0/events/{events[0]['event_id']}/", loads
                ),
            }
    return {
        "storage": storage,
        "events_sent": len(bodies),
        "answered_200": statuses.get(200, 0),
        "stored": issue["stored"],
        "issue_count": issue["count"],
        "seconds": round(seconds, 3),
        "events_per_second": round(len(bodies) / seconds),
        "pages": pages,
    }


def bench_devserver(envs: Any, quick: bool) -> dict[str, Any]:
    """The benchmark as run.py calls it (the SDK virtualenvs are not used: the server and the
    sender run in the bench env, with this checkout's raven-devserver)."""
    count, loads = (1_000, 5) if quick else (EVENTS, PAGE_LOADS)
    event = sample_event()
    bodies = burst_bodies(event, [uuid.uuid4().hex for _ in range(count)])
    rows = [measure(storage, bodies, loads) for storage in ("file", "memory")]
    for row in rows:
        print(
            f"[devserver] {row['storage']:6} {row['events_per_second']:,} events/s "
            f"({row['stored']:,}/{row['events_sent']:,} stored); "
            + "; ".join(f"{k} {v['median_ms']} ms" for k, v in row["pages"].items()),
            file=sys.stderr,
            flush=True,
        )
    return {
        "load_average_at_end": os.getloadavg(),  # other work on the machine shows here
        "events": count,
        "senders": SENDERS,
        "event_bytes": len(json.dumps(event)),
        "envelope_gzip_bytes": round(statistics.mean(len(b) for b in bodies)),
        "rows": rows,
    }


def markdown(result: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    lines = [
        "\n## devserver\n\n",
        f"`raven serve` (raven-devserver) as its own process. A burst of {result['events']:,} Raven "
        f"events (one error 20 frames deep with locals, {result['event_bytes']:,} bytes of JSON, "
        f"{result['envelope_gzip_bytes']:,} bytes as a gzip envelope; each with its own event id) "
        f"posted over {result['senders']} keep-alive connections from one process on the same "
        "2 cores; every event checked stored. Then each page fetched over HTTP one request at a "
        f"time (server-side render and transfer, no browser). Run {result.get('started_at', '')}, "
        f"load average {', '.join(f'{x:.2f}' for x in result.get('load_average_at_start', []))} "
        f"at the start, {', '.join(f'{x:.2f}' for x in result.get('load_average_at_end', []))} at "
        "the end (other engineers' work on the machine shows there)."
        "\n\n",
        "| storage | events/s | stored / sent | "
        + " | ".join(f"{page} (median, p95)" for page in result["rows"][0]["pages"])
        + " |\n",
        "|---" * (3 + len(result["rows"][0]["pages"])) + "|\n",
    ]
    for row in result["rows"]:
        pages = " | ".join(f"{p['median_ms']} ms, {p['p95_ms']} ms" for p in row["pages"].values())
        lines.append(
            f"| {row['storage']} | {row['events_per_second']:,} | "
            f"{row['stored']:,} / {row['events_sent']:,} | {pages} |\n"
        )
    return "".join(lines)


if __name__ == "__main__":
    print(json.dumps(bench_devserver(None, "--quick" in sys.argv), indent=1))
