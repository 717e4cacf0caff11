"""The Sentry ``user`` interface from ``request.user``.

Duck-typed, so it works for any ``AbstractBaseUser`` model and without ``django.contrib.auth``.
A user Django has not loaded yet is loaded through ``_db.guarded_queries``: never from async
code, and in a savepoint inside the application's ``atomic`` blocks. The core's
``user_interface`` decides what may be sent (the username, email and address only with
``send_default_pii``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils.functional import LazyObject, empty
from raven.httpdata import client_ip, user_interface

from ._db import guarded_queries

__all__ = ["user_data"]

logger = logging.getLogger("raven.django")


def user_data(request: HttpRequest, client: Any) -> dict[str, Any] | None:
    """``id`` of an authenticated user; its username, email and the client's IP address with PII."""
    pk = username = email = None
    user = _loaded_user(request)
    if user is not None and _is_authenticated(user):
        pk = getattr(user, "pk", None)
        get_username = getattr(user, "get_username", None)
        username = get_username() if callable(get_username) else getattr(user, "username", None)
        get_field = getattr(user, "get_email_field_name", None)
        email = getattr(user, get_field() if callable(get_field) else "email", None)
    meta = request.META
    return user_interface(
        client,
        id=pk,
        username=username,
        email=email,
        ip_address=client_ip(meta.get("HTTP_X_FORWARDED_FOR"), meta.get("REMOTE_ADDR")),
    )


def _is_authenticated(user: Any) -> bool:
    authenticated = getattr(user, "is_authenticated", False)
    if callable(authenticated):  # very old custom user models
        authenticated = authenticated()
    return bool(authenticated)


def _loaded_user(request: HttpRequest) -> Any:
    user = request.__dict__.get(
        "user"
    )  # set by AuthenticationMiddleware (or DRF); absent without auth
    if user is None:
        return None
    if isinstance(user, LazyObject) and user._wrapped is empty:
        cached = request.__dict__.get("_acached_user")  # loaded by `await request.auser()`
        if cached is not None:
            return cached
        try:
            with guarded_queries() as allowed:
                if not allowed:
                    return None
                _is_authenticated(user)  # loads it
        except DatabaseError as exc:  # the application's database trouble, not Raven's: no user
            logger.debug("could not load the request's user: %r", exc)
            return None
    return user
