"""Raven: a Sentry client for Python.

``raven.Client(dsn)`` captures exceptions and messages with their stack, locals, context and
breadcrumbs, and delivers them in the background to Sentry or any Sentry-compatible server.
"""

from __future__ import annotations

from typing import Any

from . import breadcrumbs
from .__about__ import __version__
from .client import Client
from .context import Context
from .dsn import Dsn
from .exceptions import APIError, ConfigurationError, DuplicateScheme, InvalidDsn, RateLimited

__all__ = [
    "APIError",
    "Client",
    "ConfigurationError",
    "Context",
    "Dsn",
    "DuplicateScheme",
    "InvalidDsn",
    "RateLimited",
    "__version__",
    "breadcrumbs",
    "fetch_git_sha",
    "fetch_package_version",
]


def __getattr__(name: str) -> Any:
    """raven-python's ``fetch_git_sha`` and ``fetch_package_version``, imported on first use."""
    if name in ("fetch_git_sha", "fetch_package_version"):
        from . import versioning

        return getattr(versioning, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
