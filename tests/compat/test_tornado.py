"""Tornado as raven-python 6.10 did it: a capture's ``callback=`` is called, and the mixin's
user carries ``is_authenticated``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.web
from raven.receiver import Receiver
from tornado.testing import bind_unused_port

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def test_capture_callback_and_is_authenticated(receiver: Receiver) -> None:
    """``client.captureMessage(..., callback=cb)`` calls ``cb`` once delivered; a mixin
    handler's events carry ``user.is_authenticated``."""
    from raven.contrib.tornado import AsyncSentryClient, SentryMixin

    client = AsyncSentryClient(receiver.dsn, install_sys_hook=False)
    called: list[Any] = []
    done = asyncio.Event()

    def callback(result: Any) -> None:
        called.append(result)
        done.set()

    event_id = client.captureMessage("with a callback", callback=callback)
    await asyncio.wait_for(done.wait(), 10)
    assert called == [event_id]

    class Handler(SentryMixin, tornado.web.RequestHandler):
        def get_current_user(self) -> Any:
            return "ada" if self.get_argument("login", None) else None

        def get(self) -> None:
            raise ValueError("boom")

    app = tornado.web.Application([("/", Handler)])
    app.sentry_client = client  # type: ignore[attr-defined]
    sock, port = bind_unused_port()
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets([sock])
    try:
        http = tornado.httpclient.AsyncHTTPClient()
        for url in (f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}/?login=1"):
            response = await http.fetch(url, raise_error=False)
            assert response.code == 500
        await client.flush(10)
    finally:
        server.stop()
        client.close()
    users = [e.get("user") for e in receiver.wait_for(3) if e.get("exception")]
    assert {"is_authenticated": False} in users
    assert {"id": "ada", "is_authenticated": True} in users
