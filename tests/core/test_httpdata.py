"""Request data helpers: the Sentry ``request`` dict from raw values or a WSGI environ, with the
body capped by ``max_request_body_size``."""

from __future__ import annotations

from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
import raven
from raven.httpdata import (
    client_ip,
    get_headers_from_environ,
    request_from_wsgi_environ,
    request_interface,
    user_interface,
)
from raven.processors import MASK

from .conftest import Harness


def test_request_interface_fields() -> None:
    """URL, upper-cased method, query string, headers (dict or pairs), cookies and env are kept."""
    request = request_interface(
        url="https://shop.example/cart",
        method="post",
        query_string="a=1",
        headers=[("Accept", "text/html")],
        cookies={"theme": "dark"},
        env={"X": "1"},
        data="plain text",
    )
    assert request == {
        "url": "https://shop.example/cart",
        "method": "POST",
        "query_string": "a=1",
        "headers": {"Accept": "text/html"},
        "cookies": {"theme": "dark"},
        "env": {"X": "1"},
        "data": "plain text",
    }


def test_json_body_is_decoded() -> None:
    """A JSON body (bytes or text) becomes structured data, so scrubbing reaches its keys."""
    assert request_interface(data=b'{"user": "ann", "items": [1, 2]}')["data"] == {
        "user": "ann",
        "items": [1, 2],
    }
    assert request_interface(data="[1, 2]")["data"] == [1, 2]
    assert request_interface(data=b"{not json")["data"] == "{not json"


@pytest.mark.parametrize(
    ("size", "limit"), [("small", 4 * 1024), ("medium", 10 * 1024), ("always", 1024 * 1024)]
)
def test_body_is_capped_by_max_body_size(size: str, limit: int) -> None:
    """Bodies up to the limit are kept; larger ones are replaced by a note giving the size."""
    assert request_interface(data=b"x" * limit, max_body_size=size)["data"] == "x" * limit
    note = request_interface(data=b"x" * (limit + 1), max_body_size=size)["data"]
    assert note == f"<body of {limit + 1} bytes not sent: over the {limit}-byte limit>"


def test_body_never_sent_with_never() -> None:
    """``max_request_body_size="never"`` sends no body at all."""
    assert "data" not in request_interface(data=b"tiny", max_body_size="never")
    assert "data" not in request_interface(data={"form": "field"}, max_body_size="never")


def test_body_limit_follows_the_client_option(sentry: Harness) -> None:
    """With ``client=`` the client's ``max_request_body_size`` sets the cap."""
    client = sentry.client(max_request_body_size="small")
    assert request_interface(data=b"x" * 5000, client=client)["data"].startswith(
        "<body of 5000 bytes"
    )
    assert request_interface(data=b"x" * 5000, client=sentry.client())["data"] == "x" * 5000


def test_headers_from_environ() -> None:
    """HTTP_* keys and CONTENT_TYPE/CONTENT_LENGTH become headers with their usual spelling."""
    headers = get_headers_from_environ(
        {
            "HTTP_X_REQUEST_ID": "r1",
            "HTTP_ACCEPT_ENCODING": "gzip",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": "",
            "wsgi.input": object(),
            "PATH_INFO": "/",
        }
    )
    assert headers == {
        "X-Request-Id": "r1",
        "Accept-Encoding": "gzip",
        "Content-Type": "application/json",
    }


