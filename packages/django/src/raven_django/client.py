"""``DjangoClient``: a :class:`raven.Client` that knows Django's request, user, site and templates."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

import raven
from django.http import HttpRequest
from raven.exceptions import ConfigurationError
from raven.guard import capture_internal_errors

from ._db import guarded_queries
from ._request import request_data, transaction_name
from ._routes import TRANSACTION_STYLES
from ._scope import current_request
from ._template import template_info
from ._user import user_data

__all__ = ["DjangoClient"]

logger = logging.getLogger("raven.django")


class DjangoClient(raven.Client):
    """Adds Django's request, user and transaction (through the request's context), the ``site``
    tag and the ``template`` of a template error to events.

    Subclass it and name the subclass in the ``SENTRY_CLIENT`` setting to change what is
    collected (:meth:`get_data_from_request`, :meth:`get_user_info`, :meth:`get_site_name`).
    ``install_sql_hook=False`` turns SQL query breadcrumbs off. ``transaction_style`` names
    requests (events' ``transaction``, and transactions): ``"url"``, the resolved URL pattern
    (default), or ``"function_name"``, the view's dotted path (see ``_routes``).
    """

    def __init__(
        self,
        *args: Any,
        install_sql_hook: bool = True,
        transaction_style: str = "url",
        **kwargs: Any,
    ) -> None:
        if not isinstance(install_sql_hook, bool):
            raise ConfigurationError(
                f"option 'install_sql_hook' must be a boolean, got {install_sql_hook!r}"
            )
        if transaction_style not in TRANSACTION_STYLES:
            raise ConfigurationError(
                f"option 'transaction_style' must be one of {', '.join(map(repr, TRANSACTION_STYLES))},"
                f" got {transaction_style!r}"
            )
        self.install_sql_hook = install_sql_hook
        self.transaction_style = transaction_style
        super().__init__(*args, **kwargs)

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
            "transaction": functools.partial(
                _compute, transaction_name, request, self.transaction_style
            ),
        }

    def get_site_name(self, request: HttpRequest | None) -> str | None:
        """The current site's name (or domain) from ``django.contrib.sites``, for the ``site`` tag
        of events that have none; the ``site`` option when set."""
        configured: str | None = self.options.site
        if configured:
            return configured
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
    def prepare_capture(
        self, data: Mapping[str, Any] | None, tags: Mapping[str, Any] | None, kwargs: dict[str, Any]
    ) -> Mapping[str, Any] | None:
        """For :meth:`raven.Client.capture`: raven-python's ``request=``, an ``HttpRequest``,
        adds its request, user and transaction where the context (or ``data``) has none; a dict
        is the event's ``request``. Adds the ``site`` tag when no layer set one, and the
        ``template`` of an exception raised while Django compiled or rendered a template."""
        request = kwargs.pop("request", None)
        given = dict(data or {})
        if isinstance(request, HttpRequest):
            for key, value in self.get_data_from_request(request).items():
                if key not in given and key not in self.context:
                    given[key] = value
        elif isinstance(request, Mapping):
            given["request"] = dict(request)
        with capture_internal_errors("django", "reading the current site"):
            layers = (
                self.options.tags,
                self.context.get().get("tags") or {},
                given.get("tags") or {},
                tags or {},
            )
            if not any("site" in layer for layer in layers):
                site = self.get_site_name(
                    request if isinstance(request, HttpRequest) else current_request.get()
                )
                if site:
                    given["tags"] = {**(given.get("tags") or {}), "site": site}
        exc = kwargs.get("exc_info")
        if isinstance(exc, BaseException) and "template" not in kwargs:
            with capture_internal_errors("django", "reading the template of an error"):
                kwargs["template"] = template_info(exc, self.options.context_lines)
        return given


@capture_internal_errors("django", "reading a request's data")
def _compute(build: Callable[..., Any], *args: Any) -> Any:
    # One guarded function for every lazy value: wrapping each in a guard per request costs more.
    return build(*args)
