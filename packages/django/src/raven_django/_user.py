"""The Sentry ``user`` interface from ``request.user``.

Duck-typed, so it works for any ``AbstractBaseUser`` model and without ``django.contrib.auth``.
A user Django has not loaded yet is loaded through ``_db.guarded_queries``: never from async
code, and in a savepoint inside the application's ``atomic`` blocks.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest
from django.utils.functional import LazyObject, empty

from ._db import guarded_queries

__all__ = ["client_ip", "user_info"]

logger = logging.getLogger("raven.django")


def user_info(request: HttpRequest, send_default_pii: bool) -> dict[str, str] | None:
    """``id`` and ``username`` of an authenticated user; ``email`` and ``ip_address`` only with PII."""
    info: dict[str, str] = {}
    user = _loaded_user(request)
    if user is not None and _is_authenticated(user):
        pk = getattr(user, "pk", None)
        if pk is not None:
            info["id"] = str(pk)
        get_username = getattr(user, "get_username", None)
        username = get_username() if callable(get_username) else getattr(user, "username", None)
        if username:
            info["username"] = str(username)
        if send_default_pii:
            get_field = getattr(user, "get_email_field_name", None)
            email = getattr(user, get_field() if callable(get_field) else "email", None)
            if email:
                info["email"] = str(email)
    if send_default_pii:
        address = client_ip(request)
        if address:
            info["ip_address"] = address
    return info or None


def client_ip(request: HttpRequest) -> str | None:
    """The first ``X-Forwarded-For`` address, else ``REMOTE_ADDR``; None unless a valid IP."""
    meta = request.META
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    candidate = forwarded.split(",")[0].strip() if forwarded else meta.get("REMOTE_ADDR")
    if not candidate:
        return None
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def _is_authenticated(user: Any) -> bool:
    authenticated = getattr(user, "is_authenticated", False)
    if callable(authenticated):  # very old custom user models
        authenticated = authenticated()
    return bool(authenticated)


def _loaded_user(request: HttpRequest) -> Any:
    user = request.__dict__.get("user")  # set by AuthenticationMiddleware (or DRF); absent without auth
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
