"""Raven for Tornado: ``SentryMixin`` for request handlers, ``AsyncSentryClient`` for the IOLoop."""

from __future__ import annotations

from .__about__ import __version__
from .client import AsyncSentryClient
from .mixin import SentryMixin

__all__ = ["AsyncSentryClient", "SentryMixin", "__version__"]
