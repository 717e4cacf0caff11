"""The Sentry ``user`` of the current request: the Flask-Login user and the client's address."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, Request
from raven.httpdata import client_ip, user_interface

logger = logging.getLogger("raven.flask")

__all__ = ["user_data"]

# Read from the Flask-Login user; ``user_interface`` keeps them only with ``send_default_pii``,
# even when ``SENTRY_USER_ATTRS`` names them.
_PII_ATTRS = ("username", "email")


def user_data(
    app: Flask, request: Request, client: Any, extra_attrs: Iterable[str] = ()
) -> dict[str, Any] | None:
    """The Flask-Login user's id (plus ``extra_attrs``, the app's ``SENTRY_USER_ATTRS``) and,
    with ``send_default_pii``, the username, email and client IP address; None when empty.

    Called when an event is captured, never up front: loading the user runs the app's user loader.
    """
    fields = _login_user(app, extra_attrs)
    forwarded_for = request.headers.get("X-Forwarded-For")
    return user_interface(
        client, ip_address=client_ip(forwarded_for, request.remote_addr), **fields
    )


def _login_user(app: Flask, extra_attrs: Iterable[str]) -> dict[str, Any]:
    # Nothing is imported or loaded unless the app has a LoginManager: an app without
    # Flask-Login (or without it installed) gets no user and no error.
    if getattr(app, "login_manager", None) is None:
        return {}
    try:
        from flask_login import current_user  # type: ignore[import-untyped]
    except ImportError:
        return {}
    try:
        user = current_user._get_current_object()
        if user is None or not user.is_authenticated:
            return {}
        fields: dict[str, Any] = {"id": user.get_id()}
    except Exception:
        # The user loader may fail for the very reason the request failed (a database down):
        # the event goes out without a user rather than not at all.
        logger.debug("could not load the Flask-Login user", exc_info=True)
        return {}
    for attr in (*_PII_ATTRS, *extra_attrs):
        if attr in fields or attr in ("id", "ip_address"):
            continue
        try:
            value = getattr(user, attr, None)
        except Exception:
            logger.debug("could not read the Flask-Login user attribute %r", attr, exc_info=True)
            continue
        if value is not None and not callable(value):
            fields[attr] = value
    return fields
