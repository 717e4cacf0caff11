"""``INSTALLED_APPS = [..., "raven.contrib.django"]`` (raven-python's entry): raven-django's app."""

from __future__ import annotations

from ._apps import LegacyRavenConfig

__all__ = ["RavenConfig"]


class RavenConfig(LegacyRavenConfig):
    """raven-django's app under raven-python's name (``raven_django`` is the new entry)."""

    default = True
    name = "raven.contrib.django"
    label = "raven_contrib_django"
