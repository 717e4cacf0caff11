"""Process-wide hooks a client may install: ``sys.excepthook``, ``threading.excepthook``, and
HTTP breadcrumbs for ``http.client`` (which ``requests`` and ``urllib3`` use underneath).

Each install is idempotent and undone by the matching uninstall.
"""

from __future__ import annotations

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
    """A breadcrumb for every HTTP request made through ``http.client`` (method, url, status).

    ``requests`` and ``urllib3`` use ``http.client`` underneath, so one hook covers them. When
    ``http.client`` is not imported yet, it is patched as soon as something imports it: importing
    it here would make ``import raven`` twice as slow.
    """
    if "http.client" in sys.modules:
        _patch_http_client(sys.modules["http.client"])
    elif not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


class _PatchOnImport:
    """A meta path finder that patches ``http.client`` right after it is first imported."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "http.client":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module: Any) -> None:
            original_exec(module)
            _patch_http_client(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _patch_http_client(http_client: Any) -> None:
    if _originals:
        return
    conn = http_client.HTTPConnection
    _originals["putrequest"] = conn.putrequest
    _originals["getresponse"] = conn.getresponse
    https = http_client.HTTPSConnection

    def putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._raven_request = (method, url)
        return _originals["putrequest"](self, method, url, *args, **kwargs)

    def getresponse(self: Any, *args: Any, **kwargs: Any) -> Any:
        response = _originals["getresponse"](self, *args, **kwargs)
        request = getattr(self, "_raven_request", None)
        if request is not None and not suppress_http_breadcrumbs.get():
            method, url = request
            if not url.startswith(("http://", "https://")):
                scheme = "https" if isinstance(self, https) else "http"
                default = 443 if scheme == "https" else 80
                host = self.host if self.port in (None, default) else f"{self.host}:{self.port}"
                url = f"{scheme}://{host}{url}"
            record(type="http", category="httplib", data={"method": method, "url": url,
                                                           "status_code": response.status})
        return response

    conn.putrequest = putrequest
    conn.getresponse = getresponse


def uninstall_http_hook() -> None:
    for finder in [f for f in sys.meta_path if isinstance(f, _PatchOnImport)]:
        sys.meta_path.remove(finder)
    if not _originals:
        return
    import http.client

    http.client.HTTPConnection.putrequest = _originals.pop("putrequest")  # type: ignore[method-assign]
    http.client.HTTPConnection.getresponse = _originals.pop("getresponse")  # type: ignore[method-assign]
