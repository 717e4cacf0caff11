"""Raven for Django: add ``"raven_django"`` to ``INSTALLED_APPS`` and set ``RAVEN_CONFIG``.

Importing this package changes nothing; the app's ``ready()`` does the wiring.
"""

from __future__ import annotations

from .__about__ import __version__
from .client import DjangoClient
from .conf import get_client

__all__ = ["DjangoClient", "__version__", "get_client"]
