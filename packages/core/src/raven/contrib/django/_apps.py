"""The Django app behind raven-python's ``INSTALLED_APPS`` entries (``raven.contrib.django`` and
``raven.contrib.django.raven_compat``): raven-django's app under the old name."""

from __future__ import annotations

from typing import Any

from raven._deprecated import import_for, warn_moved

_RavenConfig: Any = import_for(
    "raven_django.apps", "raven.contrib.django", "raven-django"
).RavenConfig

__all__ = ["LegacyRavenConfig"]


class LegacyRavenConfig(_RavenConfig):  # type: ignore[misc]
    """raven-django's app, installed under raven-python's name; says once that it moved."""

    default = False  # the apps modules below name their own subclass

    def ready(self) -> None:
        """Warn that the entry is deprecated, then do what ``raven_django`` does."""
        warn_moved(f"INSTALLED_APPS entry {self.name!r}", '"raven_django"', stacklevel=2)
        super().ready()
