"""Traces crossing real HTTP between a Raven-instrumented WSGI app and the real
``opentelemetry-sdk`` with its W3C propagator, in both directions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from raven.middleware import Sentry

from tests.core.conftest import Harness


@pytest.fixture
def otel() -> tuple[Any, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("interop-test"), exporter


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def serve_wsgi(app: Callable[..., Any]) -> tuple[WSGIServer, str]:
    class ThreadingWSGIServer(ThreadingHTTPServer, WSGIServer):
        pass

    server = make_server("127.0.0.1", 0, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def wsgi_server() -> Iterator[Callable[[Callable[..., Any]], str]]:
    servers: list[WSGIServer] = []

    def start(app: Callable[..., Any]) -> str:
        server, url = serve_wsgi(app)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_trace_started_by_opentelemetry_is_continued_by_raven(
    sentry: Harness, otel: tuple[Any, InMemorySpanExporter], wsgi_server: Any
) -> None:
    tracer, exporter = otel
    client = sentry.client(traces_sample_rate=1.0)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with client.start_span(op="work", description="inside the Raven app"):
            start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    url = wsgi_server(Sentry(app, client))
    with tracer.start_as_current_span("otel-caller", kind=SpanKind.CLIENT) as otel_span:
        headers: dict[str, str] = {}
        inject(headers)  # W3C traceparent (OpenTelemetry's default propagator)
        assert requests.get(f"{url}/orders", headers=headers, timeout=5).text == "ok"
    (transaction,) = sentry.receiver.wait_for_transactions(1)
    sentry.validate(sentry.receiver.transactions)
    otel_context = otel_span.get_span_context()
    trace = transaction["contexts"]["trace"]
    assert trace["trace_id"] == f"{otel_context.trace_id:032x}"
    assert trace["parent_span_id"] == f"{otel_context.span_id:016x}"
    assert transaction["transaction"] == "/orders"
    assert transaction["transaction_info"] == {"source": "url"}
    assert trace["op"] == "http.server" and trace["status"] == "ok"
    assert transaction["spans"][0]["parent_span_id"] == trace["span_id"]
    assert [span.name for span in exporter.get_finished_spans()] == ["otel-caller"]


def test_a_trace_started_by_raven_is_continued_by_opentelemetry(
    sentry: Harness, otel: tuple[Any, InMemorySpanExporter]
) -> None:
    tracer, exporter = otel

    class OTelHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            context = extract(dict(self.headers.items()))
            with tracer.start_as_current_span("otel-server", context=context, kind=SpanKind.SERVER):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), OTelHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = sentry.client(traces_sample_rate=1.0)
        with client.start_transaction(name="raven-caller", op="task") as transaction:
            requests.get(f"http://127.0.0.1:{server.server_port}/", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    (sent,) = sentry.receiver.wait_for_transactions(1)
    (http_span,) = sent["spans"]
    (otel_span,) = exporter.get_finished_spans()
    assert otel_span.context is not None and otel_span.parent is not None
    assert f"{otel_span.context.trace_id:032x}" == transaction.trace_id
    assert f"{otel_span.parent.span_id:016x}" == http_span["span_id"]
    assert otel_span.parent.trace_flags.sampled  # Raven's decision travelled in traceparent
