"""Views that fail in the ways the tests need."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

import raven.breadcrumbs
from asgiref.sync import sync_to_async
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from raven_django import get_client

from .models import Note

logger = logging.getLogger(__name__)

# Set by the concurrency tests: every request waits here until all of them are inside a view.
GATE: threading.Barrier | None = None
ASYNC_GATE: asyncio.Barrier | None = None


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def boom(request: HttpRequest) -> HttpResponse:
    raise ValueError("boom")


def query_then_boom(request: HttpRequest) -> HttpResponse:
    list(Note.objects.filter(title="needle"))
    with connections["other"].cursor() as cursor:
        cursor.execute("SELECT %s + %s", [20, 22])
    raise RuntimeError("after queries")


def lazy_locals_boom(request: HttpRequest) -> HttpResponse:
    from django.utils.functional import SimpleLazyObject
    from django.utils.translation import gettext_lazy

    notes = Note.objects.filter(title="needle")  # never evaluated by the view
    heading = gettext_lazy("Your notes")
    owner = SimpleLazyObject(lambda: Note.objects.first())
    nested = {"pages": [Note.objects.all()]}
    raise RuntimeError("lazy locals")


def raw_sql_boom(request: HttpRequest) -> HttpResponse:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
    raise RuntimeError("after raw sql")


class Exploding:
    @property
    def value(self) -> str:
        raise ZeroDivisionError("template variable exploded")


def template_boom(request: HttpRequest) -> HttpResponse:
    return render(request, "project/broken.html", {"thing": Exploding()})


def template_syntax_boom(request: HttpRequest) -> HttpResponse:
    return render(request, "project/syntax.html")


def public_dsn(request: HttpRequest) -> HttpResponse:
    return render(request, "project/dsn.html")


async def async_boom(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0)
    raise KeyError("async boom")


def whoami_boom(request: HttpRequest) -> HttpResponse:
    """Tags, breadcrumbs and the error message name the user; waits at GATE when set."""
    name = request.user.get_username()
    get_client().tags_context({"who": name})
    raven.breadcrumbs.record(message=f"crumb of {name}", category="test")
    if GATE is not None:
        GATE.wait()
    raise ValueError(f"boom for {name}")


async def _load_user(request: HttpRequest) -> Any:
    if hasattr(request, "auser"):  # Django 5
        return await request.auser()

    def load() -> Any:
        request.user.get_username()  # evaluates the lazy user
        return request.user

    return await sync_to_async(load)()


async def async_whoami_boom(request: HttpRequest) -> HttpResponse:
    user = await _load_user(request)
    name = user.get_username()
    get_client().tags_context({"who": name})
    raven.breadcrumbs.record(message=f"crumb of {name}", category="test")
    if ASYNC_GATE is not None:
        await ASYNC_GATE.wait()
    raise ValueError(f"boom for {name}")


def set_context(request: HttpRequest) -> HttpResponse:
    """Succeeds after putting data in the context: the next request must not see it."""
    get_client().tags_context({"leaky": "yes"})
    get_client().user_context({"id": "leaky-user"})
    raven.breadcrumbs.record(message="leaky crumb", category="test")
    return HttpResponse("ok")


def consume_body_boom(request: HttpRequest) -> HttpResponse:
    request.read()
    raise ValueError("after reading the body")


def post_boom(request: HttpRequest) -> HttpResponse:
    raise ValueError(f"post with {len(request.POST)} fields")


def log_error(request: HttpRequest) -> HttpResponse:
    logger.error("could not frobnicate %s", "widget", extra={"widget_id": 7})
    return HttpResponse("logged")


def stream_boom(request: HttpRequest) -> StreamingHttpResponse:
    def chunks() -> Iterator[bytes]:
        yield b"first chunk\n"
        raise RuntimeError("stream exploded")

    return StreamingHttpResponse(chunks())


async def async_capture(request: HttpRequest) -> HttpResponse:
    """Captures a message straight from async code (optionally after loading the user itself)."""
    if "auser" in request.GET:
        await _load_user(request)
    event_id = get_client().captureMessage("captured in async code", request=request)
    return HttpResponse(event_id or "")


def log_capture_boom(request: HttpRequest) -> HttpResponse:
    """Logs an error, captures a message, then fails: three events of one request."""
    logger.error("could not frobnicate %s", "widget")
    get_client().captureMessage("captured in the view")
    raise ValueError("after logging and capturing")


async def async_log_capture_boom(request: HttpRequest) -> HttpResponse:
    """The same from an async view (which loads the user itself: Raven never queries from async code)."""
    await _load_user(request)
    logger.error("could not frobnicate %s", "widget")
    get_client().captureMessage("captured in the view")
    raise ValueError("after logging and capturing")


def log_then_boom(request: HttpRequest) -> HttpResponse:
    logger.info("loading widget %s", 7)
    raise ValueError("after logging")


def atomic_capture(request: HttpRequest) -> HttpResponse:
    """Captures inside the application's transaction, which must stay usable afterwards."""
    with transaction.atomic():
        Note.objects.create(title="before")
        event_id = get_client().captureMessage("inside atomic", request=request)
        Note.objects.create(title="after")
    return HttpResponse(f"{Note.objects.count()} {event_id}")


def handled(request: HttpRequest) -> HttpResponse:
    """Captures a handled error and answers 200 (for release health: an errored request)."""
    try:
        raise KeyError("sku-17")
    except KeyError:
        get_client().captureException()
    return HttpResponse("recovered")
