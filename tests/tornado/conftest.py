"""Fixtures for the Tornado tests: clients pointed at the receiver, and a real Tornado server on
loopback in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import raven
import tornado.netutil
from raven_tornado import AsyncSentryClient
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.web import Application

from tests.receiver import Receiver
from tests.relay import validate_event

CLIENT_OPTIONS: dict[str, Any] = {"install_sys_hook": False}


@pytest.fixture(autouse=True)
def _every_event_is_valid(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever else a test checks, every event that reached the receiver must pass Relay."""
    receiver = request.getfixturevalue("receiver") if "receiver" in request.fixturenames else None
    yield
    for event in receiver.events if receiver is not None else ():
        validate_event(event)


@pytest.fixture
def client(receiver: Receiver) -> Iterator[raven.Client]:
    """A plain ``raven.Client`` (the core's background sender) pointed at the receiver."""
    client = raven.Client(receiver.dsn, **CLIENT_OPTIONS)
    yield client
    client.close(timeout=5)


@pytest.fixture
async def async_client(receiver: Receiver) -> AsyncIterator[AsyncSentryClient]:
    """An ``AsyncSentryClient`` pointed at the receiver; sends on the test's event loop."""
    client = AsyncSentryClient(receiver.dsn, **CLIENT_OPTIONS)
    yield client
    await client.flush(timeout=5)
    client.close(timeout=0)


@pytest.fixture(params=["plain", "async"])
async def any_client(
    request: pytest.FixtureRequest, receiver: Receiver
) -> AsyncIterator[raven.Client]:
    """Each test using it runs once with a plain ``raven.Client`` and once with ``AsyncSentryClient``."""
    cls = raven.Client if request.param == "plain" else AsyncSentryClient
    client = cls(receiver.dsn, **CLIENT_OPTIONS)
    yield client
    await flush(client)
    client.close(timeout=5)


@pytest.fixture(params=["plain", "async"])
async def traced_client(
    request: pytest.FixtureRequest, receiver: Receiver
) -> AsyncIterator[raven.Client]:
    """Like ``any_client``, with tracing on (``traces_sample_rate=1.0``)."""
    cls = raven.Client if request.param == "plain" else AsyncSentryClient
    client = cls(receiver.dsn, traces_sample_rate=1.0, **CLIENT_OPTIONS)
    yield client
    await flush(client)
    client.close(timeout=5)


async def flush(client: raven.Client, timeout: float = 30.0) -> bool:
    """Wait until the client delivered everything, without blocking the event loop."""
    if isinstance(client, AsyncSentryClient):
        return await client.flush(timeout)
    return await asyncio.to_thread(client.flush, timeout)


class Server:
    """A Tornado app served on 127.0.0.1, and an HTTP client to call it."""

    def __init__(self, app: Application, max_clients: int = 10) -> None:
        # A deep backlog: the isolation test opens hundreds of connections at once.
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", backlog=2048)
        self.port = sockets[0].getsockname()[1]
        self.app = app
        self.http_server = HTTPServer(app)
        self.http_server.add_sockets(sockets)
        self.http = AsyncHTTPClient(force_instance=True, max_clients=max_clients)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def fetch(self, path: str, **kwargs: Any) -> HTTPResponse:
        kwargs.setdefault("request_timeout", 60)
        kwargs.setdefault("connect_timeout", 60)
        return await self.http.fetch(self.url(path), raise_error=False, **kwargs)

    async def stop(self) -> None:
        self.http.close()
        self.http_server.stop()
        await self.http_server.close_all_connections()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """``await serve(app)`` starts ``app`` on a free loopback port; stopped after the test."""
    servers: list[Server] = []

    async def start(app: Application, max_clients: int = 10) -> Server:
        server = Server(app, max_clients)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()
