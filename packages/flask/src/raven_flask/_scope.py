"""One scope per request: the request's data as lazy values, its transaction, and their end.

Two triggers share it. By default the WSGI wrapper (:class:`RequestWrapper`) opens the scope
when the request enters ``app.wsgi_app`` and closes it when the server closes the response, so
an error raised while a streamed body is sent still carries the request. Without the wrapper
(``wrap_wsgi=False``, or an app in debug mode) Flask's ``request_started`` and
``request_tearing_down`` signals open and close it.

The lazy values find the Flask request through the environ (``werkzeug.request``, or one made
from the environ once Flask has ended its context), so nothing is computed unless an event is
captured; a transaction that records is named by the URL rule when the response starts.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, Request
from raven.guard import capture_internal_errors
from raven.httpdata import get_url_from_environ
from werkzeug.exceptions import HTTPException

from ._request import request_data, transaction_name
from ._user import user_data
from .tracing import record_status

__all__ = [
    "EVENT_KEY",
    "HEADER",
    "SCOPE_KEY",
    "RequestWrapper",
    "close_scope",
    "name_by_rule",
    "open_scope",
]

logger = logging.getLogger("raven.flask")

# Per-request markers kept in the WSGI environ, so they end with the request whatever app
# context is around it (``g`` outlives requests when a test pushes an app context itself).
SCOPE_KEY = "raven_flask.scope"  # the request's transaction (NOOP_SPAN with tracing off)
SESSION_KEY = "raven_flask.session"  # the request's session (release health) or None
EVENT_KEY = "raven_flask.event_id"  # the event the extension captured for this request
HEADER = "X-Sentry-ID"  # on the response of a request for which the extension captured an event


def _flask_request(app: Flask, environ: dict[str, Any]) -> Request:
    request: Request | None = environ.get("werkzeug.request")
    return request if request is not None else app.request_class(environ)


@capture_internal_errors("flask", "starting the request's context")
def open_scope(
    app: Flask, client: Any, user_attrs: tuple[str, ...], environ: dict[str, Any]
) -> Any:
    """Enter a fresh scope holding the request's data, and start (and activate) its transaction."""
    context = client.context
    context.__enter__()
    environ[SCOPE_KEY] = None  # entered: close_scope must exit it, even if what follows fails
    environ[SESSION_KEY] = client.start_request_session()  # release health: one session
    # Computed only when an event is captured, by whatever captures it during the request
    # (this extension, a log record, the app calling the client): the body is read then,
    # from Flask's cache, never up front where it would consume a stream the view wants.
    context.merge(
        {
            "request": lambda: request_data(_flask_request(app, environ), client),
            "user": lambda: user_data(app, _flask_request(app, environ), client, user_attrs),
            "transaction": lambda: transaction_name(_flask_request(app, environ)),
        },
        activate=False,  # __enter__ did
    )
    # A WSGI environ's header keys are upper case: without these two there is no trace to
    # continue, and with tracing off there is then nothing to start.
    incoming = "HTTP_SENTRY_TRACE" in environ or "HTTP_TRACEPARENT" in environ
    if not incoming and not client.tracing_enabled:
        return None
    transaction = client.start_transaction(
        name=environ.get("PATH_INFO") or "/",
        op="http.server",
        source="url",
        origin="auto.http.flask",
        headers=environ if incoming else None,
        custom_sampling_context={"wsgi_environ": environ},
    )
    transaction.activate()
    if transaction.sampled:
        transaction.set_request(get_url_from_environ(environ), environ.get("REQUEST_METHOD"))
    environ[SCOPE_KEY] = transaction
    return transaction


@capture_internal_errors("flask", "ending the request's context")
def close_scope(app: Flask, client: Any, environ: dict[str, Any], failed: bool = False) -> None:
    """Finish the request's transaction (named by its URL rule when one matched) and exit the
    scope :func:`open_scope` entered; nothing when it entered none."""
    if SCOPE_KEY not in environ:
        return
    transaction = environ.pop(SCOPE_KEY)
    try:
        if transaction is not None and transaction.sampled:
            if failed:
                transaction.set_status("internal_error")
            name_by_rule(transaction, environ)
            transaction.finish()
    finally:
        client.end_request_session(environ.pop(SESSION_KEY, None))
        client.context.__exit__(None, None, None)


def name_by_rule(transaction: Any, environ: dict[str, Any]) -> None:
    """Name the transaction by the request's URL rule, while Flask's request is still there
    (Flask drops it from the environ when its context ends); none matched: the path stays."""
    request: Request | None = environ.get("werkzeug.request")
    rule = request.url_rule if request is not None else None
    if rule is not None:
        transaction.set_name(rule.rule, "route")


def _reportable(exc: BaseException | None) -> bool:
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return False  # a clean exit is not an error
    if isinstance(exc, GeneratorExit):
        return False  # the server stopped reading the response early
    return not (isinstance(exc, HTTPException) and (exc.code or 500) < 500)  # trapped in tests


class RequestWrapper:
    """``app.wsgi_app`` wrapped: the request's scope spans the whole response, and what escapes
    Flask (a streamed body failing half way) is reported too."""

    def __init__(
        self,
        application: Callable[..., Any],
        app: Flask,
        client: Any,
        user_attrs: tuple[str, ...],
    ) -> None:
        self.application = application
        self.app = app
        self.client = client
        self.user_attrs = user_attrs

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        transaction = open_scope(self.app, self.client, self.user_attrs, environ)

        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # What Flask's request_finished would do, without a signal per request.
            event_id = environ.get(EVENT_KEY)
            if event_id:
                headers.append((HEADER, event_id))
            if transaction is not None and transaction.sampled:
                record_status(transaction, status)
                name_by_rule(transaction, environ)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        try:
            iterable = self.application(environ, respond)
        except BaseException:
            self.report()
            close_scope(self.app, self.client, environ, failed=True)
            raise
        return _ClosingResponse(self, iterable, environ)

    @capture_internal_errors("flask", "reporting an error that escaped Flask")
    def report(self) -> str | None:
        """Capture the exception being handled, unless it is no error (see ``_reportable``)."""
        exc = sys.exc_info()[1]
        if not _reportable(exc):
            return None
        event_id: str | None = self.client.captureException(
            mechanism={"type": "wsgi", "handled": False}
        )
        return event_id


class _ClosingResponse:
    """The app's response: reports what its iteration or ``close()`` raises, and closes the
    request's scope when the server closes the response."""

    __slots__ = ("wrapper", "iterable", "environ", "_closed", "_failed")

    def __init__(
        self, wrapper: RequestWrapper, iterable: Iterable[bytes], environ: dict[str, Any]
    ) -> None:
        self.wrapper = wrapper
        self.iterable = iterable
        self.environ = environ
        self._closed = False
        self._failed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.iterable
        except BaseException:
            self._failed = not isinstance(sys.exc_info()[1], GeneratorExit)
            self.wrapper.report()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        wrapper = self.wrapper
        failed = self._failed
        try:
            close = getattr(self.iterable, "close", None)
            if close is not None:
                close()
        except BaseException:
            failed = True
            wrapper.report()
            raise
        finally:
            close_scope(wrapper.app, wrapper.client, self.environ, failed)
