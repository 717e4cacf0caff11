"""Raven for Flask: ``Sentry(app)`` reports unhandled exceptions with their request and user."""

from __future__ import annotations

from .__about__ import __version__
from .extension import Sentry

__all__ = ["Sentry", "__version__"]
