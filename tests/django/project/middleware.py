from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.utils.decorators import sync_and_async_middleware


@sync_and_async_middleware
def explode_on_header(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    """A project middleware (sync and async) that fails when the request carries ``X-Explode``."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> Any:
            if "x-explode" in request.headers:
                raise LookupError("middleware exploded")
            return await get_response(request)

        return async_middleware

    def middleware(request: HttpRequest) -> Any:
        if "x-explode" in request.headers:
            raise LookupError("middleware exploded")
        return get_response(request)

    return middleware
