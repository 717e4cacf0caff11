"""raven-python's WSGI middleware URL rules: the scheme's default port is left out and
``X-Forwarded-Host`` names the host; ``raven.utils.wsgi`` gives the same answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from raven.middleware import Sentry

from .conftest import Harness


def boom(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    raise RuntimeError("boom")


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def serve(sentry: Harness) -> Iterator[str]:
    """The failing app behind raven's middleware, served over real HTTP on loopback."""
    app = Sentry(boom, sentry.client())
    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_default_port_dropped_and_forwarded_host_honoured(sentry: Harness, serve: str) -> None:
    """``Host: shop.example:80`` gives ``http://shop.example/pay``; ``X-Forwarded-Host`` wins."""
    requests.get(f"{serve}/pay", headers={"Host": "shop.example:80"}, timeout=10)
    requests.get(
        f"{serve}/pay",
        headers={"Host": "internal:8080", "X-Forwarded-Host": "public.example"},
        timeout=10,
    )
    first, second = sentry.events(2)
    assert first["request"]["url"] == "http://shop.example/pay"
    assert second["request"]["url"] == "http://public.example/pay"


def test_utils_wsgi_helpers() -> None:
    """``raven.utils.wsgi.get_host`` / ``get_current_url`` follow the same rules."""
    with pytest.warns(DeprecationWarning, match="get_host_from_environ"):
        from raven.utils.wsgi import get_current_url, get_host
    environ = {
        "wsgi.url_scheme": "https",
        "HTTP_HOST": "shop.example:443",
        "SCRIPT_NAME": "/app",
        "PATH_INFO": "/pay",
        "QUERY_STRING": "a=1",
    }
    assert get_host(environ) == "shop.example"
    assert get_current_url(environ) == "https://shop.example/app/pay?a=1"
    assert get_current_url(environ, host_only=True) == "https://shop.example/"
