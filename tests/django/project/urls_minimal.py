from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path


def boom(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    raise ValueError("boom without auth")


urlpatterns = [path("boom/", boom, name="boom")]
