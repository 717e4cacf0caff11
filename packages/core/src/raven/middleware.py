"""``Sentry(app, client)``: WSGI middleware that reports what the application raises and, with
tracing on, makes each request a transaction (named by its path) that continues the caller's
trace."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .client import Client
from .httpdata import request_from_wsgi_environ

__all__ = ["Sentry"]


class Sentry:
    """Wraps a WSGI app; each request runs in a fresh context and carries its request data."""

    def __init__(self, application: Callable[..., Any], client: Client | None = None) -> None:
        self.application = application
        self.client = client if client is not None else Client()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        context = self.client.context
        context.__enter__()
        transaction: Any = None
        try:
            client = self.client
            context.merge(
                {"request": lambda: request_from_wsgi_environ(environ, client=client)}
            )  # at capture
            transaction = client.start_transaction(
                name=environ.get("PATH_INFO") or "/",
                op="http.server",
                source="url",
                origin="auto.http.wsgi",
                headers=environ,
                custom_sampling_context={"wsgi_environ": environ},
            ).activate()
            if transaction.sampled:
                start_response = _recording_status(start_response, transaction)
            iterable = self.application(environ, start_response)
        except BaseException:
            self.handle_exception(environ)
            if transaction is not None:
                transaction.set_status("internal_error")
                transaction.finish()
            context.__exit__(None, None, None)
            raise
        return _ClosingIterator(self, iterable, environ, transaction)

    def handle_exception(self, environ: dict[str, Any] | None = None) -> str | None:
        """Capture the exception being handled, unless it is a clean exit or an early close."""
        exc = sys.exc_info()[1]
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            return None  # a clean exit is not an error
        if isinstance(exc, GeneratorExit):
            return None  # the server stopped reading the response early
        return self.client.captureException(mechanism={"type": "wsgi", "handled": False})


def _recording_status(start_response: Callable[..., Any], transaction: Any) -> Callable[..., Any]:
    def recording(status: str, headers: Any, exc_info: Any = None) -> Any:
        try:
            transaction.set_http_status(int(status.split(" ", 1)[0]))
        except ValueError:
            pass
        return (
            start_response(status, headers, exc_info)
            if exc_info
            else start_response(status, headers)
        )

    return recording


class _ClosingIterator:
    """Iterates the app's response, reporting errors; ``close()`` always reaches the app."""

    def __init__(
        self,
        middleware: Sentry,
        iterable: Iterable[bytes],
        environ: dict[str, Any],
        transaction: Any,
    ) -> None:
        self.middleware = middleware
        self.iterable = iterable
        self.environ = environ
        self.transaction = transaction
        self._iterator: Iterator[bytes] | None = None
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.iterable
        except BaseException:
            self.middleware.handle_exception(self.environ)
            self.transaction.set_status("internal_error")
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self.iterable, "close", None)
            if close is not None:
                close()
        except BaseException:
            self.middleware.handle_exception(self.environ)
            self.transaction.set_status("internal_error")
            raise
        finally:
            self.transaction.finish()
            self.middleware.client.context.__exit__(None, None, None)
