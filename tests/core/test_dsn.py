"""DSN parsing, the public DSN, and the transport registry keyed by scheme."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import raven
from raven.dsn import Dsn
from raven.exceptions import DuplicateScheme, InvalidDsn
from raven.transport import SyncTransport, ThreadedTransport, Transport, register_transport

from .conftest import Harness


def test_full_form_with_secret_port_and_path() -> None:
    """Every part of ``scheme://public:secret@host:port/path/project`` is parsed."""
    dsn = Dsn.parse("https://pub:sec@sentry.example.com:9000/sub/path/42")
    assert (dsn.scheme, dsn.public_key, dsn.secret_key) == ("https", "pub", "sec")
    assert (dsn.host, dsn.port, dsn.path, dsn.project_id) == (
        "sentry.example.com",
        9000,
        "/sub/path",
        "42",
    )
    assert dsn.transport == ""


def test_path_prefix_becomes_part_of_the_base_url() -> None:
    """A path before the project id stays in the server URL (raven-python's behaviour)."""
    dsn = Dsn.parse("https://k@host/sub/path/1")
    assert dsn.base_url == "https://host/sub/path"
    assert dsn.endpoint("envelope") == "https://host/sub/path/api/1/envelope/"


def test_ports_are_kept_and_default_ports_omitted() -> None:
    """A non-default port is kept in the URL; the scheme's default port is left out."""
    assert Dsn.parse("http://k@host:9000/1").base_url == "http://host:9000"
    assert Dsn.parse("https://k@host:443/1").base_url == "https://host"
    assert Dsn.parse("http://k@host:80/1").base_url == "http://host"


def test_secret_is_optional() -> None:
    """A DSN without a secret parses, and the auth header then carries no ``sentry_secret``."""
    dsn = Dsn.parse("https://pub@host/1")
    assert dsn.secret_key is None
    assert "sentry_secret" not in dsn.auth_header("raven/1")
    assert "sentry_secret=sec" in Dsn.parse("https://pub:sec@host/1").auth_header("raven/1")


def test_surrounding_whitespace_and_trailing_newline_tolerated() -> None:
    """A DSN read from a file (trailing newline, spaces) parses as if it were clean."""
    assert Dsn.parse("  https://k@host/1\n").public() == "https://k@host/1"


@pytest.mark.parametrize("prefix", ["sync", "threaded"])
def test_transport_prefix_in_scheme(prefix: str) -> None:
    """``sync+https://`` and ``threaded+https://`` keep the real scheme and note the transport."""
    dsn = Dsn.parse(f"{prefix}+https://k@host/1")
    assert (dsn.transport, dsn.scheme) == (prefix, "https")
    assert dsn.base_url == "https://host"


def test_query_options_are_parsed() -> None:
    """``timeout``, ``verify_ssl`` and ``ca_certs`` in the query string are read."""
    dsn = Dsn.parse("https://k@host/1?timeout=3&verify_ssl=0&ca_certs=/etc/ca.pem")
    assert dsn.query == {"timeout": "3", "verify_ssl": "0", "ca_certs": "/etc/ca.pem"}
    assert dsn.endpoint("envelope") == "https://host/api/1/envelope/"


def test_query_options_reach_the_client_and_transport() -> None:
    """DSN query options configure the client: timeout as a number, verify_ssl as a boolean."""
    client = raven.Client(
        "sync+https://k@host/1?timeout=3&verify_ssl=false", install_sys_hook=False
    )
    try:
        assert client.options.timeout == 3.0
        assert client.options.verify_ssl is False
        assert client.transport.timeout == 3.0  # type: ignore[union-attr]
        assert client.transport.verify is False  # type: ignore[union-attr]
    finally:
        client.close()


def test_ca_certs_query_option_is_used_for_verification() -> None:
    """``ca_certs`` in the DSN becomes the CA bundle the transport verifies against."""
    client = raven.Client("sync+https://k@host/1?ca_certs=/etc/ca.pem", install_sys_hook=False)
    try:
        assert client.transport.verify == "/etc/ca.pem"  # type: ignore[union-attr]
    finally:
        client.close()


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("https://host/1", "public key"),
        ("https://:secret@host/1", "public key"),
        ("https://k@/1", "host"),
        ("https://k@host", "project id"),
        ("https://k@host/", "project id"),
        ("host/1", "scheme"),
        ("http://k@host:notaport/1", "Port"),
        ("", "non-empty"),
    ],
)
def test_malformed_dsn_raises_naming_the_bad_part(value: str, names: str) -> None:
    """A DSN missing its host, project, public key or scheme raises InvalidDsn saying which."""
    with pytest.raises(InvalidDsn, match=names):
        Dsn.parse(value)


def test_malformed_dsn_fails_client_construction() -> None:
    """``Client(bad_dsn)`` raises InvalidDsn, which is a ConfigurationError and a ValueError."""
    with pytest.raises(InvalidDsn, match="project id") as info:
        raven.Client("https://k@host/")
    assert isinstance(info.value, raven.ConfigurationError)
    assert isinstance(info.value, ValueError)


def test_unsupported_scheme_raises_invalid_dsn() -> None:
    """A scheme no transport is registered for raises InvalidDsn naming the scheme."""
    with pytest.raises(InvalidDsn, match="'ftp'"):
        raven.Client("ftp://k@host/1")
    with pytest.raises(InvalidDsn, match="'carrier\\+https'"):
        raven.Client("carrier+https://k@host/1")


