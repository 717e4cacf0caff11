"""Every process-wide hook Raven installs, installed and removed here and nowhere else.

- ``"excepthook"``: ``sys.excepthook`` and ``threading.excepthook`` report uncaught exceptions,
  then chain to the hooks that were there before.
- ``"logging"``: ``logging.Logger.callHandlers`` turns every log record into a breadcrumb (and,
  for a client with ``enable_logs``, into a structured log: :func:`add_log_sink`).
- ``"httplib"``: ``http.client`` (which ``requests`` and ``urllib3`` use underneath) records a
  breadcrumb for every outgoing request and, with tracing on, a span and the trace headers.
- ``"threads"`` (:mod:`raven.threads`): threads and ``ThreadPoolExecutor`` jobs run in a copy of
  the context they were started from.

Each hook is reference-counted by the clients holding it: the first :func:`acquire` installs
it, the last :func:`release` (a client's ``close()``) restores what was there before, and it
can be installed again afterwards. :func:`install` / :func:`uninstall` do that for everything a
client's options ask for. Hooks registered with :func:`raven.breadcrumbs.libraryhook` under
other names run once per process and cannot be undone (they bring no uninstall).
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

from . import breadcrumbs
from .guard import capture_internal_errors

__all__ = [
    "acquire",
    "add_log_sink",
    "cancel_when_imported",
    "holders",
    "install",
    "is_installed",
    "register",
    "release",
    "remove_log_sink",
    "uninstall",
    "when_imported",
]

logger = logging.getLogger("raven.hooks")

_lock = threading.RLock()
# Each hook's holders, held weakly, in the order they acquired it: a tuple read without the lock
# on every outgoing HTTP request (iterating a WeakSet costs more than the rest of the lookup).
_holders: dict[str, tuple[weakref.ref[Any], ...]] = {}
_installed: set[str] = set()
_ran_library_hooks: set[str] = set()


# -- the registry -----------------------------------------------------------------------------
def register(
    name: str, install_hook: Callable[[], None], uninstall_hook: Callable[[], None]
) -> None:
    """Make a process-wide hook of a framework package known here, so that it is acquired and
    released like the core's own (``raven_django`` registers its ``get_response`` wrapper).
    Registering the same name again replaces the functions, unless the hook is installed."""
    with _lock:
        if name in _installed:
            return
        _HOOKS[name] = (install_hook, uninstall_hook)


def acquire(name: str, holder: Any) -> None:
    """Hold hook ``name`` for ``holder`` (a client, or any object that can be weakly referenced);
    the first holder installs it."""
    install_hook, _ = _HOOKS[name]
    with _lock:
        held = holders(name)
        if not any(h is holder for h in held):
            held.append(holder)
        _holders[name] = tuple(weakref.ref(h) for h in held)
        if name not in _installed:
            install_hook()
            _installed.add(name)


def release(name: str, holder: Any) -> None:
    """Stop holding ``name`` for ``holder``; the last holder's release uninstalls it."""
    with _lock:
        held = [h for h in holders(name) if h is not holder]
        _holders[name] = tuple(weakref.ref(h) for h in held)
        if name in _installed and not held:
            _HOOKS[name][1]()
            _installed.discard(name)


def holders(name: str) -> list[Any]:
    """The clients holding hook ``name`` now, in the order they acquired it."""
    return [holder for ref in _holders.get(name, ()) if (holder := ref()) is not None]


def is_installed(name: str) -> bool:
    """True while hook ``name`` is in place."""
    return name in _installed


def install(client: Any) -> None:
    """Acquire every hook ``client``'s options ask for."""
    opts = client.options
    if opts.enable_logs and opts.logs_level is not None:
        acquire("logging", client)  # records become structured logs (raven.logs)
    if opts.enable_breadcrumbs:
        if opts.install_logging_hook:
            acquire("logging", client)
        for library in opts.hook_libraries:
            if library in _LIBRARY_ALIASES:
                acquire(_LIBRARY_ALIASES[library], client)
            else:
                _run_library_hooks(library)
    if opts.traces_sample_rate is not None or opts.traces_sampler is not None:
        acquire("httplib", client)  # spans and trace headers for outgoing requests
    if opts.install_sys_hook:
        acquire("excepthook", client)
    if opts.propagate_context_to_threads:
        from . import threads  # noqa: F401  (registers the "threads" hook)

        acquire("threads", client)


