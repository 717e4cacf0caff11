"""raven-devserver: ``raven serve``, a local Sentry-compatible server with a web page of issues.

A development tool: it stores what SDKs send in one SQLite file and shows it grouped into issues.
"""

from __future__ import annotations

from .__about__ import __version__
from .app import DevServer, Settings, create_app
from .cli import main
from .writer import Retention

__all__ = ["DevServer", "Retention", "Settings", "__version__", "create_app", "main"]
