"""``{% load raven %}`` for apps that install ``raven.contrib.django.raven_compat``."""

from __future__ import annotations

from raven_django.templatetags.raven import register, sentry_public_dsn

__all__ = ["register", "sentry_public_dsn"]