def uninstall(client: Any) -> None:
    """Release every hook ``client`` holds (and any left by clients collected without ``close()``)."""
    with _lock:
        for name in list(_installed):
            release(name, client)


def _run_library_hooks(name: str) -> None:
    with _lock:
        if name in _ran_library_hooks:
            return
        _ran_library_hooks.add(name)
    for hook in breadcrumbs.library_hooks(name):
        with capture_internal_errors("hooks", f"library hook {name!r}"):
            hook()


# -- excepthook -------------------------------------------------------------------------------
_previous: dict[str, Any] = {}


def _install_excepthooks() -> None:
    _previous["sys"] = sys.excepthook
    _previous["threading"] = threading.excepthook
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook


def _uninstall_excepthooks() -> None:
    # Restore only what is still ours: an app that replaced the hook since keeps its own.
    if sys.excepthook is _excepthook:
        sys.excepthook = _previous["sys"]
    if threading.excepthook is _thread_excepthook:
        threading.excepthook = _previous["threading"]
    _previous.clear()


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    _report_uncaught((exc_type, exc, tb))
    _previous.get("sys", sys.__excepthook__)(exc_type, exc, tb)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit and args.exc_value is not None:
        _report_uncaught((args.exc_type, args.exc_value, args.exc_traceback))
    _previous.get("threading", threading.__excepthook__)(args)


def _report_uncaught(exc_info: Any) -> None:
    if exc_info[0] is KeyboardInterrupt:
        return
    for client in holders("excepthook"):
        with capture_internal_errors("hooks", "reporting an uncaught exception"):
            client.captureException(
                exc_info, level="fatal", mechanism={"type": "excepthook", "handled": False}
            )
            client.flush(client.options.shutdown_timeout)


# -- logging ----------------------------------------------------------------------------------
_original_call_handlers: Callable[..., Any] | None = None
# Called with every record besides the breadcrumbs: raven.logs.LogCapture of each client with
# enable_logs on, held weakly (a client dropped without close() takes its sink with it).
_log_sinks: tuple[weakref.ref[Callable[[logging.LogRecord], None]], ...] = ()


def add_log_sink(sink: Callable[[logging.LogRecord], None]) -> None:
    """Have the logging hook call ``sink(record)`` for every record (held weakly)."""
    global _log_sinks
    with _lock:
        _log_sinks = tuple(r for r in _log_sinks if r() is not None) + (weakref.ref(sink),)


def remove_log_sink(sink: Callable[[logging.LogRecord], None]) -> None:
    """Stop calling ``sink``."""
    global _log_sinks
    with _lock:
        _log_sinks = tuple(r for r in _log_sinks if r() is not None and r() is not sink)


def _install_logging() -> None:
    global _original_call_handlers
    original = _original_call_handlers = logging.Logger.callHandlers

    def callHandlers(self: logging.Logger, record: logging.LogRecord) -> None:
        # try/except, the guard only on failure: this runs for every record the app logs.
        try:
            breadcrumbs.record_log_record(record)
        except Exception:
            with capture_internal_errors("hooks", "recording a log breadcrumb"):
                raise
        if _log_sinks:
            try:
                for ref in _log_sinks:
                    sink = ref()
                    if sink is not None:
                        sink(record)
            except Exception:
                with capture_internal_errors("hooks", "recording a structured log"):
                    raise
        return original(self, record)

    logging.Logger.callHandlers = callHandlers  # type: ignore[method-assign]


def _uninstall_logging() -> None:
    global _original_call_handlers
    if _original_call_handlers is not None:
        logging.Logger.callHandlers = _original_call_handlers  # type: ignore[method-assign]
        _original_call_handlers = None


# -- http.client ------------------------------------------------------------------------------
_http_originals: dict[str, Any] = {}


def _install_http() -> None:
    """Patch ``http.client`` now if it is imported, else as soon as something imports it
    (importing it here would make ``import raven`` twice as slow)."""
    when_imported("http.client", _patch_http_client, lambda: "httplib" in _installed)


def _uninstall_http() -> None:
    cancel_when_imported("http.client")
    if not _http_originals:
        return
    import http.client

    http.client.HTTPConnection.putrequest = _http_originals.pop("putrequest")  # type: ignore[method-assign]
    http.client.HTTPConnection.getresponse = _http_originals.pop("getresponse")  # type: ignore[method-assign]


