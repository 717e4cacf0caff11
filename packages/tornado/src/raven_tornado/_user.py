"""The Sentry ``user`` of a Tornado request: the handler's ``current_user`` and the peer's address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from raven.httpdata import user_interface

if TYPE_CHECKING:
    from tornado.httputil import HTTPServerRequest

__all__ = ["user_data"]

# Read from a dict or an object; ``user_interface`` keeps all but the id only with send_default_pii.
_FIELDS = ("id", "username", "name", "email")


def user_data(user: Any, request: HTTPServerRequest, client: Any) -> dict[str, Any] | None:
    """The ``user`` for ``current_user``, None when there is nothing to send.

    A dict or an object contributes ``id``, ``username``, ``name`` and ``email``; a plain string
    or number is the ``id``. The core sends all but the id, and the IP address, only with
    ``send_default_pii``.
    """
    if isinstance(user, bytes):
        user = user.decode("utf-8", "replace")
    fields: dict[str, Any] = {}
    if isinstance(user, (str, int)) and not isinstance(user, bool):
        fields["id"] = user
    elif user is not None:
        for field in _FIELDS:
            value = user.get(field) if isinstance(user, Mapping) else getattr(user, field, None)
            if value is not None and not callable(value):
                fields[field] = value
    try:  # raven-python's mixin sent it (and only it): dashboards may filter on it
        fields["is_authenticated"] = bool(user)
    except Exception:
        fields["is_authenticated"] = True
    return user_interface(client, ip_address=request.remote_ip or None, **fields)
