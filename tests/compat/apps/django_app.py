"""A Django project written for raven-python 6.10, unchanged: ``raven.contrib.django.raven_compat``
in INSTALLED_APPS, ``SENTRY_CONFIG`` and ``SENTRY_<OPTION>`` settings, raven-python's middleware,
logging handler, ``models.client`` proxy and ``SentryDjangoHandler``.

Run as ``python -m tests.compat.apps.django_app DSN``: it makes requests with Django's test
client and prints one JSON line of what it observed; the events go to DSN.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

import django


def boom(request: HttpRequest) -> HttpResponse:
    raise ValueError("boom from a raven-python era view")


def logs(request: HttpRequest) -> HttpResponse:
    logging.getLogger("shop").error("payment declined", extra={"data": {"order": 7}})
    return HttpResponse("logged")


urlpatterns = [path("boom/", boom), path("logs/", logs)]


class PlainClient(__import__("raven").Client):
    """Not a DjangoClient: raven-python's get_client(path) took any client class."""


def main(dsn: str, disabled: bool = False) -> dict[str, Any]:
    settings.configure(
        DISABLE_SENTRY_INSTRUMENTATION=disabled,
        SECRET_KEY="x",
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["raven.contrib.django.raven_compat"],
        MIDDLEWARE=[
            "raven.contrib.django.raven_compat.middleware.SentryResponseErrorIdMiddleware",
            "raven.contrib.django.middleware.SentryMiddleware",  # a no-op now
            "raven.contrib.django.middleware.Sentry404CatchMiddleware",
        ],
        SENTRY_CONFIG={"dsn": dsn, "install_sys_hook": False, "repos": {}},
        SENTRY_RELEASE="shop@6.10",
        SENTRY_TRANSPORT="raven.transport.http.HTTPTransport",
        SENTRY_TAGS={"stack": "legacy"},
        LOGGING={
            "version": 1,
            "handlers": {
                "sentry": {
                    "level": "ERROR",
                    "class": "raven.contrib.django.raven_compat.handlers.SentryHandler",
                }
            },
            "loggers": {"shop": {"handlers": ["sentry"], "level": "ERROR", "propagate": False}},
        },
    )
    seen: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        django.setup()
        if disabled:  # DISABLE_SENTRY_INSTRUMENTATION: no receivers, so nothing reported
            from django.test import Client

            seen["boom_status"] = Client(raise_request_exception=False).get("/boom/").status_code
            return seen
        from django.test import Client as WebClient
        from raven.contrib.django.raven_compat.models import SentryDjangoHandler, client, get_client
        from raven_django import DjangoClient

        web = WebClient(raise_request_exception=False)
        boom_response = web.get("/boom/")
        seen["boom_status"] = boom_response.status_code
        seen["boom_id"] = boom_response.get("X-Sentry-ID")
        missing = web.get("/missing/")
        seen["missing_id"] = missing.get("X-Sentry-ID")
        web.get("/logs/")
        real = get_client()
        seen["proxy_equal"] = client == real and hash(client) == hash(real)
        seen["proxy_isinstance"] = isinstance(client, DjangoClient)
        seen["transport"] = type(real.remote.get_transport()).__name__
        client.captureMessage("through the proxy")
        handler = SentryDjangoHandler()
        handler.uninstall()
        web.get("/boom/")  # not reported: the receivers are disconnected
        handler.install()
        handler.install()  # idempotent
        seen["celery_installed"] = handler.celery_handler.installed  # by install_celery()
        web.get("/boom/")
        handler.celery_handler.uninstall()
        plain = get_client(f"{__name__}.PlainClient")
        seen["plain_client"] = type(plain).__name__
        real.flush(10)
        plain.close()
    seen["warned"] = sorted(
        {str(w.message).split(" is ")[0] for w in caught if w.category is DeprecationWarning}
    )
    return seen


if __name__ == "__main__":
    sys.modules.setdefault("tests.compat.apps.django_app", sys.modules["__main__"])
    print(json.dumps(main(sys.argv[1], disabled="--disabled" in sys.argv)))
