"""Views of the feature-flag and attachment tests: each evaluates a flag and adds an attachment
named after itself, may wait for a second request, and may fail."""

from __future__ import annotations

import threading

from django.http import HttpRequest, HttpResponse
from django.urls import path

# Set by a test that runs two requests at once: both wait here before failing.
BARRIER: list[threading.Barrier] = []


def work(request: HttpRequest, name: str) -> HttpResponse:
    from raven_django import get_client

    client = get_client()
    client.add_feature_flag(f"flag-{name}", True)
    client.add_attachment(f"log of {name}".encode(), filename=f"{name}.log")
    if request.GET.get("together"):
        BARRIER[0].wait(timeout=10)
    if request.GET.get("fail"):
        raise RuntimeError(name)
    return HttpResponse("ok")


urlpatterns = [path("work/<str:name>/", work)]
