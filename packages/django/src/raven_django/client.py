"""``DjangoClient``: a :class:`raven.Client` that adds a Django request's data to its events."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import raven
from django.http import HttpRequest
from raven.exceptions import ConfigurationError

from ._db import guarded_queries
from ._request import request_data, request_data_from_source, transaction_name
from ._template import template_info
from ._user import user_info

__all__ = ["DjangoClient", "current_request_source"]

logger = logging.getLogger("raven.django")

# The WSGI environ (or, on Django 4.2, the ASGI scope) of the request being handled, set by
# ``request_started``, for events captured outside Django's exception handling: log records,
# manual captures in a view. (Django 5 sends ``request_started`` to ASGI receivers from a task of
# its own, so there the request data comes only from ``request=`` or the log record's request.)
current_request_source: ContextVar[Mapping[str, Any] | None] = ContextVar("raven_django.request", default=None)


class DjangoClient(raven.Client):
    """Adds request, user, transaction, template and site data to events.

    Pass ``request=`` (an ``HttpRequest``) to ``captureException``/``captureMessage``. Subclass it
    and name the subclass in the ``SENTRY_CLIENT`` setting to change what is collected.
    ``install_sql_hook=False`` turns SQL query breadcrumbs off.
    """

    def __init__(self, *args: Any, install_sql_hook: bool = True, **kwargs: Any) -> None:
        if not isinstance(install_sql_hook, bool):
            raise ConfigurationError(f"option 'install_sql_hook' must be a boolean, got {install_sql_hook!r}")
        self.install_sql_hook = install_sql_hook
        super().__init__(*args, **kwargs)

    # -- what is collected (override in a SENTRY_CLIENT subclass) ---------------------------------
    def get_user_info(self, request: HttpRequest) -> dict[str, Any] | None:
        return user_info(request, self.options.send_default_pii)

    def get_data_from_request(self, request: HttpRequest) -> dict[str, Any]:
        """Event keys for ``request``: ``request``, ``user`` (when known) and ``transaction``."""
        data: dict[str, Any] = {}
        for key, build in (("request", lambda: request_data(request, self)),
                           ("user", lambda: self.get_user_info(request)),
                           ("transaction", lambda: transaction_name(request))):
            try:
                value = build()
            except Exception:
                logger.exception("reading the %s of a Django request failed", key)
                continue
            if value:
                data[key] = value
        return data

    def get_site_name(self, request: HttpRequest | None) -> str | None:
        """The ``site`` option, else the current site's name (or domain) from ``django.contrib.sites``."""
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

    # -- event building ----------------------------------------------------------------------------
    def build_msg(self, event_type: str, data: Mapping[str, Any] | None = None, date: Any = None,
                  time_spent: Any = None, extra: Mapping[str, Any] | None = None, stack: Any = None,
                  public_key: Any = None, tags: Mapping[str, Any] | None = None, fingerprint: Any = None,
                  request: Any = None, **kwargs: Any) -> dict[str, Any]:
        data = dict(data or {})
        context = self.context
        if isinstance(request, HttpRequest):
            for key, value in self.get_data_from_request(request).items():
                # What the application set itself (context, call data) wins.
                if key not in data and key not in context:
                    data[key] = value
        elif isinstance(request, Mapping):
            data["request"] = dict(request)
        elif "request" not in data and "request" not in context:
            source = current_request_source.get()
            if source is not None:
                try:
                    fallback = request_data_from_source(source, self)
                except Exception:
                    logger.exception("reading the current request failed")
                    fallback = None
                if fallback:
                    data["request"] = fallback
        site_tags = dict(data.get("tags") or {})
        context_tags = context["tags"] if "tags" in context else {}
        if not any("site" in source for source in (site_tags, tags or {}, context_tags, self.options.tags)):
            site = self.get_site_name(request if isinstance(request, HttpRequest) else None)
            if site:
                site_tags["site"] = site
                data["tags"] = site_tags
        template = None
        exc = kwargs.get("exc_info")
        if isinstance(exc, BaseException):
            try:
                template = template_info(exc, self.options.context_lines)
            except Exception:
                logger.exception("reading the template of an error failed")
        event = super().build_msg(event_type, data=data, date=date, time_spent=time_spent, extra=extra,
                                  stack=stack, public_key=public_key, tags=tags, fingerprint=fingerprint,
                                  **kwargs)
        if template is not None and "template" not in event:
            event["template"] = template
        return event
