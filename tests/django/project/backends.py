from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connection


class BrokenBackend(ModelBackend):
    """Loading a user fails with a real database error."""

    def get_user(self, user_id: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM table_that_does_not_exist")
        return None
