"""``INSTALLED_APPS = [..., "raven.contrib.django.raven_compat"]`` (raven-python's entry):
raven-django's app under that name."""

from __future__ import annotations

from .._apps import LegacyRavenConfig

__all__ = ["RavenCompatConfig"]


class RavenCompatConfig(LegacyRavenConfig):
    """raven-django's app under raven-python's name (``raven_django`` is the new entry)."""

    default = True
    name = "raven.contrib.django.raven_compat"
    label = "raven_compat"
