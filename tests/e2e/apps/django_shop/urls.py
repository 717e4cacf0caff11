"""Views of the Django shop: one that fails after a query and a log line, one that works, and a
checkout that queries and asks the stock service (``E2E_STOCK_URL``) over HTTP."""

from __future__ import annotations

import logging
import os

import requests
from django.contrib.auth.middleware import RemoteUserMiddleware
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.urls import path

logger = logging.getLogger("django_shop")


class HeaderUserMiddleware(RemoteUserMiddleware):
    """Authenticates the user named in the ``X-Remote-User`` header (created on first sight)."""

    header = "HTTP_X_REMOTE_USER"


def order(request: HttpRequest, order_id: int) -> HttpResponse:
    shoppers = User.objects.filter(username__startswith="shop").count()
    logger.warning("order %s looked up by %s", order_id, request.user.get_username())
    raise LookupError(f"order {order_id} not found ({shoppers} shoppers)")


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def checkout(request: HttpRequest, order_id: int) -> HttpResponse:
    shoppers = User.objects.filter(username__startswith="shop").count()
    stock = requests.get(f"{os.environ['E2E_STOCK_URL']}/stock/{order_id}", timeout=10)
    return HttpResponse(f"{shoppers} shoppers, stock {stock.text}")


urlpatterns = [
    path("orders/<int:order_id>/", order, name="order"),
    path("ok/", ok, name="ok"),
    path("checkout/<int:order_id>/", checkout, name="checkout"),
]
