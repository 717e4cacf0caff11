"""``SentryMixin``: report the errors a Tornado ``RequestHandler`` turns into 5xx responses.

Where errors are caught: Tornado hands every exception that escapes a handler to
``log_exception`` and then to ``send_error``; the mixin reports from the first of the two that
sees the exception (``send_error`` also covers handlers that override ``log_exception`` without
calling ``super()``, and ``send_error(500)`` called by hand inside an ``except`` block).
``HTTPError`` below 500 is the app answering on purpose and is never reported.

Isolation: Tornado runs each request's ``_execute`` in its own asyncio task, so changes to the
client's context (contextvars) made while handling a request are never seen by another request.
``prepare()`` additionally starts each request from an empty context, so nothing set outside the
request (on the connection's task, say) leaks into its events.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tornado.web import HTTPError

from .request import request_data, user_data

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
    it elsewhere): an :class:`~raven_tornado.AsyncSentryClient` sends on the IOLoop, a plain
    ``raven.Client`` sends from its background thread; both work.

    If you override ``prepare()``, call ``super().prepare()`` so each request starts from an
    empty context.
    """

    # -- the client and the data attached to every event --------------------------------------
    def get_sentry_client(self) -> Any:
        """The ``raven.Client`` events go to; ``None`` disables reporting for this handler."""
        return getattr(self.application, "sentry_client", None)

    def get_sentry_data_from_request(self) -> dict[str, Any]:
        """``{"request": {...}}``: URL, method, query string, headers, cookies, body, remote IP.

        Values are attached raw; the client's processors scrub secrets before sending.
        """
        return {"request": request_data(self.request, self.get_sentry_client())}

    def get_sentry_user_info(self) -> dict[str, Any]:
        """``{"user": {...}}`` built from ``self.current_user`` (``get_current_user()``).

        Dicts and objects contribute ``id``, ``username`` and ``name``; a plain string or number
        becomes ``id``. Email and IP address are only added when ``send_default_pii`` is on.
        """
        try:
            current = self.current_user
        except Exception:
            logger.debug("get_current_user() failed; event sent without user", exc_info=True)
            current = None
        user = user_data(current, self.request, self.get_sentry_client())
        return {"user": user} if user else {}

    def get_sentry_extra_info(self) -> dict[str, Any]:
        """``{"extra": {...}}`` added to every event of this handler; empty unless overridden."""
        return {"extra": {}}

    def get_default_context(self) -> dict[str, Any]:
        """The event data the mixin attaches: request, user, extra and transaction."""
        data: dict[str, Any] = {}
        data.update(self.get_sentry_data_from_request())
        data.update(self.get_sentry_user_info())
        data.update(self.get_sentry_extra_info())
        return data

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

    def _sentry_capture(self, method: str, first: Any, data: Any = None, **kwargs: Any) -> str | None:
        try:
            client = self.get_sentry_client()
            if client is None:
                return None
            event_data = self._sentry_event_data(client, data)
            result: str | None = getattr(client, method)(first, data=event_data, **kwargs)
            return result
        except Exception:
            logger.exception("could not report to Sentry from %s", type(self).__qualname__)
            return None

    def _sentry_event_data(self, client: Any, data: Any) -> dict[str, Any]:
        """This handler's data, under whatever the request set in the context, under ``data``."""
        event = self.get_default_context()
        current = client.context.get()
        for key in ("request", "user"):
            # Set during this request (http_context / user_context): more specific than ours.
            if isinstance(current.get(key), Mapping) and isinstance(event.get(key), Mapping):
                event[key] = {**event[key], **current[key]}
        if not current.get("transaction"):
            cls = type(self)
            event["transaction"] = f"{cls.__module__}.{cls.__qualname__}.{(self.request.method or 'get').lower()}"
        if isinstance(data, Mapping):
            for key, value in data.items():
                if key in ("extra", "tags", "request", "user") and isinstance(value, Mapping) \
                        and isinstance(event.get(key), Mapping):
                    event[key] = {**event[key], **value}
                else:
                    event[key] = value
        elif data is not None:
            event.setdefault("extra", {})["extra_data"] = data
        if not event.get("extra"):
            event.pop("extra", None)
        return event

    # -- Tornado's hooks --------------------------------------------------------------------------
    def prepare(self) -> Awaitable[None] | None:
        """Start the request from an empty Raven context, then run the handler's own ``prepare``."""
        try:
            client = self.get_sentry_client()
            if client is not None:
                client.context.clear()
                client.context.activate()  # breadcrumbs recorded during the request land here
        except Exception:
            logger.exception("could not reset the Raven context")
        result = super().prepare()
        if result is None:
            # Awaitable either way: a subclass may write `super().prepare()` or
            # `await super().prepare()`; a finished future serves both.
            result = _done_future()
        return result

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None,
                      tb: TracebackType | None) -> None:
        """Report exceptions Tornado answers with a 5xx, then log them as Tornado does."""
        try:
            if value is not None and _is_server_error(value) and not self._sentry_reported(value):
                self._sentry_report((typ, value, tb))
        except Exception:
            logger.exception("could not report an exception to Sentry")
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Report a 5xx sent for an exception ``log_exception`` did not see, then send it."""
        try:
            if status_code >= 500:
                exc_info = kwargs.get("exc_info") or sys.exc_info()
                value = _exception_of(exc_info)
                if value is not None and not self._sentry_reported(value):
                    self._sentry_report(exc_info)
        except Exception:
            logger.exception("could not report an exception to Sentry")
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
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    return None


def _is_server_error(exc: BaseException) -> bool:
    """Tornado answers ``HTTPError`` with its own status and anything else with 500."""
    if isinstance(exc, HTTPError):
        return exc.status_code >= 500
    return True
