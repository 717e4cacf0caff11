"""``manage.py check`` sees every source of configuration the app reads: the settings, the
``SENTRY_DSN`` and ``SENTRY_*`` environment variables, and the transports a DSN scheme needs."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

pytestmark = pytest.mark.django_db(databases="__all__")


def _raven_errors() -> list[Any]:
    return [message for message in run_checks() if message.id and message.id.startswith("raven.")]


def test_bad_sentry_dsn_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed SENTRY_DSN environment variable is raven.E002 naming the variable, and
    `check` stops on it."""
    monkeypatch.setenv("SENTRY_DSN", "not a dsn")
    (error,) = _raven_errors()
    assert error.id == "raven.E002"
    assert error.obj == "the SENTRY_DSN environment variable"
    with pytest.raises(SystemCheckError, match="raven.E002"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_unknown_dsn_scheme_in_the_settings_and_the_environment(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DSN whose scheme no transport serves is raven.E002, wherever it comes from."""
    monkeypatch.setenv("SENTRY_DSN", "gopher://key@sentry.example.com/1")
    (error,) = _raven_errors()
    assert error.id == "raven.E002" and "unsupported scheme 'gopher'" in error.msg
    monkeypatch.delenv("SENTRY_DSN")
    settings.SENTRY_DSN = "ftp://key@sentry.example.com/1"
    (error,) = _raven_errors()
    assert error.id == "raven.E002" and error.obj == "settings.SENTRY_DSN"
    settings.RAVEN_CONFIG = {"dsn": "udp://key@sentry.example.com/1"}
    (error,) = _raven_errors()
    assert error.id == "raven.E002" and error.obj == "settings.RAVEN_CONFIG['dsn']"


def test_bad_option_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid option from a SENTRY_* environment variable is raven.E005."""
    monkeypatch.setenv("SENTRY_DSN", "https://key@sentry.example.com/1")
    monkeypatch.setenv("SENTRY_DEBUG", "maybe")
    (error,) = _raven_errors()
    assert error.id == "raven.E005" and "'debug'" in error.msg


def test_bad_transport_option(settings: Any) -> None:
    """A RAVEN_CONFIG 'transport' that names no transport is raven.E004."""
    settings.RAVEN_CONFIG = {"dsn": "https://key@sentry.example.com/1", "transport": "no.such.T"}
    (error,) = _raven_errors()
    assert error.id == "raven.E004" and "option 'transport'" in error.msg


def test_valid_environment_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A well-formed SENTRY_DSN environment variable with a known scheme gives no message."""
    monkeypatch.setenv("SENTRY_DSN", "sync+https://key@sentry.example.com/1")
    assert _raven_errors() == []


def test_transaction_style_is_checked(settings: Any) -> None:
    """RAVEN_CONFIG's transaction_style is "url" or "function_name"; anything else is raven.E004
    naming both."""
    settings.RAVEN_CONFIG = {"dsn": "https://key@sentry.example.com/1", "transaction_style": "view"}
    (error,) = _raven_errors()
    assert (
        error.id == "raven.E004" and "'url', 'function_name'" in error.msg and "'view'" in error.msg
    )
    settings.RAVEN_CONFIG = {"transaction_style": "function_name"}
    assert _raven_errors() == []
