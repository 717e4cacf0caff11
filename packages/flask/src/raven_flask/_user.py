"""The Sentry ``user`` of the current request, from Flask-Login when the app uses it."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask

logger = logging.getLogger("raven.flask")

__all__ = ["login_user_info"]

# Sent only with ``send_default_pii``: they identify a person, the id alone does not.
_PII_ATTRS = ("username", "email")


def login_user_info(app: Flask, send_default_pii: bool, extra_attrs: Iterable[str] = ()) -> dict[str, Any] | None:
    """``{"id": ..., ...}`` for Flask-Login's authenticated ``current_user``, else ``None``.

    Nothing is imported or loaded unless the app has a ``LoginManager``: an app without
    Flask-Login (or without it installed) gets no user and no error. Loading the user runs the
    app's user loader; that happens only here, when an event is captured, never up front.
    """
    if getattr(app, "login_manager", None) is None:
        return None
    try:
        from flask_login import current_user  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        user = current_user._get_current_object()
        if user is None or not user.is_authenticated:
            return None
        info: dict[str, Any] = {"id": str(user.get_id())}
    except Exception:
        # The user loader may fail for the very reason the request failed (a database down):
        # the event goes out without a user rather than not at all.
        logger.debug("could not load the Flask-Login user", exc_info=True)
        return None
    attrs = list(_PII_ATTRS) if send_default_pii else []
    attrs.extend(attr for attr in extra_attrs if attr not in attrs)
    for attr in attrs:
        try:
            value = getattr(user, attr, None)
        except Exception:
            logger.debug("could not read the Flask-Login user attribute %r", attr, exc_info=True)
            continue
        if value is not None and not callable(value):
            info[attr] = value
    return info
