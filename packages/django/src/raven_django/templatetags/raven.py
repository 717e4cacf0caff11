"""``{% load raven %}{% sentry_public_dsn %}``: the public DSN, for a browser SDK's configuration.

``{% sentry_public_dsn %}`` keeps the DSN's scheme; ``{% sentry_public_dsn "https" %}`` forces one,
``{% sentry_public_dsn "" %}`` gives the protocol-relative ``//key@host/1``. Empty when Raven is
not configured. The secret key, if any, is never included.
"""

from __future__ import annotations

from django import template

from .. import conf

__all__ = ["register", "sentry_public_dsn"]

register = template.Library()


@register.simple_tag
def sentry_public_dsn(scheme: str | None = None) -> str:
    """``{% sentry_public_dsn %}``: the DSN without its secret, for a browser SDK; empty when Raven is off."""
    client = conf.client_or_none()
    if client is None:
        return ""
    dsn = client.get_public_dsn(client.dsn.scheme if scheme is None and client.dsn else scheme)
    return dsn or ""
