"""``sync+https://``: send each event in the calling thread (scripts and tests)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from ..breadcrumbs import suppress_http_breadcrumbs
from ..exceptions import APIError, RateLimited
from .base import HTTPTransport, PreparedRequest
from .envelope import category_of

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["SyncTransport", "post"]

logger = logging.getLogger("raven.transport")


def post(
    session: Any,
    request: PreparedRequest,
    timeout: float,
    verify: Any,
    proxies: dict[str, str | None] | None = None,
) -> tuple[int, dict[str, str], str]:
    """POST a prepared request with ``requests``; (status, headers, body text).

    Redirects are never followed: following one would send the event and ``X-Sentry-Auth`` to
    whatever origin the answer names. A 3xx is answered for by :meth:`HTTPTransport.handle_answer`.
    """
    token = suppress_http_breadcrumbs.set(True)
    try:
        settings = _environment_settings(session, request.url, verify, proxies)
        response = session.post(
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=timeout,
            allow_redirects=False,
            **settings,
        )
        return response.status_code, dict(response.headers), response.text
    finally:
        suppress_http_breadcrumbs.reset(token)


def _environment_settings(
    session: Any, url: str, verify: Any, proxies: dict[str, str | None] | None
) -> dict[str, Any]:
    """What ``requests`` would take from the environment (``HTTPS_PROXY``, ``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``) for ``url``, read once per session: reading it walks the whole of
    ``os.environ`` on every request, a third of a send's cost."""
    cache: dict[str, dict[str, Any]] = session.__dict__.setdefault("_raven_settings", {})
    settings = cache.get(url)
    if settings is None:
        merged = session.merge_environment_settings(url, proxies or {}, False, verify, None)
        settings = cache[url] = {
            "proxies": merged["proxies"],
            "verify": merged["verify"],
            "cert": merged["cert"],
        }
        session.trust_env = False  # read above, once
    return settings


class SyncTransport(HTTPTransport):
    """Blocking delivery over one keep-alive connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._connection: Connection | None = None
        self._lock = threading.RLock()  # re-entrant: never waited on by its own thread
        # Per thread: whether send_event is running, and what signal handlers captured meanwhile.
        self._local = threading.local()
        self._closed = False

    def send_event(self, event: dict[str, Any]) -> None:
        """Send ``event`` now, in the calling thread."""
        if self._closed:  # like the background sender: a closed client sends nothing
            self.record_closed(event, category_of(event))
            return
        local = self._local
        if getattr(local, "active", False):
            # Re-entered on this thread: a signal handler captured while this thread encodes or
            # sends. Encoding now could meet half-imported modules and the session is busy, so
            # the event goes out as soon as the outer call is done; nothing waits on a lock.
            local.deferred.append(event)
            return
        if not hasattr(local, "deferred"):
            local.deferred = deque()
        local.active = True
        try:
            self._send_event(event, self.options.raise_send_errors)
        finally:
            self._send_deferred(local)

    def _send_deferred(self, local: threading.local) -> None:
        """Send what signal handlers captured meanwhile, then stop deferring (flag set on entry)."""
        deferred: deque[dict[str, Any]] = local.deferred
        while True:
            try:
                while deferred:
                    self._send_event(deferred.popleft(), False)
            finally:
                local.active = False
            if not deferred:  # one may have come in between the loop and the flag
                return
            local.active = True

    def _send_event(self, event: dict[str, Any], raise_errors: bool) -> None:
        try:
            request = self.prepare(event)
        except RecursionError:
            raise  # out of stack: the capture gives up quietly and a caller further out retries
        except Exception:
            # Encoding is built not to fail; if it still does, the drop is counted, as the
            # background sender counts it.
            self.record_dropped("internal_sdk_error", category_of(event), event)
            logger.exception("could not encode event %s; dropped", event.get("event_id"))
            return
        if request is None:
            return
        with self._lock:
            self._send(request, raise_errors)

    def _send(self, request: PreparedRequest, raise_errors: bool) -> None:
        try:
            status, headers, text = self.post_request(request)
        except RecursionError:
            raise  # sending near the recursion limit: see send_event
        except Exception as exc:
            self.handle_failure(request, exc)
            if raise_errors:
                raise
            logger.error("could not send event %s: %s", request.event_id, exc)
            return
        outcome = self.handle_answer(request, status, headers, text)
        if outcome != "sent":
            if outcome == "retry" and request.event_id:
                self.count_lost("send_error", request)
            if raise_errors:
                if status == 429:
                    raise RateLimited(
                        f"rate limited: HTTP {status}",
                        self.rate_limits.retry_after(request.category),
                    )
                raise APIError(f"HTTP {status}: {text[:200]}", status)

    def post_request(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        """POST ``request``: (status, headers, body text). raven-python's transports adapted by
        :mod:`raven.transport.legacy` send through their own ``send`` instead."""
        if self._connection is None:  # made on first send: keeps `import raven` cheap
            from .connection import Connection

            self._connection = Connection(self.url, self.timeout, self.verify, self.proxies)
        return self._connection.post(request)

    def close(self, timeout: float | None = None) -> bool:
        """Close the connection; nothing is pending in a synchronous transport."""
        self._closed = True
        if self._connection is not None:
            self._connection.close()
        return True
