"""Raven: a Sentry client for Python.

``raven.Client(dsn)`` captures exceptions and messages with their stack, locals, context and
breadcrumbs, and delivers them in the background to Sentry or any Sentry-compatible server.
"""

from __future__ import annotations

from . import breadcrumbs
from .__about__ import __version__
from .client import Client
from .context import Context
from .dsn import Dsn
from .exceptions import APIError, ConfigurationError, DuplicateScheme, InvalidDsn, RateLimited
from .versioning import fetch_git_sha, fetch_package_version

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
