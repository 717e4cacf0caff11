"""AI monitoring's cost on the calling thread: an ``openai`` chat completion (plain and streamed)
recorded by raven-openai beside sentry-sdk's OpenAI integration, and a ``client.ai_pipeline``
block with tracing off. Standalone (not part of ``run.py``): each SDK runs in its own virtualenv
(with ``openai``; Raven's with ``packages/core`` and ``packages/openai``)::

    python benchmarks/ai.py --compare raven=/path/to/raven-venv/bin/python \\
                                      sentry-sdk=/path/to/sentry-sdk-venv/bin/python

run with an interpreter that has raven-core (the loopback receiver the SDKs send to is Raven's).
``ai.py --interleaved <dsn>`` (Raven's virtualenv) measures raven-openai alone with less noise:
off and on in alternating blocks of one process (``install``/``uninstall``).
Each measurement is a process of its own (``ai.py worker <sdk> <case> <iterations> <dsn>``), off
(no SDK) and on alternating, best of 5 by median. The calls go to a loopback HTTP server in the
worker answering like OpenAI's API (a completion with ``usage``; an SSE stream whose last chunk
has the usage); what is timed is the calling thread's CPU time (``time.thread_time``), so the
server's thread and the network wait do not count. Traced calls run inside a sampled transaction
(a new one every 100 calls, not timed), prompts not recorded (no ``send_default_pii``).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CASES = {
    "chat": "chat.completions.create, traced",
    "stream": "chat.completions.create(stream=True), read to the end, traced",
    "pipeline": "with client.ai_pipeline(...): pass, tracing off (Raven only)",
}
ROUNDS = 5
PER_TRANSACTION = 100
USAGE = {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}
    ],
    "usage": USAGE,
}
CHUNK = {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1700000000}
STREAM = (
    "".join(
        f"data: {json.dumps({**CHUNK, **part})}\n\n"
        for part in (
            {"choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
            for w in ("The ", "capital ", "is ", "Paris.")
        )
    )
    + f"data: {json.dumps({**CHUNK, 'choices': [], 'usage': USAGE})}\n\ndata: [DONE]\n\n"
)
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


def _server() -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as OpenAI's API
        wbufsize = 1 << 16  # headers and body in one write (no delayed-ACK stall per call)
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stream = bool(body.get("stream"))
            payload = (STREAM if stream else json.dumps(COMPLETION)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/v1"


def _sdk(sdk: str, dsn: str) -> tuple[Any, Any]:
    """(a transaction factory, a flush) for ``sdk`` ("off": no SDK)."""
    import contextlib

    if sdk == "off":
        return contextlib.nullcontext, lambda: None
    if sdk == "raven":
        import raven
        import raven_openai

        client = raven.Client(dsn, traces_sample_rate=1.0)
        raven_openai.install(client)
        return (lambda: client.start_transaction(name="bench", op="task")), client.flush
    import sentry_sdk
    from sentry_sdk.integrations.openai import OpenAIIntegration

    sentry_sdk.init(dsn, traces_sample_rate=1.0, integrations=[OpenAIIntegration()])
    return (lambda: sentry_sdk.start_transaction(name="bench", op="task")), sentry_sdk.flush


def worker(sdk: str, case: str, iterations: int, dsn: str) -> dict[str, Any]:
    """Per-call CPU samples (seconds) of ``case`` with ``sdk`` sending to ``dsn``."""
    httpd, base_url = _server()
    if case == "pipeline":
        import raven

        client = raven.Client(dsn) if sdk == "raven" else None
        flush: Any = lambda: None  # noqa: E731

        def call() -> None:
            if client is None:
                return
            with client.ai_pipeline("bench"):
                pass

        transaction: Any = None
    else:
        import openai

        transaction, flush = _sdk(sdk, dsn)
        llm = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
        stream = case == "stream"

        def call() -> None:
            if stream:
                for _ in llm.chat.completions.create(
                    model="gpt-4o",
                    messages=MESSAGES,
                    stream=True,
                    stream_options={"include_usage": True},
                ):
                    pass
            else:
                llm.chat.completions.create(model="gpt-4o", messages=MESSAGES)

    samples: list[float] = []
    clock = time.thread_time
    warmup = iterations // 10
    done = 0
    while done < iterations + warmup:
        scope = transaction() if transaction is not None else None
        if scope is not None:
            scope.__enter__()
        for _ in range(min(PER_TRANSACTION, iterations + warmup - done)):
            start = clock()
            call()
            elapsed = clock() - start
            if done >= warmup:
                samples.append(elapsed)
            done += 1
        if scope is not None:
            scope.__exit__(None, None, None)
    flush()
    httpd.shutdown()
    return {"samples": samples}


def _measure(python: str, sdk: str, case: str, iterations: int, dsn: str) -> float:
    result = subprocess.run(
        [python, __file__, "worker", sdk, case, str(iterations), dsn],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{sdk} {case}: {result.stderr[-2000:]}")
    samples = json.loads(result.stdout.splitlines()[-1])["samples"]
    return statistics.median(samples) * 1e6


def compare(pythons: dict[str, str], iterations: int) -> dict[str, Any]:
    """Median µs per call, off and on, best of ``ROUNDS`` alternating processes, per SDK (run
    with an interpreter that has raven-core: the loopback receiver is Raven's)."""
    from raven.receiver import Receiver

    receiver = Receiver().start()
    table: dict[str, Any] = {}
    for case in CASES:
        for sdk, python in pythons.items():
            if case == "pipeline" and sdk != "raven":
                continue
            off, on = [], []
            for _ in range(ROUNDS):
                off.append(_measure(python, "off", case, iterations, receiver.dsn))
                on.append(_measure(python, sdk, case, iterations, receiver.dsn))
            row = {"off_us": min(off), "on_us": min(on)}
            row["overhead_us"] = row["on_us"] - row["off_us"]
            table.setdefault(case, {})[sdk] = row
            print(
                f"{case:9} {sdk:11} off {row['off_us']:8.1f} µs  on {row['on_us']:8.1f} µs  "
                f"overhead {row['overhead_us']:+8.1f} µs",
                file=sys.stderr,
                flush=True,
            )
    received = len(receiver.transactions)
    receiver.stop()
    table["transactions_received"] = received
    return table


def interleaved(case: str, blocks: int, dsn: str) -> dict[str, float]:
    """Raven only, in one process: blocks of 50 calls alternately without and with raven-openai
    installed (``install``/``uninstall``), inside one sampled transaction per block; the median
    µs per call of each side. Less noisy than separate processes: both sides share one warm
    process, its connection and its caches."""
    import openai
    import raven
    import raven_openai

    httpd, base_url = _server()
    client = raven.Client(dsn, traces_sample_rate=1.0)
    llm = openai.OpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    kwargs: dict[str, Any] = {"model": "gpt-4o", "messages": MESSAGES}
    if case == "stream":
        kwargs.update(stream=True, stream_options={"include_usage": True})
    sides: dict[str, list[float]] = {"off": [], "on": []}
    clock = time.thread_time
    for block in range(blocks * 2 + 2):
        side = "on" if block % 2 else "off"
        if side == "on":
            raven_openai.install(client)
        with client.start_transaction(name="bench", op="task"):
            for _ in range(50):
                start = clock()
                result = llm.chat.completions.create(**kwargs)
                if case == "stream":
                    for _ in result:
                        pass
                if block >= 2:  # the first pair warms up
                    sides[side].append(clock() - start)
        raven_openai.uninstall()
    client.flush(30)
    httpd.shutdown()
    off, on = (statistics.median(sides[s]) * 1e6 for s in ("off", "on"))
    return {"off_us": off, "on_us": on, "overhead_us": on - off}


def main(argv: list[str]) -> int:
    if argv[:1] == ["worker"]:
        sdk, case, iterations, dsn = argv[1], argv[2], int(argv[3]), argv[4]
        print(json.dumps(worker(sdk, case, iterations, dsn)))
        return 0
    if argv[:1] == ["--interleaved"]:  # run with Raven's virtualenv: ai.py --interleaved <dsn>
        dsn = argv[1]
        print(json.dumps({case: interleaved(case, 20, dsn) for case in ("chat", "stream")}))
        return 0
    if argv[:1] == ["--compare"]:
        pythons = dict(arg.split("=", 1) for arg in argv[1:] if "=" in arg)
        iterations = int(next((a for a in argv[1:] if a.isdigit()), "2000"))
        print(json.dumps(compare(pythons, iterations), indent=2))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
