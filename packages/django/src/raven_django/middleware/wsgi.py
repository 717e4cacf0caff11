"""``Sentry(application)``: the core WSGI middleware, reporting through the configured client.

In ``wsgi.py``: ``application = Sentry(get_wsgi_application())``. It catches what escapes
Django's own handling (errors while streaming a response, in other WSGI layers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raven.middleware import Sentry as _WSGISentry

from ..client import DjangoClient
from ..conf import get_client

__all__ = ["Sentry"]


class Sentry(_WSGISentry):
    """WSGI middleware whose client is :func:`raven_django.get_client`, looked up at each use."""

    def __init__(self, application: Callable[..., Any]) -> None:
        self.application = application

    @property
    def client(self) -> DjangoClient:  # type: ignore[override]
        """The configured client, looked up at each use."""
        return get_client()
