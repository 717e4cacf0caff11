"""Views of the profiling tests: one that spends its time in a known function, one that reports
which threads exist while it runs."""

from __future__ import annotations

import threading
import time

from django.http import HttpRequest, HttpResponse
from django.urls import path


def hot_loop(samples: int) -> int:
    """Busy on the CPU until the request's profile holds ``samples`` samples (10 s at most);
    without a profile, returns at once."""
    from raven_django import get_client

    span = get_client().current_span()
    profile = getattr(span.transaction, "profile", None) if span is not None else None
    spins = 0
    deadline = time.monotonic() + 10
    while profile is not None and len(profile.ticks) < samples and time.monotonic() < deadline:
        spins += 1
    return spins


def report(request: HttpRequest) -> HttpResponse:
    hot_loop(int(request.GET.get("samples", "30")))
    return HttpResponse(",".join(sorted(t.name for t in threading.enumerate())))


urlpatterns = [path("report/", report)]
