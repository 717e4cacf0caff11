"""Where the client comes from: the ``RAVEN_CONFIG``, ``SENTRY_DSN`` and ``SENTRY_CLIENT`` settings.

One client per process, built on first use (``AppConfig.ready()`` uses it first) and cached until
one of those settings changes (``setting_changed``: ``override_settings`` in tests).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import raven
from raven.exceptions import ConfigurationError
from raven.guard import capture_internal_errors

from .compat import legacy_options

if TYPE_CHECKING:
    from .client import DjangoClient

__all__ = [
    "DEFAULT_CLIENT",
    "RavenSettings",
    "client_or_none",
    "get_client",
    "read_settings",
    "reset_client",
]

logger = logging.getLogger("raven.django")

DEFAULT_CLIENT = "raven_django.client.DjangoClient"
# Settings whose change rebuilds the client.
WATCHED_SETTINGS = frozenset({"RAVEN_CONFIG", "SENTRY_DSN", "SENTRY_CLIENT"})

_lock = threading.Lock()
_client: DjangoClient | None = None
_client_path: str | None = None
_reported_error: str | None = None


@dataclass(frozen=True)
class RavenSettings:
    """What the Django settings say about Raven, before any validation of the options."""

    dsn: str | None
    options: dict[str, Any] = field(default_factory=dict)
    client_class: str = DEFAULT_CLIENT


def read_settings() -> RavenSettings:
    """``RAVEN_CONFIG`` (``dsn`` plus client options), ``SENTRY_DSN`` and ``SENTRY_CLIENT``."""
    from django.conf import settings

    # raven-python's SENTRY_CONFIG and SENTRY_<OPTION> settings too (see compat)
    config = legacy_options(settings, getattr(settings, "RAVEN_CONFIG", None))
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise ConfigurationError(f"RAVEN_CONFIG must be a dict, got {type(config).__name__}")
    options = dict(config)
    dsn = options.pop("dsn", None) or getattr(settings, "SENTRY_DSN", None) or None
    if dsn is not None and not isinstance(dsn, str):
        raise ConfigurationError(f"the DSN must be a string, got {dsn!r}")
    client_class = getattr(settings, "SENTRY_CLIENT", None) or DEFAULT_CLIENT
    if not isinstance(client_class, str):
        raise ConfigurationError(
            f"SENTRY_CLIENT must be a dotted path string, got {client_class!r}"
        )
    return RavenSettings(dsn=dsn, options=options, client_class=client_class)


def load_client_class(path: str) -> type[DjangoClient]:
    """Import ``path`` and check that it names a :class:`~raven_django.DjangoClient` subclass."""
    from django.utils.module_loading import import_string

    from .client import DjangoClient

    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ConfigurationError(f"SENTRY_CLIENT {path!r} cannot be imported: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, raven.Client)):
        raise ConfigurationError(f"SENTRY_CLIENT {path!r} must name a subclass of raven.Client")
    if not issubclass(cls, DjangoClient):  # raven-python took any client class
        logger.debug("SENTRY_CLIENT %r is not a DjangoClient: requests are not attached", path)
    return cls  # type: ignore[return-value]


def get_client(client: str | None = None, reset: bool = False) -> DjangoClient:
    """The configured client (cached). ``client`` names another class to build instead.

    Raises :class:`raven.exceptions.ConfigurationError` when the settings are invalid
    (``manage.py check`` lists the problems).
    """
    global _client, _client_path
    current = _client
    if current is not None and not reset and (client is None or client == _client_path):
        return current
    with _lock:
        if _client is not None and not reset and (client is None or client == _client_path):
            return _client
        config = read_settings()
        path = client or config.client_class
        new = load_client_class(path)(dsn=config.dsn, **config.options)
        old, _client, _client_path = _client, new, path
    if old is not None:
        _close(old)
    return new


def client_or_none() -> DjangoClient | None:
    """The client for Raven's own hooks: None (logged once) instead of a configuration error."""
    global _reported_error
    current = _client
    if current is not None:
        return current
    try:
        return get_client()
    except ConfigurationError as exc:
        message = str(exc)
        if message != _reported_error:
            _reported_error = message
            logger.error("Raven is disabled: %s (run `manage.py check` for details)", message)
        return None


def reset_client() -> None:
    """Forget the cached client (closing it); the next use builds one from the current settings."""
    global _client, _client_path, _reported_error
    with _lock:
        old, _client, _client_path = _client, None, None
        _reported_error = None
    if old is not None:
        _close(old)


@capture_internal_errors("django", "closing the previous client")
def _close(client: DjangoClient) -> None:
    client.close(timeout=client.options.shutdown_timeout)


def on_setting_changed(setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: rebuild the client when a Raven setting changes."""
    if setting in WATCHED_SETTINGS or setting.startswith("SENTRY_"):
        reset_client()
