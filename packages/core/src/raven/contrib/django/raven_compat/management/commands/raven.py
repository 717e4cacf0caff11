"""``manage.py raven test`` for apps that install ``raven.contrib.django.raven_compat``."""

from __future__ import annotations

from raven_django.management.commands.raven import Command

__all__ = ["Command"]
