"""Fixtures for raven-sanic: uniquely named apps, and a real Sanic server on the test's own loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from sanic import HTTPResponse, Request, Sanic, text
from tests.relay import validate_event


@pytest.fixture
def make_app() -> Iterator[Callable[..., Sanic]]:
    """``make_app()``: a Sanic app with a name no other test uses, unregistered at teardown.

    Sanic keeps every app in a process-wide registry keyed by name.
    """
    # Sanic rewrites its own methods when an app starts (TouchUp); in test mode it starts from the
    # originals each time, so that several apps can start one after another in one process.
    Sanic.test_mode = True
    apps: list[Sanic] = []

    def make(**kwargs: Any) -> Sanic:
        kwargs.setdefault("configure_logging", False)
        app = Sanic(f"raven_sanic_{uuid.uuid4().hex[:12]}", **kwargs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        Sanic.unregister_app(app)


@contextlib.asynccontextmanager
async def serve(app: Sanic, backlog: int = 100) -> AsyncIterator[str]:
    """Run ``app`` on a free loopback port in the running loop, with its server listeners;
    yields the base URL. Connections still open at exit are closed by the server."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = await app.create_server(
        sock=sock, backlog=backlog, access_log=False, return_asyncio_server=True
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.start_serving()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.before_stop()
        for connection in list(server.connections):
            connection.close_if_idle()
        closing = server.close()
        if closing is not None:
            await closing
        await server.after_stop()


def validated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every event through Relay's normalizer (fails the test on any error); returns them."""
    for event in events:
        validate_event(event)
    return events


def exception_of(event: dict[str, Any]) -> dict[str, Any]:
    """The outermost exception of an event."""
    values = event["exception"]["values"]
    return dict(values[-1])


@contextlib.asynccontextmanager
async def http(app: Sanic, **client_kwargs: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for ``app`` served by :func:`serve`; the server stops when the block ends."""
    client_kwargs.setdefault("timeout", 30.0)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, **client_kwargs) as client:
        yield client


def app_with_routes(make_app: Callable[..., Sanic]) -> Sanic:
    """A fresh app with ``/fail`` (GET and POST; raises ValueError) and ``/ok``."""
    app = make_app()

    @app.route("/fail", methods=["GET", "POST"])
    async def fail(request: Request) -> HTTPResponse:
        raise ValueError("route failed")

    @app.get("/ok")
    async def ok(request: Request) -> HTTPResponse:
        return text("fine")

    return app


@contextlib.asynccontextmanager
async def asgi_lifespan(app: Sanic) -> AsyncIterator[None]:
    """Drive an ASGI lifespan (startup, then shutdown) the way an ASGI server does."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, to_app.get, from_app.put)
    )
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
        await task
