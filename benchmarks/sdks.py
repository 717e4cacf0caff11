"""One small adapter per SDK, so every benchmark drives Raven and its peers the same way.

Imported inside each SDK's own virtualenv (by ``worker.py``): only the standard library and the
SDK under test are imported, and only inside the adapter that is used.

Transports:
- ``"default"``: the SDK's own background transport, unchanged.
- ``"serialize-drop"``: does, on the calling thread, everything the SDK's transport does to an
  event before the network (JSON, envelope or store body, compression), then drops the bytes.
"""

from __future__ import annotations

import gzip
import sys
import threading
import time
from typing import Any

__all__ = ["ADAPTERS", "Adapter", "make_adapter"]


class Adapter:
    name = ""

    def setup(self, dsn: str, *, capture_locals: bool = True, transport: str = "default") -> None:
        raise NotImplementedError

    def capture_exception(self, exc: BaseException) -> None:
        raise NotImplementedError

    def capture_message(self, message: str) -> None:
        raise NotImplementedError

    def flush(self, timeout: float) -> None:
        raise NotImplementedError

    def dropped(self) -> int | None:
        """Error/default events the SDK counted as dropped (None: the SDK does not count)."""
        return None

    def pending(self) -> int:
        """Events still queued in the SDK (not delivered, not dropped yet)."""
        return 0

    def preload(self) -> None:
        """Import what the transport imports lazily on its first send (kept out of RSS growth)."""

    def version(self) -> str:
        raise NotImplementedError


class RavenAdapter(Adapter):
    """This repository's raven (raven-core)."""

    name = "raven"

    def setup(self, dsn: str, *, capture_locals: bool = True, transport: str = "default") -> None:
        import raven
        from raven.transport import HTTPTransport

        class SerializeDrop(HTTPTransport):
            def send_event(self, event: dict[str, Any]) -> None:
                self.prepare(event)  # size limits, envelope, gzip: the bytes that would be POSTed

        options: dict[str, Any] = {"capture_locals": capture_locals}
        if transport == "serialize-drop":
            options["transport"] = SerializeDrop
        self.client = raven.Client(dsn, **options)

    def capture_exception(self, exc: BaseException) -> None:
        self.client.captureException(exc)

    def capture_message(self, message: str) -> None:
        self.client.captureMessage(message)

    def flush(self, timeout: float) -> None:
        self.client.flush(timeout)

    def dropped(self) -> int | None:
        totals = self.client.reports.totals
        return sum(
            q for (reason, category), q in totals.items() if category in ("error", "default")
        )

    def pending(self) -> int:
        transport = self.client.transport
        return int(transport.pending()) if hasattr(transport, "pending") else 0

    def preload(self) -> None:
        import requests  # noqa: F401  (the sender threads import it on their first request)

    def version(self) -> str:
        import raven

        return str(raven.__version__)


class SentrySdkAdapter(Adapter):
    """sentry-sdk, initialised with its defaults (default integrations, local variables on)."""

    name = "sentry-sdk"

    def setup(self, dsn: str, *, capture_locals: bool = True, transport: str = "default") -> None:
        import sentry_sdk
        from sentry_sdk.transport import HttpTransport

        totals: dict[str, int] = {}
        self._totals = totals

        class Counting(HttpTransport):
            def record_lost_event(
                self, reason: str, data_category: Any = None, item: Any = None, *, quantity: int = 1
            ) -> None:
                category = item.data_category if item is not None else data_category
                if category in ("error", "default"):
                    totals[reason] = totals.get(reason, 0) + 1
                super().record_lost_event(reason, data_category, item, quantity=quantity)

        class SerializeDrop(HttpTransport):
            def capture_envelope(self, envelope: Any) -> None:
                self._send_envelope(envelope)  # rate limits, client report, serialize, compress

            def _send_request(
                self, body: bytes, headers: Any, endpoint_type: Any, envelope: Any = None
            ) -> None:
                pass

        sentry_sdk.init(
            dsn=dsn,
            include_local_variables=capture_locals,
            transport=SerializeDrop if transport == "serialize-drop" else Counting,
        )
        self.sdk = sentry_sdk

    def capture_exception(self, exc: BaseException) -> None:
        self.sdk.capture_exception(exc)

    def capture_message(self, message: str) -> None:
        self.sdk.capture_message(message)

    def flush(self, timeout: float) -> None:
        self.sdk.flush(timeout)

    def dropped(self) -> int | None:
        return sum(self._totals.values())

    def pending(self) -> int:
        transport = self.sdk.get_client().transport
        worker = getattr(transport, "_worker", None)
        queue = getattr(worker, "_queue", None)
        return int(queue.qsize()) if queue is not None else 0

    def version(self) -> str:
        import sentry_sdk

        return str(sentry_sdk.VERSION)


class Raven610Adapter(Adapter):
    """raven-python 6.10.0, the legacy client."""

    name = "raven-6.10"

    def setup(self, dsn: str, *, capture_locals: bool = True, transport: str = "default") -> None:
        import raven
        from raven.transport.base import Transport

        class SerializeDrop(Transport):
            # raven 6.10 encodes (JSON + zlib) on the calling thread before the transport.
            scheme = ["http", "https"]

            def send(self, url: str, data: bytes, headers: dict[str, str]) -> None:
                pass

        options: dict[str, Any] = {"capture_locals": capture_locals}
        if transport == "serialize-drop":
            options["transport"] = SerializeDrop
        self.client = raven.Client(dsn, **options)

    def capture_exception(self, exc: BaseException) -> None:
        self.client.captureException(exc_info=(type(exc), exc, exc.__traceback__))

    def capture_message(self, message: str) -> None:
        self.client.captureMessage(message)

    def flush(self, timeout: float) -> None:
        transport = self.client.remote.get_transport()
        worker = getattr(transport, "_worker", None)
        if worker is None or not worker.is_alive():
            return
        deadline = time.monotonic() + timeout
        # AsyncWorker keeps an unbounded queue.Queue; wait for it to drain (no public flush in 6.10).
        while worker._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def pending(self) -> int:
        worker = getattr(self.client.remote.get_transport(), "_worker", None)
        return int(worker._queue.qsize()) if worker is not None else 0

    def version(self) -> str:
        import raven

        return str(raven.VERSION)


ADAPTERS: dict[str, type[Adapter]] = {
    a.name: a for a in (RavenAdapter, SentrySdkAdapter, Raven610Adapter)
}


def make_adapter(name: str) -> Adapter:
    return ADAPTERS[name]()


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data))


def rss_bytes() -> int:
    """Resident set size of this process right now (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


class RssSampler:
    """Samples RSS every few milliseconds in a thread; ``peak`` is the highest seen."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())


def python_version() -> str:
    return sys.version.split()[0]
