"""raven-python's ``raven.contrib.django.raven_compat.middleware.wsgi``: the names of ``raven.contrib.django.middleware.wsgi``."""

from __future__ import annotations

from raven._deprecated import moved_names
from raven.contrib.django.middleware.wsgi import _MOVED

__all__ = sorted(_MOVED)

__getattr__, __dir__ = moved_names(__name__, _MOVED, install="raven-django")
