"""Raven for Sanic: report a Sanic app's unhandled errors to a Sentry-compatible server."""

from __future__ import annotations

from .__about__ import __version__
from .extension import Sentry

__all__ = ["Sentry", "__version__"]
