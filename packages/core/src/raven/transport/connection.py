"""The sender's HTTP connection to the server, set up once per sender thread.

``requests`` spends most of a small POST's CPU time in machinery a sender does not need (hooks,
cookies, environment lookups, redirects, ``email``-based header parsing), and that time is taken
from the app's threads under the GIL: one POST per transaction makes it a traced request's
largest cost. So the environment's settings (``HTTPS_PROXY``, ``NO_PROXY``,
``REQUESTS_CA_BUNDLE``) are read the way requests reads them, once per connection, and then:
no proxy (the common case) posts on a socket of our own (:mod:`raven.transport.wire`); an HTTP,
HTTPS or SOCKS proxy goes through a urllib3 proxy manager (requests' own HTTP layer).
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from ..breadcrumbs import suppress_http_breadcrumbs
from .base import PreparedRequest
from .wire import Answer, WireConnection, tls_context

__all__ = ["Connection"]

logger = logging.getLogger("raven.transport")


class Connection:
    """POSTs to one server URL (every request the transport prepares goes to its own URL) over
    a kept-alive connection.

    One per sender thread; the synchronous transport shares one between the app's threads: a
    thread that finds the kept connection busy posts on a connection of its own, closed after
    (as urllib3's pool of one does). ``verify`` is True, False or a CA bundle path; ``proxies``
    is what :func:`raven.transport.base.proxies_for` made of the options (None: the
    environment's). Redirects are never followed and nothing is retried here: the transport
    decides.
    """

    def __init__(
        self,
        url: str,
        timeout: float,
        verify: bool | str,
        proxies: dict[str, str | None] | None = None,
    ) -> None:
        self.url = url
        proxy, verify = _environment(url, verify, proxies)
        self.direct: WireConnection | None = None
        if not proxy:
            self._tls = tls_context(verify) if url.startswith("https:") else None
            self._timeout = timeout
            self._lock = threading.Lock()
            self.direct = WireConnection(url, timeout, self._tls)
            return
        import urllib3

        self.timeout = urllib3.Timeout(connect=timeout, read=timeout)
        self.manager = _proxy_manager(url, proxy, verify)

    def post(self, request: PreparedRequest) -> Answer:
        """POST ``request``: (status, headers, body text)."""
        if self.direct is not None:
            if self._lock.acquire(blocking=False):
                try:
                    return self.direct.post(request.headers, request.body)
                finally:
                    self._lock.release()
            extra = WireConnection(self.url, self._timeout, self._tls)
            try:
                return extra.post(request.headers, request.body)
            finally:
                extra.close()
        token = suppress_http_breadcrumbs.set(True)
        try:
            response = self.manager.urlopen(
                "POST",
                request.url,
                body=request.body,
                headers=request.headers,
                timeout=self.timeout,
                redirect=False,
                retries=False,
            )
            return response.status, dict(response.headers), response.data.decode("utf-8", "replace")
        finally:
            suppress_http_breadcrumbs.reset(token)

    def post_all(self, requests: list[PreparedRequest]) -> tuple[list[Answer], Exception | None]:
        """POST ``requests`` in order, pipelined when the server allows: the answers to the
        first ones, and the error that stopped the others (None when all were answered)."""
        if self.direct is not None and self._lock.acquire(blocking=False):
            try:
                return self.direct.post_all([(r.headers, r.body) for r in requests])
            finally:
                self._lock.release()
        answers: list[Answer] = []
        for request in requests:
            try:
                answers.append(self.post(request))
            except Exception as exc:  # urllib3's errors are not all OSErrors
                return answers, exc
        return answers, None

    def close(self) -> None:
        if self.direct is not None:
            with self._lock:
                self.direct.close()
        else:
            self.manager.clear()


def _environment(
    url: str, verify: bool | str, proxies: dict[str, str | None] | None
) -> tuple[str | None, bool | str]:
    """The proxy for ``url`` (None: none) and the TLS verification, read as requests reads them
    (the options first, then ``HTTPS_PROXY``/``NO_PROXY``/``REQUESTS_CA_BUNDLE`` & co)."""
    import requests
    from requests.utils import select_proxy

    session = requests.Session()
    try:
        given: Any = proxies or {}
        settings = session.merge_environment_settings(url, given, False, verify, None)
    finally:
        session.close()
    verified: bool | str | None = settings["verify"]
    return select_proxy(url, settings["proxies"]), True if verified is None else verified


def _proxy_manager(url: str, proxy: str, verify: bool | str) -> Any:
    import requests
    import urllib3

    tls: dict[str, Any] = {}
    if url.startswith("https:"):
        if verify is False:
            tls["cert_reqs"] = "CERT_NONE"  # urllib3 warns on each send, as requests does
        else:
            bundle = verify if isinstance(verify, str) else requests.utils.DEFAULT_CA_BUNDLE_PATH
            tls["cert_reqs"] = "CERT_REQUIRED"
            tls["ca_cert_dir" if _is_dir(bundle) else "ca_certs"] = bundle
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager

        return SOCKSProxyManager(proxy, num_pools=1, maxsize=1, **tls)
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    headers = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers = urllib3.make_headers(proxy_basic_auth=credentials)
    return urllib3.ProxyManager(
        parts.geturl(), num_pools=1, maxsize=1, proxy_headers=headers, **tls
    )


def _is_dir(path: str) -> bool:
    import os.path

    return os.path.isdir(path)
