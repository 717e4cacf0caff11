"""``DjangoClient``: a :class:`raven.Client` that knows Django's request, user, site and templates."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

import raven
from django.http import HttpRequest
from raven.exceptions import ConfigurationError
from raven.guard import capture_internal_errors
from raven.processors import Processor

from ._db import guarded_queries
from ._request import request_data, transaction_name
from ._scope import current_request
from ._template import template_info
from ._user import user_data

__all__ = ["DjangoClient"]

logger = logging.getLogger("raven.django")

# What the capture being built knows that the event does not: the exception object (for its
# template) and the ``request=`` it was given (for the site), read by ``_SiteAndTemplate``.
_capturing: ContextVar[tuple[BaseException | None, HttpRequest | None]] = ContextVar(
    "raven_django.capturing", default=(None, None))


class DjangoClient(raven.Client):
    """Adds Django's request, user and transaction (through the request's context), the ``site``
    tag and the ``template`` of a template error to events.

    Subclass it and name the subclass in the ``SENTRY_CLIENT`` setting to change what is
    collected (:meth:`get_data_from_request`, :meth:`get_user_info`, :meth:`get_site_name`).
    ``install_sql_hook=False`` turns SQL query breadcrumbs off.
    """

    def __init__(self, *args: Any, install_sql_hook: bool = True, **kwargs: Any) -> None:
        if not isinstance(install_sql_hook, bool):
            raise ConfigurationError(f"option 'install_sql_hook' must be a boolean, got {install_sql_hook!r}")
        self.install_sql_hook = install_sql_hook
        super().__init__(*args, **kwargs)
        self.processors.append(_SiteAndTemplate(self))

    # -- what is collected (override in a SENTRY_CLIENT subclass) ---------------------------------
    def get_user_info(self, request: HttpRequest) -> dict[str, Any] | None:
        """The ``user`` of ``request``, computed when an event is captured (see ``_user``)."""
        return user_data(request, self)

    def get_data_from_request(self, request: HttpRequest) -> dict[str, Callable[[], Any]]:
        """``request``, ``user`` and ``transaction`` of ``request`` as zero-argument callables.

        The request's scope holds them and each event captured during the request computes them
        (one that fails is logged and left out). To change a value, wrap its callable.
        """
        return {
            "request": functools.partial(_compute, request_data, request, self),
            "user": functools.partial(_compute, self.get_user_info, request),
            "transaction": functools.partial(_compute, transaction_name, request),
        }

    def get_site_name(self, request: HttpRequest | None) -> str | None:
        """The current site's name (or domain) from ``django.contrib.sites``, for the ``site`` tag
        of events that have none; the ``site`` option when set."""
        if self.options.site:
            return self.options.site
        from django.apps import apps

        if not apps.is_installed("django.contrib.sites"):
            return None
        from django.contrib.sites.shortcuts import get_current_site

        try:
            with guarded_queries() as allowed:
                if not allowed:
                    return None
                site = get_current_site(request)
        except Exception as exc:  # no Site row, no table yet, SITE_ID unset: no tag, not an error
            logger.debug("no site tag: %r", exc)
            return None
        return str(getattr(site, "name", "") or getattr(site, "domain", "")) or None

    # -- capture -----------------------------------------------------------------------------------
    def capture(self, event_type: str, data: Mapping[str, Any] | None = None, date: Any = None,
                time_spent: Any = None, extra: Mapping[str, Any] | None = None, stack: Any = None,
                tags: Mapping[str, Any] | None = None, sample_rate: float | None = None, *,
                request: Any = None, **kwargs: Any) -> str | None:
        """:meth:`raven.Client.capture`, with raven-python's ``request=``: an ``HttpRequest``
        adds its request, user and transaction where the context (or ``data``) has none; a dict
        is the event's ``request``."""
        if isinstance(request, HttpRequest):
            given = dict(data or {})
            for key, value in self.get_data_from_request(request).items():
                if key not in given and key not in self.context:
                    given[key] = value
            data = given
        elif isinstance(request, Mapping):
            data = {**(data or {}), "request": dict(request)}
        exc = kwargs.get("exc_info")
        token = _capturing.set((exc if isinstance(exc, BaseException) else None,
                                request if isinstance(request, HttpRequest) else None))
        try:
            return super().capture(event_type, data, date, time_spent, extra, stack, tags, sample_rate, **kwargs)
        finally:
            _capturing.reset(token)


@capture_internal_errors("django", "reading a request's data")
def _compute(build: Callable[..., Any], *args: Any) -> Any:
    # One guarded function for every lazy value: wrapping each in a guard per request costs more.
    return build(*args)


class _SiteAndTemplate(Processor):
    """The client's last processor: the ``site`` tag when no layer set one, and the ``template``
    interface of an exception raised while Django compiled or rendered a template."""

    client: DjangoClient

    def process(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        exc, request = _capturing.get()
        with capture_internal_errors("django", "reading the current site"):
            tags = data.setdefault("tags", {})
            if "site" not in tags:
                site = self.client.get_site_name(request or current_request.get())
                if site:
                    tags["site"] = site
        if exc is not None and "template" not in data:
            with capture_internal_errors("django", "reading the template of an error"):
                template = template_info(exc, self.client.options.context_lines)
                if template is not None:
                    data["template"] = template
        return data
