"""Raven: a Sentry client for Python.

``raven.Client(dsn)`` captures exceptions and messages with their stack, locals, context and
breadcrumbs, and delivers them in the background to Sentry or any Sentry-compatible server.
"""

from __future__ import annotations

import gc
from typing import Any

# Loading raven's modules allocates some ten thousand objects, enough to start several garbage
# collections, and each one walks everything the app has loaded so far (a Django project's
# settings import raven with most of the app in memory). None of these objects is garbage: the
# collector is paused while they load, and then resumes as it was.
_collecting = gc.isenabled()
gc.disable()
try:
    from . import breadcrumbs
    from .__about__ import __version__
    from .client import Client
    from .context import Context
    from .dsn import Dsn
    from .exceptions import APIError, ConfigurationError, DuplicateScheme, InvalidDsn, RateLimited
finally:
    if _collecting:
        gc.enable()

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
