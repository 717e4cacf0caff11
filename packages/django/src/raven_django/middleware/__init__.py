"""Optional middleware (each sync and async capable, through ``MiddlewareMixin``).

- ``SentryResponseErrorIdMiddleware``: ``X-Sentry-ID: <event id>`` on each response for which an
  event was reported, so a user can quote the id; put it first in ``MIDDLEWARE``.
- ``Sentry404CatchMiddleware``: each 404 becomes an ``info`` event (``IGNORABLE_404_URLS`` honoured).
- ``DjangoRestFrameworkCompatMiddleware``: reads the raw body up front, so it stays available to
  error reports after a parser (DRF's ``request.data``) consumed the request stream.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin
from raven.guard import capture_internal_errors
from raven.httpdata import body_limit

from .. import conf
from .._request import absolute_url, remember_event

__all__ = [
    "DjangoRestFrameworkCompatMiddleware",
    "Sentry404CatchMiddleware",
    "SentryResponseErrorIdMiddleware",
]

logger = logging.getLogger("raven.django")


class SentryResponseErrorIdMiddleware(MiddlewareMixin):
    """Adds the id of the event reported for this request to its response (any status, as in
    raven-python: a 404 reported by Sentry404CatchMiddleware, a 200 whose view captured)."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """Add ``X-Sentry-ID`` to a response for which an event was reported."""
        with capture_internal_errors("django", "adding X-Sentry-ID"):
            ident = (getattr(request, "sentry", None) or {}).get("id")
            if ident:
                response["X-Sentry-ID"] = ident
        return response


class Sentry404CatchMiddleware(MiddlewareMixin):
    """Reports 404 responses as ``info`` events from the ``http404`` logger (raven-python's level)."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        """Report a 404 response at ``info`` (unless ``IGNORABLE_404_URLS`` matches)."""
        if response.status_code == 404:
            self._report(request)
        return response

    @capture_internal_errors("django", "reporting a 404")
    def _report(self, request: HttpRequest) -> None:
        path = request.get_full_path()
        if any(pattern.search(path) for pattern in getattr(settings, "IGNORABLE_404_URLS", ())):
            return
        client = conf.client_or_none()
        if client is None or not client.is_enabled():
            return
        # The request itself is in the request's scope (see ``_scope``).
        event_id = client.captureMessage(
            f"Page Not Found: {absolute_url(request)}", level="info", logger="http404"
        )
        if event_id:
            remember_event(request, client, event_id)


class DjangoRestFrameworkCompatMiddleware(MiddlewareMixin):
    """Caches ``request.body`` (when small enough to report) before any parser reads the stream."""

    @capture_internal_errors("django", "caching the request body")
    def process_request(self, request: HttpRequest) -> None:
        """Read and cache a small body before a parser consumes the stream."""
        if request.content_type == "multipart/form-data":
            return  # uploads are streamed to the form parser; their raw bytes are not reported
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        if 0 < length <= body_limit(conf.client_or_none()):
            try:
                request.body  # noqa: B018  (reading caches it)
            except (OSError, SuspiciousOperation) as exc:
                # A client gone mid-body, DATA_UPLOAD_MAX_MEMORY_SIZE: the view meets it too.
                logger.debug("caching the request body failed: %r", exc)
