"""Feature flags and attachments: what they cost the calling thread, Raven beside sentry-sdk.

    python benchmarks/scope_extras.py            # the dev env's python: both SDKs, a table
    <venv>/bin/python benchmarks/scope_extras.py <raven|sentry-sdk> <dsn>   # one worker

The orchestrator starts a loopback receiver and runs a worker in each SDK's benchmark virtualenv
(``benchmarks/venvs.py``: ~/.cache/raven-bench/<sdk>). Each worker times, with
``time.perf_counter`` around the SDK call alone, best of 5 rounds:

- ``flag``: one ``add_feature_flag`` in a scope that holds 5, or 100 (full), flags;
- ``error+100 flags``: capturing a handled exception in a scope with 100 flags, against the
  same capture in a scope with none (what the ``contexts.flags`` costs the event);
- ``message+1 MiB``: a message captured with one 1 MiB attachment (bytes), against the same
  message without (Raven: ``attachments=`` on the capture; sentry-sdk: ``scope.add_attachment``
  in a new scope), each SDK sending to the receiver from its own threads.

Not part of ``run.py``'s RESULTS.md: the figures are in the feature's notes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

ROUNDS = 5
BLOB = b"x" * (1 << 20)


def best(run: Callable[[int], Any], n: int) -> float:
    """Microseconds per call, the best of ROUNDS rounds of ``n`` calls."""
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for i in range(n):
            run(i)
        times.append((time.perf_counter() - start) / n * 1e6)
    return min(times)


def _error() -> BaseException:
    try:
        raise ValueError("flagged")
    except ValueError as exc:
        return exc


def worker(sdk: str, dsn: str) -> dict[str, float]:
    """The figures for one SDK (see the module's docstring)."""
    names = [f"flag-{i}" for i in range(100)]
    # A fresh exception per capture: an SDK reports an exception object once.
    errors = iter([_error() for _ in range(2 * 300 * ROUNDS + 10)])
    out: dict[str, float] = {}
    if sdk == "raven":
        import raven

        client = raven.Client(dsn, install_sys_hook=False)
        scope: Callable[[], Any] = lambda: client.context  # noqa: E731
        add = client.add_feature_flag

        def capture_error() -> Any:
            return client.captureException(next(errors))

        def message(with_blob: bool) -> Any:
            if with_blob:
                return client.captureMessage("m", attachments=[(BLOB, "blob.bin")])
            return client.captureMessage("m")

        flush: Callable[[], Any] = lambda: client.flush(60)  # noqa: E731
    else:
        import sentry_sdk
        from sentry_sdk.feature_flags import add_feature_flag as add

        sentry_sdk.init(dsn)
        scope = sentry_sdk.isolation_scope

        def capture_error() -> Any:
            return sentry_sdk.capture_exception(next(errors))

        def message(with_blob: bool) -> Any:
            with sentry_sdk.new_scope() as s:
                if with_blob:
                    s.add_attachment(bytes=BLOB, filename="blob.bin")
                return sentry_sdk.capture_message("m")

        flush = lambda: sentry_sdk.flush(60)  # noqa: E731
    for held in (5, 100):
        with scope():
            for name in names[:held]:
                add(name, True)
            out[f"flag ({held} held)"] = best(
                lambda i, held=held: add(names[i % held], i % 2 == 0), 20_000
            )
    with scope():
        out["error, no flags"] = best(lambda i: capture_error(), 300)
    flush()
    with scope():
        for name in names:
            add(name, True)
        out["error+100 flags"] = best(lambda i: capture_error(), 300)
    flush()
    out["message"] = best(lambda i: message(False), 100)
    flush()
    out["message+1 MiB"] = best(lambda i: message(True), 100)
    flush()
    return out


def main() -> int:
    if len(sys.argv) == 3:
        print(json.dumps(worker(sys.argv[1], sys.argv[2])))
        return 0
    from raven.receiver import Receiver

    receiver = Receiver().start()
    venvs = os.path.join(os.path.expanduser("~"), ".cache", "raven-bench")
    results = {}
    try:
        for sdk in ("raven", "sentry-sdk"):
            python = os.path.join(venvs, sdk, "bin", "python")
            done = subprocess.run(
                [python, __file__, sdk, receiver.dsn], capture_output=True, text=True, check=True
            )
            results[sdk] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        receiver.stop()
    print(f"{'us per call':<22}{'raven':>10}{'sentry-sdk':>12}")
    for key in results["raven"]:
        print(f"{key:<22}{results['raven'][key]:>10.2f}{results['sentry-sdk'][key]:>12.2f}")
    print(f"attachments received: {len(receiver.attachments)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
