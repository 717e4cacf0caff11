"""Views and URL patterns of the tracing tests: SQL, templates and cache under every kind of
pattern (``path()``, regular expressions, ``include()``), sync, async and class-based."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path, re_path
from django.views import View

from .models import Note


def poll(request: HttpRequest, question_id: int) -> HttpResponse:
    """Two queries, two cache calls, then a template that includes another and runs a query."""
    Note.objects.filter(title__startswith="poll").count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s + %s", [question_id, 1])
    if cache.get(f"poll:{question_id}") is None:
        cache.set(f"poll:{question_id}", "cached")
    notes = Note.objects.order_by("id")  # evaluated by the template
    return render(
        request, "project/tracing/page.html", {"question_id": question_id, "notes": notes}
    )


def archive(request: HttpRequest, year: str) -> HttpResponse:
    # With a named group present, Django passes only the named ones.
    return HttpResponse(year)


def note(request: HttpRequest, slug: str) -> HttpResponse:
    return HttpResponse(slug)


def fail(request: HttpRequest) -> HttpResponse:
    Note.objects.count()
    raise LookupError("no such note")


async def async_poll(request: HttpRequest, question_id: int) -> HttpResponse:
    count = await Note.objects.acount()
    await cache.aset("async-poll", count)
    return HttpResponse(str(count), status=201)


def telemetry(request: HttpRequest) -> HttpResponse:
    """A structured log (through logging) and a metric, inside the request."""
    from raven_django import get_client

    logger = logging.getLogger("shop.orders")
    logger.setLevel(logging.INFO)  # the root logger's WARNING would filter the record out
    logger.info("order %s paid", 7)
    get_client().metrics.count("orders.paid", 1)
    return HttpResponse("ok")


class NoteView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        raise KeyError("class-based")


urlpatterns = [
    path("polls/<int:question_id>/", poll),
    re_path(r"^archive/(?P<year>[0-9]{4})/(\d+)/$", archive),
    re_path(r"^api/", include([path("notes/<slug:slug>/", note)])),
    path("fail/", fail),
    path("async/<int:question_id>/", async_poll),
    path("class/", NoteView.as_view()),
    path("telemetry/", telemetry),
]
