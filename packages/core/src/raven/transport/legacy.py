"""raven-python 6.10's transport API, on Raven's delivery.

A transport written for raven-python has a ``scheme`` list, is constructed with the DSN's query
options (``MyTransport(timeout="3")``) and overrides ``send(url, data, headers)`` (synchronous)
or ``async_send(url, data, headers, success_cb, failure_cb)``. :func:`adapt` wraps such a class
in a Raven :class:`~raven.transport.base.Transport`: Raven still prepares each event (rate
limits, size limits, gzip; the legacy store endpoint, as raven-python posted to) and accounts
for the answer, and the user's method does the I/O. A subclass of ``ThreadedHTTPTransport`` sends
on Raven's background sender, through its ``send``.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import APIError, RateLimited
from .base import HTTPTransport, PreparedRequest, Transport
from .sync import SyncTransport
from .threaded import ThreadedTransport

__all__ = ["AsyncTransport", "LegacyTransport", "ThreadedHTTPTransport", "adapt", "is_legacy"]


class LegacyTransport:
    """raven-python's ``Transport``: override ``send(url, data, headers)``."""

    is_async = False
    scheme: list[str] = []

    def send(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        """Deliver ``data`` (the compressed event) to ``url``; raise on failure."""
        raise NotImplementedError


class AsyncTransport(LegacyTransport):
    """raven-python's ``AsyncTransport``: override ``async_send``, which must not block."""

    is_async = True

    def async_send(
        self, url: str, data: bytes, headers: dict[str, str], success_cb: Any, failure_cb: Any
    ) -> None:
        """Start delivering; call ``success_cb()`` or ``failure_cb(exception)`` when done."""
        raise NotImplementedError


def _legacy_http() -> type[LegacyTransport]:
    from .http import HTTPTransport as LegacyHTTPTransport

    return LegacyHTTPTransport


class ThreadedHTTPTransport(AsyncTransport):
    """raven-python's default transport: ``send`` runs on the background sender.

    Constructed like ``raven.transport.http.HTTPTransport`` and sending through its ``send``, so a
    subclass that overrides ``send`` (to add a proxy, say) has it called off the app's thread.
    """

    scheme = ["http", "https", "threaded+http", "threaded+https"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._http = _legacy_http()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # timeout, verify_ssl, ca_certs of the HTTP part
        if name == "_http":
            raise AttributeError(name)
        return getattr(self._http, name)

    def send(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        """POST with raven-python's HTTP transport (on the sender thread when adapted)."""
        return self._http.send(url, data, headers)

    def async_send(
        self, url: str, data: bytes, headers: dict[str, str], success_cb: Any, failure_cb: Any
    ) -> None:
        """Send now, reporting to the callbacks (Raven queues before calling ``send``)."""
        try:
            self.send(url, data, headers)
        except Exception as exc:
            failure_cb(exc)
        else:
            success_cb()


def is_legacy(cls: Any) -> bool:
    """Whether ``cls`` is a raven-python-style transport class: it has ``send`` or
    ``async_send`` and is not a Raven Transport, or subclasses ``raven.transport.base.Transport``
    (raven-python's base had that name) without implementing Raven's ``send_event``."""
    if not isinstance(cls, type):
        return False
    if not (callable(getattr(cls, "send", None)) or callable(getattr(cls, "async_send", None))):
        return False
    return not issubclass(cls, Transport) or "send_event" in getattr(cls, "__abstractmethods__", ())


def _instantiate(cls: type[Any], options: dict[str, str]) -> Any:
    """``cls(**options)``, as raven-python built transports; a subclass of Raven's abstract
    Transport is made concrete first (its ``send`` is what Raven calls)."""
    if not issubclass(cls, Transport):
        return cls(**options)
    concrete: Any = type(cls.__name__, (cls,), {"__module__": cls.__module__})
    concrete.__abstractmethods__ = frozenset()
    if cls.__init__ is Transport.__init__:  # raven-python's base took no arguments
        return object.__new__(concrete)
    return concrete(**options)


def _answer(legacy: Any, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
    """Call the legacy ``send``; its exceptions become the answer Raven accounts for (a
    network error, anything else it raises, propagates and is retried)."""
    try:
        legacy.send(request.url, request.body, dict(request.headers))
    except RateLimited as exc:
        return 429, {"Retry-After": str(int(exc.retry_after or 0))}, str(exc)
    except APIError as exc:
        return exc.code or 500, {"X-Sentry-Error": str(exc)}, str(exc)
    return 200, {}, ""


class _Adapted:
    """What every adapter does at construction: build the legacy transport, post to the store
    endpoint with raven-python's headers."""

    legacy_cls: type[Any] = LegacyTransport
    legacy: Any

    def _setup_legacy(self: Any) -> None:
        self.legacy = _instantiate(self.legacy_cls, dict(self.dsn.query))
        self.store = True
        self.url = self.dsn.endpoint("store")
        self.request_headers = {**self.request_headers, "Content-Type": "application/json"}


class _SyncAdapter(_Adapted, SyncTransport):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_legacy()

    def post_request(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        return _answer(self.legacy, request)


class _ThreadedAdapter(_Adapted, ThreadedTransport):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_legacy()

    def post_request(self, request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        return _answer(self.legacy, request)


class _AsyncAdapter(_Adapted, HTTPTransport):
    """For a custom ``async_send``: called from the capturing thread, as raven-python did."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._setup_legacy()

    def send_event(self, event: dict[str, Any]) -> None:
        request = self.prepare(event)
        if request is None:
            return

        def failed(exc: BaseException) -> None:
            self.handle_failure(request, exc)

        try:
            self.legacy.async_send(
                request.url, request.body, dict(request.headers), lambda: None, failed
            )
        except Exception as exc:
            failed(exc)
            if self.options.raise_send_errors:
                raise


_ADAPTERS: dict[type[Any], type[Transport]] = {}


def adapt(cls: type[Any]) -> type[Transport]:
    """A Raven transport class that delivers through the raven-python transport ``cls``."""
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        own_async = getattr(cls, "async_send", None) not in (
            None,
            ThreadedHTTPTransport.async_send,
            AsyncTransport.async_send,
        )
        base: type[Transport]
        if issubclass(cls, ThreadedHTTPTransport) and not own_async:
            base = _ThreadedAdapter
        elif getattr(cls, "is_async", False) and own_async:
            base = _AsyncAdapter
        else:
            base = _SyncAdapter
        adapter = type(f"Legacy{cls.__name__}", (base,), {"legacy_cls": cls})
        _ADAPTERS[cls] = adapter
    return adapter


def legacy_name(module: str, name: str) -> Any:
    """raven-python's transport names in Raven's modules, with a deprecation warning."""
    from .._deprecated import warn_moved

    names = {
        "AsyncTransport": AsyncTransport,
        "ThreadedHTTPTransport": ThreadedHTTPTransport,
        "LegacyTransport": LegacyTransport,
    }
    if name not in names:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warn_moved(f"{module}.{name}", "a raven.transport.Transport subclass", stacklevel=4)
    return names[name]
