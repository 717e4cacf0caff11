"""RemoteConfig and the DSN as raven-python 6.10 exposed them."""

from __future__ import annotations

import pytest
import raven
from raven.exceptions import InvalidDsn

from .conftest import Harness

with pytest.warns(DeprecationWarning, match=r"use raven\.Dsn"):
    from raven.conf.remote import RemoteConfig


def test_from_string_parts() -> None:
    """``RemoteConfig.from_string`` splits a DSN as raven-python did."""
    remote = RemoteConfig.from_string("https://pub:sec@sentry.example.com:9000/prefix/42?timeout=3")
    assert remote.base_url == "https://sentry.example.com:9000/prefix"
    assert (remote.project, remote.public_key, remote.secret_key) == ("42", "pub", "sec")
    assert remote.store_endpoint == "https://sentry.example.com:9000/prefix/api/42/store/"
    assert remote.options == {"timeout": "3"}
    assert remote.is_active()
    assert remote.get_public_dsn() == "//pub@sentry.example.com:9000/prefix/42"
    assert not RemoteConfig().is_active()


@pytest.mark.parametrize(
    "dsn", ["https://host/1", "https://key@/1", "https://key@host/", "bogus+https://key@host/1"]
)
def test_bad_dsn_raises_invalid_dsn(dsn: str) -> None:
    """A DSN without key, host or project, or with an unknown scheme, raises InvalidDsn (a
    ValueError), as raven-python did."""
    with pytest.raises(InvalidDsn):
        RemoteConfig.from_string(dsn)
    with pytest.raises(ValueError):
        raven.Client(dsn)


def test_client_remote_and_public_dsn(sentry: Harness) -> None:
    """``client.remote`` describes the client's DSN and ``get_transport()`` is the one that
    sends; ``get_public_dsn()`` is scheme-relative unless a scheme is given."""
    client = sentry.client()
    with pytest.warns(DeprecationWarning, match=r"use client\.dsn"):
        remote = client.remote
    assert remote.is_active() and remote.public_key == client.dsn.public_key
    assert remote.get_transport() is client.transport
    host = f"{client.dsn.host}:{client.dsn.port}"
    assert client.get_public_dsn() == f"//{client.dsn.public_key}@{host}/{client.dsn.project_id}"
    assert client.get_public_dsn("https").startswith("https://")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_assigning_remote_sends_elsewhere(sentry: Harness) -> None:
    """Assigning ``client.remote`` (or calling ``set_dsn``) sends the next events to the new DSN;
    an inactive remote disables the client."""
    client = sentry.client(dsn="sync+https://key@127.0.0.1:9/1")
    client.remote = RemoteConfig.from_string(sentry.dsn)
    client.captureMessage("after the move")
    assert sentry.event()["logentry"]["formatted"] == "after the move"
    client.set_dsn(None)
    assert not client.is_enabled() and client.captureMessage("dropped") is None


def test_get_ident(sentry: Harness) -> None:
    """raven-python's deprecated ``client.get_ident(result)`` returns the id, with a warning."""
    client = sentry.client()
    event_id = client.captureMessage("ident")
    with pytest.warns(DeprecationWarning, match="the id capture returns"):
        assert client.get_ident(event_id) == event_id
    assert sentry.event()["event_id"] == event_id
