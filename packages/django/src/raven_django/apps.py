"""The Django app: ``INSTALLED_APPS += ["raven_django"]``."""

from __future__ import annotations

import logging

from django.apps import AppConfig

__all__ = ["RavenConfig"]

logger = logging.getLogger("raven.django")


class RavenConfig(AppConfig):
    """Builds the client from the settings and connects Raven's receivers.

    Building it here (not on first error) installs the client's process-wide hooks early, so an
    error in a management command reaches Sentry too. A configuration error does not stop Django
    from starting: it is logged, and ``manage.py check`` reports it in full.
    """

    name = "raven_django"
    label = "raven_django"
    verbose_name = "Raven (Sentry)"

    def ready(self) -> None:
        """Register the system checks, connect the receivers and build the client."""
        from . import checks, compat, conf, signals

        checks.register_checks()
        if compat.instrumentation_enabled():  # raven-python's DISABLE_SENTRY_INSTRUMENTATION
            signals.install()
        conf.client_or_none()
