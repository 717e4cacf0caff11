"""Transports written for raven-python 6.10: a ``scheme`` list, constructed with the DSN's query
options, overriding ``send(url, data, headers)`` or ``async_send(...)``; and raven-python's
transport-prefixed DSN schemes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import raven
from raven.transport.base import AsyncTransport, Transport
from raven.transport.http import HTTPTransport
from raven.transport.threaded import ThreadedHTTPTransport

from .conftest import Harness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SENT: list[tuple[str, str, dict[str, Any]]] = []  # (class, thread name, constructor options)


class HeaderTransport(HTTPTransport):
    """A synchronous transport that adds a header before raven-python's HTTP send."""

    scheme = ["header+http"]

    def __init__(self, label: str = "none", **options: Any) -> None:
        super().__init__(**options)
        self.label = label

    def send(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        SENT.append(("HeaderTransport", threading.current_thread().name, {"label": self.label}))
        return super().send(url, data, {**headers, "X-Label": self.label})


class ProxyThreadedTransport(ThreadedHTTPTransport):
    """raven-python's threaded transport with ``send`` overridden (as one adds a proxy)."""

    def send(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        SENT.append(("ProxyThreadedTransport", threading.current_thread().name, {}))
        return super().send(url, data, headers)


class CallbackTransport(AsyncTransport):
    """An asynchronous transport: sends on its own thread, reports through the callbacks."""

    scheme = ["callback+http"]

    def __init__(self, **options: Any) -> None:
        self.http = HTTPTransport(**options)

    def async_send(
        self, url: str, data: bytes, headers: dict[str, str], success_cb: Any, failure_cb: Any
    ) -> None:
        def run() -> None:
            SENT.append(("CallbackTransport", threading.current_thread().name, {}))
            try:
                self.http.send(url, data, headers)
            except Exception as exc:
                failure_cb(exc)
            else:
                success_cb()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()


class BaseSubclassTransport(Transport):
    """raven-python's own tests' pattern: ``raven.transport.base.Transport`` with ``send``."""

    scheme = ["mock+http"]

    def __init__(self, timeout: str = "5") -> None:
        self.http = HTTPTransport(timeout=timeout)

    def send(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        SENT.append(("BaseSubclassTransport", threading.current_thread().name, {}))
        return self.http.send(url, data, headers)


@pytest.fixture(autouse=True)
def _clear() -> None:
    SENT.clear()


def test_registered_scheme_with_query_options(sentry: Harness) -> None:
    """``Client.register_scheme`` makes a DSN scheme use the class, built with the DSN's query
    options; its ``send`` delivers the event (in the calling thread)."""
    try:
        raven.Client.register_scheme("header+http", HeaderTransport)
    except raven.DuplicateScheme:
        pass
    dsn = sentry.receiver.dsn.replace("http://", "header+http://") + "?label=blue"
    client = sentry.client(dsn=dsn)
    client.captureMessage("through a custom transport")
    event = sentry.event()
    assert event["logentry"]["formatted"] == "through a custom transport"
    assert SENT == [("HeaderTransport", threading.current_thread().name, {"label": "blue"})]
    assert client.remote.get_transport().label == "blue"


@pytest.mark.parametrize("as_path", [False, True], ids=["class", "dotted-path"])
def test_threaded_subclass_send_runs_on_the_background_sender(
    sentry: Harness, as_path: bool
) -> None:
    """A ``ThreadedHTTPTransport`` subclass given as ``transport=`` (class or dotted path) has
    its ``send`` called off the app's thread, and the event arrives."""
    transport: Any = f"{__name__}.ProxyThreadedTransport" if as_path else ProxyThreadedTransport
    client = sentry.client(dsn=sentry.receiver.dsn, transport=transport)
    client.captureMessage("in the background")
    assert client.flush(10)
    assert sentry.event()["logentry"]["formatted"] == "in the background"
    ((name, thread, _),) = SENT
    assert name == "ProxyThreadedTransport" and thread != threading.current_thread().name


def test_async_send_transport(sentry: Harness) -> None:
    """An ``AsyncTransport`` with its own ``async_send`` delivers through it."""
    client = sentry.client(dsn=sentry.receiver.dsn, transport=CallbackTransport)
    client.captureMessage("via callbacks")
    assert sentry.event()["logentry"]["formatted"] == "via callbacks"
    assert [s[0] for s in SENT] == ["CallbackTransport"]


@pytest.mark.parametrize("prefix", ["gevent", "eventlet", "twisted", "tornado", "requests"])
def test_transport_prefixed_dsn_schemes_start_a_working_client(
    sentry: Harness, prefix: str
) -> None:
    """DSNs with raven-python's ``gevent+``, ``eventlet+``, ``twisted+``, ``tornado+`` and
    ``requests+`` prefixes deliver."""
    client = sentry.client(dsn=f"{prefix}+{sentry.receiver.dsn}")
    client.captureMessage(f"via {prefix}")
    assert client.flush(10)
    assert sentry.event()["logentry"]["formatted"] == f"via {prefix}"


def test_subclass_of_the_base_transport(sentry: Harness) -> None:
    """A ``raven.transport.base.Transport`` subclass overriding ``send`` (as raven-python's
    tests wrote them) is built with the DSN's query options and delivers."""
    client = sentry.client(dsn=sentry.receiver.dsn + "?timeout=3", transport=BaseSubclassTransport)
    client.captureMessage("through the base class")
    assert sentry.event()["logentry"]["formatted"] == "through the base class"
    assert [s[0] for s in SENT] == ["BaseSubclassTransport"]
    assert client.transport.legacy.http.timeout == 3.0  # type: ignore[union-attr]
