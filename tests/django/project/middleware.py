from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


def explode_on_header(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """A project middleware that fails when the request carries ``X-Explode``."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if "x-explode" in request.headers:
            raise LookupError("middleware exploded")
        return get_response(request)

    return middleware
