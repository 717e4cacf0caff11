"""raven-python's ``raven.transport.http.HTTPTransport``: a synchronous ``send(url, data,
headers)`` over ``requests``. Subclass it to customise the HTTP request (a proxy, a header):
Raven calls your ``send`` for each event, on its background sender for ``ThreadedHTTPTransport``
subclasses. Raven's own transport interface is :class:`raven.transport.Transport`."""

from __future__ import annotations

from typing import Any

from ..exceptions import APIError, RateLimited
from .base import PreparedRequest
from .legacy import LegacyTransport
from .sync import post

__all__ = ["HTTPTransport"]


class HTTPTransport(LegacyTransport):
    """Posts each event in the calling thread (``sync+https://`` in raven-python)."""

    scheme = ["sync+http", "sync+https"]

    def __init__(
        self, timeout: Any = 5, verify_ssl: Any = True, ca_certs: str | None = None, **_: Any
    ) -> None:
        self.timeout = float(timeout)
        self.verify_ssl = bool(int(verify_ssl)) if isinstance(verify_ssl, str) else bool(verify_ssl)
        self.ca_certs = ca_certs
        self._session: Any = None

    def send(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        """POST ``data``; :class:`raven.exceptions.APIError` (or ``RateLimited``) on a refusal."""
        if self._session is None:
            import requests

            self._session = requests.Session()
        verify: bool | str = (self.ca_certs or True) if self.verify_ssl else False
        request = PreparedRequest(url, headers, data, "error", None)
        status, answer_headers, text = post(self._session, request, self.timeout, verify)
        if status == 429:
            try:
                retry_after = float(answer_headers.get("Retry-After") or 0)
            except ValueError:
                retry_after = 0
            raise RateLimited(answer_headers.get("X-Sentry-Error") or text, retry_after)
        if not 200 <= status < 300:
            raise APIError(answer_headers.get("X-Sentry-Error") or text[:500], status)
        return text