# -- patching a module once it is imported ---------------------------------------------------
def when_imported(
    module_name: str, patch: Callable[[Any], None], still_wanted: Callable[[], bool]
) -> None:
    """Call ``patch(module)`` now if ``module_name`` is imported, else right after something
    first imports it (if ``still_wanted()`` then): a hook never imports a module the app does
    not use, and ``import raven`` stays cheap."""
    if module_name in sys.modules:
        # The import statement, not sys.modules: it waits while another thread (the transport's
        # warm-up or sender) is still executing the module, instead of patching half a module.
        import importlib

        patch(importlib.import_module(module_name))
    elif not any(
        isinstance(f, _PatchOnImport) and f.module_name == module_name for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _PatchOnImport(module_name, patch, still_wanted))


def cancel_when_imported(module_name: str) -> None:
    """Forget a pending :func:`when_imported` patch of ``module_name``."""
    for finder in list(sys.meta_path):
        if isinstance(finder, _PatchOnImport) and finder.module_name == module_name:
            sys.meta_path.remove(finder)


class _PatchOnImport:
    """A meta path finder that patches one module right after it is first imported."""

    def __init__(
        self, module_name: str, patch: Callable[[Any], None], still_wanted: Callable[[], bool]
    ) -> None:
        self.module_name = module_name
        self.patch = patch
        self.still_wanted = still_wanted

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != self.module_name:
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module
        patch, still_wanted = self.patch, self.still_wanted

        def exec_module(module: Any) -> None:
            original_exec(module)
            with _lock:
                if still_wanted():
                    patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


# Shared by every call (a guard keeps no state per use): no object made per request.
_TRACING_HTTP = capture_internal_errors("hooks", "tracing an HTTP request")
_RECORDING_HTTP = capture_internal_errors("hooks", "recording an HTTP breadcrumb")


def _patch_http_client(http_client: Any) -> None:
    if _http_originals:
        return
    conn = http_client.HTTPConnection
    original_putrequest = _http_originals["putrequest"] = conn.putrequest
    original_getresponse = _http_originals["getresponse"] = conn.getresponse
    https = http_client.HTTPSConnection

    def full_url(connection: Any, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        scheme = "https" if isinstance(connection, https) else "http"
        default = 443 if scheme == "https" else 80
        port = connection.port
        host = connection.host if port in (None, default) else f"{connection.host}:{port}"
        return f"{scheme}://{host}{url}"

    def putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        self._raven_request = None
        result = original_putrequest(self, method, url, *args, **kwargs)
        if not breadcrumbs.suppress_http_breadcrumbs.get():  # not Raven's own requests
            with _TRACING_HTTP:
                url = full_url(self, url)
                self._raven_request = (method, url)  # for the breadcrumb, once answered
                for client in holders("httplib"):
                    if client.tracing_enabled:
                        span, headers = client.tracer.http_request(method, url)
                        self._raven_span = span
                        for name, value in headers.items():
                            self.putheader(name, value)
                        break
        return result

    def getresponse(self: Any, *args: Any, **kwargs: Any) -> Any:
        span = self.__dict__.pop("_raven_span", None)
        try:
            response = original_getresponse(self, *args, **kwargs)
        except BaseException:
            if span is not None:
                span.set_status("internal_error")
                span.finish()
            raise
        if span is not None:
            span.set_http_status(response.status)
            span.finish()
        request = getattr(self, "_raven_request", None)  # None for Raven's own requests
        if request is not None:
            with _RECORDING_HTTP:
                method, url = request
                breadcrumbs.record(
                    type="http",
                    category="httplib",
                    data={"method": method, "url": url, "status_code": response.status},
                    # sentry-sdk's hint names, so that a before_breadcrumb filter can decide on them
                    hint={"httplib_request": self, "httplib_response": response},
                )
        return response

    conn.putrequest = putrequest
    conn.getresponse = getresponse


_HOOKS: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
    "excepthook": (_install_excepthooks, _uninstall_excepthooks),
    "logging": (_install_logging, _uninstall_logging),
    "httplib": (_install_http, _uninstall_http),
}
# ``hook_libraries`` names served by the built-in hooks.
_LIBRARY_ALIASES = {"httplib": "httplib", "requests": "httplib", "http.client": "httplib"}
