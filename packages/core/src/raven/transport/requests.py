"""raven-python's ``raven.transport.requests.RequestsHTTPTransport`` (its HTTP transport
already uses ``requests``)."""

from __future__ import annotations

from .http import HTTPTransport

__all__ = ["RequestsHTTPTransport"]


class RequestsHTTPTransport(HTTPTransport):
    """``requests+https://``: posts with ``requests`` in the calling thread."""

    scheme = ["requests+http", "requests+https"]
