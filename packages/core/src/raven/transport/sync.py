"""``sync+https://``: send each event in the calling thread (scripts and tests)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..breadcrumbs import suppress_http_breadcrumbs
from ..exceptions import APIError, RateLimited
from .base import HTTPTransport, PreparedRequest
from .envelope import category_of

__all__ = ["SyncTransport", "post"]

logger = logging.getLogger("raven.transport")


def post(
    session: Any, request: PreparedRequest, timeout: float, verify: Any
) -> tuple[int, dict[str, str], str]:
    """POST a prepared request with ``requests``; (status, headers, body text)."""
    token = suppress_http_breadcrumbs.set(True)
    try:
        response = session.post(
            request.url, data=request.body, headers=request.headers, timeout=timeout, verify=verify
        )
        return response.status_code, dict(response.headers), response.text
    finally:
        suppress_http_breadcrumbs.reset(token)


class SyncTransport(HTTPTransport):
    """Blocking delivery over one keep-alive ``requests`` session."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session: Any = None
        self._lock = threading.Lock()
        self._closed = False

    def _get_session(self) -> Any:
        if self._session is None:
            import requests  # imported on first send: keeps `import raven` cheap

            self._session = requests.Session()
        return self._session

    def send_event(self, event: dict[str, Any]) -> None:
        """Send ``event`` now, in the calling thread."""
        if self._closed:  # like the background sender: a closed client sends nothing
            self.reports.record("network_error", category_of(event))
            logger.debug("event %s dropped: transport closed", event.get("event_id"))
            return
        request = self.prepare(event)
        if request is None:
            return
        try:
            with self._lock:
                status, headers, text = post(
                    self._get_session(), request, self.timeout, self.verify
                )
        except Exception as exc:
            self.handle_failure(request, exc)
            if self.options.raise_send_errors:
                raise
            logger.error("could not send event %s: %s", request.event_id, exc)
            return
        outcome = self.handle_answer(request, status, headers, text)
        if outcome != "sent":
            if outcome == "retry" and request.event_id:
                self.reports.record("send_error", request.category)
            if self.options.raise_send_errors:
                if status == 429:
                    raise RateLimited(
                        f"rate limited: HTTP {status}",
                        self.rate_limits.retry_after(request.category),
                    )
                raise APIError(f"HTTP {status}: {text[:200]}", status)

    def close(self, timeout: float | None = None) -> bool:
        """Close the HTTP session; nothing is pending in a synchronous transport."""
        self._closed = True
        if self._session is not None:
            self._session.close()
        return True
