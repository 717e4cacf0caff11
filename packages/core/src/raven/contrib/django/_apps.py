"""The Django app behind raven-python's ``INSTALLED_APPS`` entries (``raven.contrib.django`` and
``raven.contrib.django.raven_compat``): raven-django's app under the old name."""

from __future__ import annotations

try:
    from raven_django import apps as _apps
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise ImportError(
        f"raven.contrib.django needs the raven-django package: pip install raven-django ({exc})",
        name=exc.name,
    ) from exc

from raven._deprecated import warn_moved

__all__ = ["LegacyRavenConfig"]


class LegacyRavenConfig(_apps.RavenConfig):
    """raven-django's app, installed under raven-python's name; says once that it moved."""

    default = False  # the apps modules below name their own subclass

    def ready(self) -> None:
        """Warn that the entry is deprecated, then do what ``raven_django`` does."""
        warn_moved(f"INSTALLED_APPS entry {self.name!r}", '"raven_django"', stacklevel=2)
        super().ready()