def test_request_from_wsgi_environ() -> None:
    """The request dict from a WSGI environ: full URL, method, query, headers, cookies apart."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "PUT",
        "SCRIPT_NAME": "/app",
        "PATH_INFO": "/items/1 2",
        "QUERY_STRING": "x=1",
        "HTTP_HOST": "shop.example:8080",
        "HTTP_COOKIE": "theme=dark",
        "wsgi.url_scheme": "https",
    }
    setup_testing_defaults(environ)
    request = request_from_wsgi_environ(environ, data=b'{"qty": 2}')
    assert request["url"] == "https://shop.example:8080/app/items/1%202"
    assert request["method"] == "PUT" and request["query_string"] == "x=1"
    assert request["cookies"] == {"theme": "dark"} and "Cookie" not in request["headers"]
    assert request["headers"]["Host"] == "shop.example:8080"
    assert request["data"] == {"qty": 2}


def test_url_without_host_header_uses_server_name_and_port() -> None:
    """Without a Host header the URL is built from SERVER_NAME and a non-default SERVER_PORT."""
    environ = {
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "internal",
        "SERVER_PORT": "8000",
        "PATH_INFO": "/p",
    }
    assert request_from_wsgi_environ(environ)["url"] == "http://internal:8000/p"
    environ["SERVER_PORT"] = "80"
    assert request_from_wsgi_environ(environ)["url"] == "http://internal/p"


def test_request_data_arrives_scrubbed(sentry: Harness, client: raven.Client) -> None:
    """A request dict built by the helpers is scrubbed on the way out, JSON body included."""
    client.http_context(
        request_interface(
            url="http://x/login",
            method="POST",
            data=b'{"user": "ann", "password": "pw"}',
            headers={"Authorization": "Basic abc"},
        )
    )
    client.captureMessage("login")
    request = sentry.event()["request"]
    assert request["data"] == {"user": "ann", "password": MASK}
    assert request["headers"]["Authorization"] == MASK


def test_remote_addr_only_with_send_default_pii(sentry: Harness) -> None:
    """The peer's address (``remote_addr`` or an ``env`` REMOTE_ADDR) is sent only with PII on."""
    private, public = sentry.client(), sentry.client(send_default_pii=True)
    for given in (
        {"remote_addr": "203.0.113.9"},
        {"env": {"REMOTE_ADDR": "203.0.113.9", "SERVER_NAME": "web"}},
    ):
        assert "REMOTE_ADDR" not in request_interface(url="http://x/", client=private, **given).get(
            "env", {}
        )
        assert (
            request_interface(url="http://x/", client=public, **given)["env"]["REMOTE_ADDR"]
            == "203.0.113.9"
        )
    assert request_interface(env={"REMOTE_ADDR": "1.2.3.4"}) == {}  # no client: no PII


def test_cookie_header_becomes_parsed_cookies() -> None:
    """A ``Cookie`` header leaves the headers and arrives as a dict, as does a cookie string."""
    request = request_interface(headers={"Cookie": "sessionid=s1; theme=dark", "Accept": "*/*"})
    assert request == {
        "headers": {"Accept": "*/*"},
        "cookies": {"sessionid": "s1", "theme": "dark"},
    }
    assert request_interface(cookies='a="quoted"; flag')["cookies"] == {"a": "quoted", "flag": ""}


def test_user_interface_follows_send_default_pii(sentry: Harness) -> None:
    """``id`` is always sent; username, name, email and IP only with PII; asked-for fields as given."""
    raw = {
        "id": 7,
        "username": "ada",
        "name": "Ada L.",
        "email": "ada@example.com",
        "ip_address": "10.0.0.1",
    }
    assert user_interface(sentry.client(), **raw, team="core") == {"id": "7", "team": "core"}
    assert user_interface(sentry.client(send_default_pii=True), **raw) == {
        "id": "7",
        "username": "ada",
        "name": "Ada L.",
        "email": "ada@example.com",
        "ip_address": "10.0.0.1",
    }
    assert user_interface(sentry.client(), username="ada") is None


def test_client_ip_prefers_forwarded_for_and_validates() -> None:
    """The first X-Forwarded-For entry wins over the peer; anything not an IP is dropped."""
    assert client_ip("198.51.100.1, 10.0.0.1", "10.0.0.2") == "198.51.100.1"
    assert client_ip(None, "10.0.0.2") == "10.0.0.2"
    assert client_ip("unknown", None) is None and client_ip(None, None) is None
