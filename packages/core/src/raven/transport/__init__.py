"""Transports, chosen by the DSN's scheme: ``https://`` and ``threaded+https://`` use the
background sender, ``sync+https://`` sends in the calling thread."""

from __future__ import annotations

from typing import Any

from ..dsn import Dsn
from ..exceptions import ConfigurationError, DuplicateScheme, InvalidDsn
from .base import HTTPTransport, PreparedRequest, Transport
from .reports import ClientReports
from .threaded import ThreadedTransport

__all__ = [
    "ClientReports",
    "HTTPTransport",
    "PreparedRequest",
    "SyncTransport",
    "ThreadedTransport",
    "Transport",
    "register_transport",
    "transport_for",
]

_SYNC = "sync"  # SyncTransport, imported when a DSN asks for it
_REGISTRY: dict[str, type[Transport] | str] = {
    "http": ThreadedTransport,
    "https": ThreadedTransport,
    "threaded+http": ThreadedTransport,
    "threaded+https": ThreadedTransport,
    "sync+http": _SYNC,
    "sync+https": _SYNC,
    "requests+http": _SYNC,
    "requests+https": _SYNC,
    "threaded+requests+http": ThreadedTransport,
    "threaded+requests+https": ThreadedTransport,
}
# raven-python's gevent/eventlet/twisted/tornado schemes: Raven's background sender serves them
# (its threads never block the app; green threads under gevent/eventlet monkey-patching).
_REGISTRY.update(
    {
        f"{kind}+{scheme}": ThreadedTransport
        for kind in ("gevent", "eventlet", "twisted", "tornado")
        for scheme in ("http", "https")
    }
)


def register_transport(scheme: str, transport_cls: type[Transport]) -> None:
    """Use ``transport_cls`` for DSNs whose scheme is ``scheme``; a taken scheme raises."""
    if scheme in _REGISTRY:
        raise DuplicateScheme(f"a transport is already registered for scheme {scheme!r}")
    _REGISTRY[scheme] = transport_cls


def transport_for(dsn: Dsn, override: Any = None) -> type[Transport]:
    """The transport class for ``dsn`` (or ``override``, a class or dotted path)."""
    if override is not None:
        if isinstance(override, str):
            import importlib

            module, _, name = override.rpartition(".")
            try:
                override = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError, ValueError) as exc:  # a bad path is configuration
                raise ConfigurationError(
                    f"option 'transport': cannot import {override!r} ({exc})"
                ) from None
        override = _adapted(override)
        if not (isinstance(override, type) and issubclass(override, Transport)):
            raise ConfigurationError(
                f"option 'transport' must be a Transport subclass, got {override!r}"
            )
        return override
    scheme = f"{dsn.transport}+{dsn.scheme}" if dsn.transport else dsn.scheme
    try:
        cls = _REGISTRY[scheme]
    except KeyError:
        raise InvalidDsn(
            f"unsupported scheme {scheme!r}: no transport registered (known: {sorted(_REGISTRY)})"
        ) from None
    if cls == _SYNC:
        from .sync import SyncTransport

        return SyncTransport
    return _adapted(cls)  # type: ignore[no-any-return]


def _adapted(cls: Any) -> Any:
    """A raven-python transport class (``send(url, data, headers)``) wrapped for Raven."""
    if (
        isinstance(cls, type)
        and issubclass(cls, Transport)
        and "send_event" not in getattr(cls, "__abstractmethods__", ())
    ):
        return cls  # a Raven transport: no need to import the adapter
    from .legacy import adapt, is_legacy

    return adapt(cls) if is_legacy(cls) else cls


def __getattr__(name: str) -> Any:
    """``SyncTransport``, and raven-python's transport names (``AsyncTransport``,
    ``ThreadedHTTPTransport``, ...), imported on first use."""
    if name == "SyncTransport":
        from .sync import SyncTransport

        return SyncTransport
    if name == "RequestsHTTPTransport":
        from .._deprecated import warn_moved
        from .requests import RequestsHTTPTransport

        warn_moved(f"{__name__}.{name}", "raven.transport.requests.RequestsHTTPTransport")
        return RequestsHTTPTransport
    if name not in ("AsyncTransport", "ThreadedHTTPTransport", "LegacyTransport"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .legacy import legacy_name

    return legacy_name(__name__, name)
