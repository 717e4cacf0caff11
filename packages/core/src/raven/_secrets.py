"""What counts as a secret for :mod:`raven.processors`: the sensitive keys and card numbers."""

from __future__ import annotations

from typing import Any

from ._textscan import LazyPattern

CARD_MIN = 10**12  # the smallest 13-digit number
CARD_RE: Any = LazyPattern(r"^(?:\d[ -]?){12,18}\d$")

DEFAULT_SENSITIVE_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "api-key",
        "access_key",
        "accesskey",
        "private_key",
        "privatekey",
        "authorization",
        "x-auth",
        "auth_token",
        "credential",
        "cookie",
        "session",
        "csrf",
        "xsrf",
        "sentry_dsn",
        "card_number",
        "cardnumber",
        "credit_card",
        "cvv",
        "passphrase",
        "signature",
        "jwt",
        "bearer",
        # from sentry-sdk's default denylist (the union of both lists; issue 17)
        "connect.sid",
        "phpsessid",
        "symfony",
    }
)
# Matched as a whole word of the key (``auth``, ``basic_auth``, ``X-Auth``), never as a part of
# one: ``author`` and ``oauth_provider`` are no secrets.
DEFAULT_SENSITIVE_WORDS = frozenset({"auth"})
# sentry-sdk's PII denylist: masked unless ``send_default_pii`` is on.
DEFAULT_PII_KEYS = frozenset({"x_forwarded_for", "x_real_ip", "ip_address", "remote_addr"})


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_card(value: Any) -> bool:
    """13-19 digits (spaces or dashes allowed) passing the Luhn check."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        if not -(10**23) < value < 10**23:  # too long for a card (and str() may refuse it)
            return False
        value = str(value)
    if not isinstance(value, str) or not 13 <= len(value) <= 23 or not CARD_RE.match(value):
        return False
    digits = value.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and _luhn(digits)