def test_dsn_from_environment(monkeypatch: pytest.MonkeyPatch, sentry: Harness) -> None:
    """With no DSN argument, ``SENTRY_DSN`` configures the client and events go there."""
    monkeypatch.setenv("SENTRY_DSN", sentry.dsn + "\n")
    client = sentry.client(dsn=None)
    assert client.is_enabled()
    event_id = client.captureMessage("from the environment")
    assert sentry.event()["event_id"] == event_id


def test_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch, sentry: Harness) -> None:
    """An explicit DSN argument is used even when ``SENTRY_DSN`` points elsewhere."""
    monkeypatch.setenv("SENTRY_DSN", "https://other@elsewhere.invalid/9")
    client = sentry.client()
    assert client.get_public_dsn("http") == sentry.receiver.dsn
    client.captureMessage("here")
    sentry.event()


def test_get_public_dsn_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """``get_public_dsn`` drops the secret and transport prefix; scheme-relative by default (as
    in raven-python), ``scheme`` picks one."""
    client = raven.Client("sync+https://pub:sec@host:9000/p/3", install_sys_hook=False)
    try:
        assert client.get_public_dsn() == "//pub@host:9000/p/3"
        assert client.get_public_dsn("https") == "https://pub@host:9000/p/3"
        assert client.get_public_dsn("http") == "http://pub@host:9000/p/3"
        assert client.get_public_dsn("") == "//pub@host:9000/p/3"
    finally:
        client.close()
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    assert raven.Client(install_sys_hook=False).get_public_dsn() is None


def test_path_prefix_and_auth_reach_the_server(sentry: Harness) -> None:
    """A DSN with a path posts to ``/path/api/<project>/envelope/`` with the X-Sentry-Auth header."""
    receiver = sentry.receiver
    client = sentry.client(dsn=f"sync+http://pub:sec@127.0.0.1:{receiver.port}/sub/path/7")
    client.captureMessage("prefixed")
    sentry.event()
    (request,) = receiver.requests
    assert request.path == "/sub/path/api/7/envelope/"
    auth = request.headers["x-sentry-auth"]
    assert auth.startswith("Sentry ")
    assert "sentry_key=pub" in auth and "sentry_secret=sec" in auth and "sentry_version=7" in auth
    assert request.headers["content-encoding"] == "gzip"


def test_default_and_prefixed_schemes_pick_their_transports() -> None:
    """``https://`` uses the background sender, ``sync+https://`` sends in the calling thread."""
    clients = [
        raven.Client(dsn, install_sys_hook=False)
        for dsn in (
            "https://k@h/1",
            "threaded+https://k@h/1",
            "sync+https://k@h/1",
            "requests+http://k@h/1",
        )
    ]
    try:
        kinds = [type(c.transport) for c in clients]
        assert kinds == [ThreadedTransport, ThreadedTransport, SyncTransport, SyncTransport]
    finally:
        for c in clients:
            c.close(timeout=0)


class _ListTransport(Transport):
    """A transport that keeps events in memory (to test the registry, not delivery)."""

    sent: list[dict[str, Any]] = []

    def send_event(self, event: dict[str, Any]) -> None:
        type(self).sent.append(event)


def test_register_scheme_adds_a_transport() -> None:
    """``Client.register_scheme(scheme, cls)`` makes DSNs with that scheme use ``cls``."""
    scheme = f"list{uuid.uuid4().hex[:8]}"
    raven.Client.register_scheme(scheme, _ListTransport)
    client = raven.Client(f"{scheme}://k@host/1", install_sys_hook=False)
    try:
        assert isinstance(client.transport, _ListTransport)
        event_id = client.captureMessage("through the custom transport")
        assert [e["event_id"] for e in _ListTransport.sent] == [event_id]
    finally:
        client.close()
        _ListTransport.sent.clear()


def test_registering_a_taken_scheme_raises_duplicate_scheme() -> None:
    """Registering a scheme that already has a transport raises DuplicateScheme."""
    with pytest.raises(DuplicateScheme, match="'https'"):
        raven.Client.register_scheme("https", _ListTransport)
    scheme = f"dup{uuid.uuid4().hex[:8]}"
    register_transport(scheme, _ListTransport)
    with pytest.raises(DuplicateScheme):
        register_transport(scheme, _ListTransport)


def test_transport_option_overrides_the_scheme() -> None:
    """The ``transport`` option (a class or a dotted path) wins over the DSN's scheme."""
    for value in (_ListTransport, f"{__name__}._ListTransport"):
        client = raven.Client("https://k@host/1", transport=value, install_sys_hook=False)
        assert isinstance(client.transport, _ListTransport)
        client.close()
    with pytest.raises(raven.ConfigurationError, match="'transport'"):
        raven.Client("https://k@host/1", transport=dict, install_sys_hook=False)


def test_bad_query_option_names_the_option() -> None:
    """A DSN query option with a bad value fails like the keyword option would, naming it."""
    with pytest.raises(raven.ConfigurationError, match="'timeout'"):
        raven.Client("https://k@host/1?timeout=soon", install_sys_hook=False)
    with pytest.raises(raven.ConfigurationError, match="'verify_ssl'"):
        raven.Client("https://k@host/1?verify_ssl=perhaps", install_sys_hook=False)
