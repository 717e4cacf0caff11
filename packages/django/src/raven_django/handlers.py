"""``SentryHandler`` for the ``LOGGING`` setting: log records become events of the configured client.

``LOGGING = {..., "handlers": {"sentry": {"level": "ERROR",
"class": "raven_django.handlers.SentryHandler"}}, ...}``. A record logged while Django handles a
request carries that request, its user and its transaction (from the request's scope, like every
event captured then). An exception Raven already reported through ``got_request_exception`` is not
reported twice.
"""

from __future__ import annotations

import logging

from raven.handlers.logging import SentryHandler as _CoreSentryHandler

from .client import DjangoClient
from .conf import get_client

__all__ = ["SentryHandler"]


class SentryHandler(_CoreSentryHandler):
    """A logging handler whose client is :func:`raven_django.get_client`, looked up at each record
    (``LOGGING`` is configured before the apps are ready, so it cannot be fetched earlier)."""

    def __init__(
        self, level: int | str = logging.NOTSET, tags: dict[str, str] | None = None
    ) -> None:
        if isinstance(level, str):
            level = logging.getLevelName(level.upper())
            if not isinstance(level, int):
                raise ValueError(f"SentryHandler: unknown level {level!r}")
        logging.Handler.__init__(self, level)
        self.tags = tags

    @property
    def client(self) -> DjangoClient:  # type: ignore[override]
        """The configured client, looked up at each record."""
        return get_client()
