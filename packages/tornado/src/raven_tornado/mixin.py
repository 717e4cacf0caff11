"""``SentryMixin``: report the errors a Tornado ``RequestHandler`` turns into 5xx responses.

Where errors are caught: Tornado hands every exception that escapes a handler to
``log_exception`` and then to ``send_error``; the mixin reports from the first of the two that
sees the exception (``send_error`` also covers handlers that override ``log_exception`` without
calling ``super()``, and ``send_error(500)`` called by hand inside an ``except`` block).
``HTTPError`` below 500 is the app answering on purpose and is never reported.

Request data: ``prepare()`` starts the request from an empty Raven context and puts the request,
the user and the transaction in it, lazily (computed only when an event is captured). So every
event captured while the request is handled carries them: the mixin's own, a log record through
``raven.handlers.logging.SentryHandler``, and ``client.captureMessage()`` called in the handler.

Tracing: ``prepare()`` also starts the request's transaction and ``finish()`` ends it (see
:mod:`raven_tornado.tracing`).

Isolation: Tornado runs each request's ``_execute`` in its own asyncio task, so the context set
while handling a request (contextvars) is never seen by another request and ends with it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from raven.guard import capture_internal_errors
from tornado.web import HTTPError

from ._request import request_data, transaction_name
from ._user import user_data
from .tracing import finish_transaction, start_transaction

__all__ = ["SentryMixin"]

logger = logging.getLogger("raven.tornado")

if TYPE_CHECKING:
    from tornado.web import RequestHandler

    _Base = RequestHandler
else:
    _Base = object

_MECHANISM = {"type": "tornado", "handled": False}


class SentryMixin(_Base):
    """Mix into a ``tornado.web.RequestHandler`` (before it) to report its errors to Sentry.

    The client is ``self.application.sentry_client`` (override :meth:`get_sentry_client` to find
    it elsewhere): an :class:`~raven_tornado.AsyncSentryClient` (whose ``flush()`` can be awaited)
    or a plain ``raven.Client``.

    If you override ``prepare()``, call ``super().prepare()``: it opens the request's context.
    """

    # -- the client and the data attached to every event --------------------------------------
    def get_sentry_client(self) -> Any:
        """The ``raven.Client`` events go to; ``None`` disables reporting for this handler."""
        return getattr(self.application, "sentry_client", None)

    def get_sentry_data_from_request(self) -> dict[str, Any]:
        """``{"request": {...}}``: URL, method, query string, headers, cookies, body, remote IP.

        Called when an event is captured. Values are attached raw; the client's processors scrub
        secrets before sending, and the IP address is only sent with ``send_default_pii``.
        """
        return {"request": request_data(self.request, self.get_sentry_client())}

    def get_sentry_user_info(self) -> dict[str, Any]:
        """``{"user": {...}}`` built from ``self.current_user`` (``get_current_user()``).

        Called when an event is captured. A dict or an object contributes ``id``, ``username``,
        ``name`` and ``email``; a plain string or number becomes ``id``. All but the id, and the
        IP address, are only sent with ``send_default_pii``.
        """
        try:
            current = self.current_user
        except Exception:
            # The app's user lookup may fail for the very reason the request failed (a database
            # down): the event goes out without a user rather than not at all.
            logger.debug("get_current_user() failed; event sent without user", exc_info=True)
            current = None
        user = user_data(current, self.request, self.get_sentry_client())
        return {"user": user} if user else {}

    def get_sentry_extra_info(self) -> dict[str, Any]:
        """``{"extra": {...}}`` added to the events the mixin captures; empty unless overridden."""
        return {"extra": {}}

    def get_default_context(self) -> dict[str, Any]:
        """The event data the mixin attaches, at capture: request, user and extra.

        Override it, or one of the three hooks above, to change what is attached.
        """
        data: dict[str, Any] = {}
        data.update(self.get_sentry_data_from_request())
        data.update(self.get_sentry_user_info())
        data.update(self.get_sentry_extra_info())
        return data

    def _sentry_part(self, key: str) -> Any:
        """One key of :meth:`get_default_context`, computed at capture.

        Unless ``get_default_context`` is overridden, only the hook for ``key`` runs, so a failing
        hook costs only its own part and nothing is computed twice.
        """
        with capture_internal_errors("tornado", f"computing the event's {key}"):
            if type(self).get_default_context is not SentryMixin.get_default_context:
                return self.get_default_context().get(key)
            hook = {
                "request": self.get_sentry_data_from_request,
                "user": self.get_sentry_user_info,
                "extra": self.get_sentry_extra_info,
            }[key]
            return hook().get(key)
        return None

    # -- capturing --------------------------------------------------------------------------------
    def captureException(self, exc_info: Any = None, **kwargs: Any) -> str | None:
        """Report an exception (the current one by default, or ``True``) with this request's data."""
        if exc_info is None or exc_info is True:
            exc_info = sys.exc_info()
        self._sentry_mark_reported(_exception_of(exc_info))
        return self._sentry_capture("captureException", exc_info, **kwargs)

    def captureMessage(self, message: str, **kwargs: Any) -> str | None:
        """Report a message with this request's data."""
        return self._sentry_capture("captureMessage", message, **kwargs)

    @capture_internal_errors("tornado", "reporting to Sentry")
    def _sentry_capture(self, method: str, first: Any, **kwargs: Any) -> str | None:
        client = self.get_sentry_client()
        if client is None:
            return None
        if not getattr(self, "_raven_context_open", False):
            # Before prepare() ran (or a prepare() that skips super()): the request still counts.
            self._sentry_open_context()
        extra = self._sentry_part("extra")
        if extra:
            kwargs["extra"] = {**extra, **(kwargs.get("extra") or {})}
        result: str | None = getattr(client, method)(first, **kwargs)
        return result

    # -- Tornado's hooks --------------------------------------------------------------------------
    def prepare(self) -> Awaitable[None] | None:
        """Open the request's Raven context, then run the handler's own ``prepare``."""
        self._sentry_open_context()
        self._sentry_start_transaction()
        result = super().prepare()
        if result is None:
            # Awaitable either way: a subclass may write `super().prepare()` or
            # `await super().prepare()`; a finished future serves both.
            result = _done_future()
        return result

    @capture_internal_errors("tornado", "opening the request's context")
    def _sentry_open_context(self) -> None:
        client = self.get_sentry_client()
        if client is None:
            return
        # This request's own task: nothing set outside it (on the connection's task) leaks in,
        # and what it sets ends with it.
        client.context.clear()
        self._raven_context_open = True
        self._raven_session = client.start_request_session()  # release health: one session
        client.context.merge(
            {
                "request": lambda: self._sentry_part("request"),
                "user": lambda: self._sentry_part("user"),
                "transaction": lambda: transaction_name(self),
            }
        )

    @capture_internal_errors("tornado", "starting the request's transaction")
    def _sentry_start_transaction(self) -> None:
        client = self.get_sentry_client()
        if client is not None:
            start_transaction(self, client)

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> asyncio.Future[None]:
        """Finish the response as Tornado does, then the request's transaction (see
        :mod:`raven_tornado.tracing`), with the response's status."""
        try:
            return super().finish(chunk)
        finally:
            # Also when Tornado's finish() fails (a body longer than its Content-Length): the
            # request is over either way.
            finish_transaction(self)
            session, self._raven_session = getattr(self, "_raven_session", None), None
            if session is not None:
                self.get_sentry_client().end_request_session(session)

    def log_exception(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Report exceptions Tornado answers with a 5xx, then log them as Tornado does."""
        with capture_internal_errors("tornado", "reporting an exception"):
            if value is not None and _is_server_error(value) and not self._sentry_reported(value):
                self._sentry_report((typ, value, tb))
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Report a 5xx sent for an exception ``log_exception`` did not see, then send it."""
        with capture_internal_errors("tornado", "reporting an exception"):
            if status_code >= 500:
                exc_info = kwargs.get("exc_info") or sys.exc_info()
                value = _exception_of(exc_info)
                if value is not None and not self._sentry_reported(value):
                    self._sentry_report(exc_info)
        super().send_error(status_code, **kwargs)

    def _sentry_report(self, exc_info: Any) -> None:
        self._sentry_mark_reported(_exception_of(exc_info))
        self._sentry_capture("captureException", exc_info, mechanism=dict(_MECHANISM))

    # An exception is reported once per handler, whichever hook sees it first; ids are enough
    # because the exception is alive for as long as Tornado handles it.
    def _sentry_reported(self, exc: BaseException) -> bool:
        return id(exc) in getattr(self, "_raven_reported", ())

    def _sentry_mark_reported(self, exc: BaseException | None) -> None:
        if exc is None:
            return
        reported: set[int] | None = getattr(self, "_raven_reported", None)
        if reported is None:
            reported = set()
            self._raven_reported = reported
        reported.add(id(exc))


def _done_future() -> asyncio.Future[None] | None:
    try:
        future = asyncio.get_running_loop().create_future()
    except RuntimeError:
        return None
    future.set_result(None)
    return future


def _exception_of(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if (
        isinstance(exc_info, tuple)
        and len(exc_info) == 3
        and isinstance(exc_info[1], BaseException)
    ):
        return exc_info[1]
    return None


def _is_server_error(exc: BaseException) -> bool:
    """Tornado answers ``HTTPError`` with its own status and anything else with 500."""
    if isinstance(exc, HTTPError):
        return exc.status_code >= 500
    return True
