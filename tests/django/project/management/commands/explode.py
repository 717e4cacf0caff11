from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Fails, for the test of errors in management commands."

    def handle(self, *args: Any, **options: Any) -> None:
        raise OSError("management command exploded")
