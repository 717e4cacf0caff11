"""Process-wide hooks a client may install: ``sys.excepthook``, ``threading.excepthook``, and
HTTP breadcrumbs for ``http.client`` (which ``requests`` and ``urllib3`` use underneath).

Each install is idempotent and undone by the matching uninstall.
"""

from __future__ import annotations

import http.client
import sys
import threading
import weakref
from typing import Any

from .breadcrumbs import libraryhook, record, suppress_http_breadcrumbs

__all__ = ["install_excepthooks", "uninstall_excepthooks", "install_http_hook", "uninstall_http_hook"]


_excepthook_clients: weakref.WeakSet[Any] = weakref.WeakSet()
_previous_hooks: dict[str, Any] = {}


def install_excepthooks(client: Any) -> None:
    """Report uncaught exceptions of the main thread and of other threads, then chain on."""
    _excepthook_clients.add(client)
    if "sys" in _previous_hooks:
        return
    _previous_hooks["sys"] = sys.excepthook
    _previous_hooks["threading"] = threading.excepthook

    def excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        _report((exc_type, exc, tb))
        _previous_hooks["sys"](exc_type, exc, tb)

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not SystemExit and args.exc_value is not None:
            _report((args.exc_type, args.exc_value, args.exc_traceback))
        _previous_hooks["threading"](args)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def _report(exc_info: Any) -> None:
    if exc_info[0] is KeyboardInterrupt:
        return
    for client in list(_excepthook_clients):
        try:
            client.captureException(exc_info, level="fatal", mechanism={"type": "excepthook", "handled": False})
            client.flush(client.options.shutdown_timeout)
        except Exception:
            pass


def uninstall_excepthooks(client: Any) -> None:
    _excepthook_clients.discard(client)
    if not _excepthook_clients and "sys" in _previous_hooks:
        sys.excepthook = _previous_hooks.pop("sys")
        threading.excepthook = _previous_hooks.pop("threading")


_originals: dict[str, Any] = {}


@libraryhook("httplib")
@libraryhook("requests")
def install_http_hook() -> None:
    """A breadcrumb for every HTTP request made through ``http.client`` (method, url, status)."""
    if _originals:
        return
    conn = http.client.HTTPConnection
    _originals["putrequest"] = conn.putrequest
    _originals["getresponse"] = conn.getresponse

    def putrequest(self: http.client.HTTPConnection, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._raven_request = (method, url)  # type: ignore[attr-defined]
        return _originals["putrequest"](self, method, url, *args, **kwargs)

    def getresponse(self: http.client.HTTPConnection, *args: Any, **kwargs: Any) -> Any:
        response = _originals["getresponse"](self, *args, **kwargs)
        request = getattr(self, "_raven_request", None)
        if request is not None and not suppress_http_breadcrumbs.get():
            method, url = request
            if not url.startswith(("http://", "https://")):
                scheme = "https" if isinstance(self, http.client.HTTPSConnection) else "http"
                default = 443 if scheme == "https" else 80
                host = self.host if self.port in (None, default) else f"{self.host}:{self.port}"
                url = f"{scheme}://{host}{url}"
            record(type="http", category="httplib", data={"method": method, "url": url,
                                                           "status_code": response.status})
        return response

    conn.putrequest = putrequest  # type: ignore[method-assign]
    conn.getresponse = getresponse  # type: ignore[method-assign]


def uninstall_http_hook() -> None:
    if not _originals:
        return
    http.client.HTTPConnection.putrequest = _originals.pop("putrequest")  # type: ignore[method-assign]
    http.client.HTTPConnection.getresponse = _originals.pop("getresponse")  # type: ignore[method-assign]
