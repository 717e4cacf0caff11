"""An application written against raven-python 6.10's public API, unchanged: it imports every
compatibility name once (each import warns) and captures through each, tagging every event with
the name it went through (``via``). :func:`run` returns the names it captured through."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Any

import logbook

import flask

# Every compatibility name, imported once, the way raven-python's code imported them.
with warnings.catch_warnings(record=True) as IMPORT_WARNINGS:
    warnings.simplefilter("always")
    from raven.base import Client, DummyClient
    from raven.conf import setup_logging
    from raven.conf.remote import RemoteConfig
    from raven.contrib.awslambda import LambdaClient
    from raven.contrib.celery import register_logger_signal, register_signal
    from raven.contrib.flask import Sentry as FlaskSentry
    from raven.contrib.sanic import Sentry as SanicSentry
    from raven.contrib.tornado import AsyncSentryClient
    from raven.events import Exception as ExceptionEvent
    from raven.events import Message, Query
    from raven.handlers.logbook import SentryHandler as LogbookHandler
    from raven.handlers.logging import SentryHandler
    from raven.processors import SanitizePasswordsProcessor
    from raven.transport.base import AsyncTransport
    from raven.transport.exceptions import InvalidScheme
    from raven.transport.http import HTTPTransport
    from raven.transport.requests import RequestsHTTPTransport
    from raven.transport.threaded import ThreadedHTTPTransport
    from raven.utils import get_auth_header, varmap
    from raven.utils.encoding import to_unicode
    from raven.utils.json import dumps
    from raven.utils.serializer import transform
    from raven.utils.stacks import get_stack_info, iter_stack_frames, iter_traceback_frames
    from raven.utils.urlparse import urlparse
    from raven.utils.wsgi import get_current_url, get_headers

OPTIONS: dict[str, Any] = {"install_sys_hook": False, "context": {"app": "legacy"}}


class OrderKeys(SanitizePasswordsProcessor):
    KEYS = SanitizePasswordsProcessor.KEYS | frozenset(["order_ref"])


class LoggedAsyncTransport(AsyncTransport):
    """A raven-python asynchronous transport (sends at once, reports to the callbacks)."""

    def __init__(self, **options: Any) -> None:
        self.http = HTTPTransport(**options)

    def async_send(
        self, url: str, data: bytes, headers: dict[str, str], success_cb: Any, failure_cb: Any
    ) -> None:
        try:
            self.http.send(url, data, headers)
        except Exception as exc:
            failure_cb(exc)
        else:
            success_cb()


def run(dsn: str) -> set[str]:
    """Capture through every compatibility name; the ``via`` tags sent."""
    sync_dsn = "sync+" + dsn
    remote = RemoteConfig.from_string(sync_dsn)
    assert remote.is_active() and remote.project == dsn.rsplit("/", 1)[-1]
    assert get_auth_header(7, 0, "raven", remote.public_key or "").startswith("Sentry ")
    assert varmap(lambda k, v: v, {"a": [1]}) == {"a": [1]}
    assert to_unicode(b"x") == "x" and dumps({"a": 1}) == '{"a":1}'
    assert transform("x" * 500, string_max_length=10).startswith("x")
    assert urlparse(dsn).scheme == "http" and issubclass(InvalidScheme, ValueError)
    assert dict(get_headers({"HTTP_HOST": "h"})) == {"Host": "h"}
    assert get_current_url({"wsgi.url_scheme": "http", "HTTP_HOST": "h:80"}) == "http://h/"
    sent: set[str] = set()
    clients: list[Any] = []

    def client_for(via: str, cls: Any = Client, dsn: str = sync_dsn, **options: Any) -> Any:
        client = cls(dsn, **{**OPTIONS, **options})
        client.tags = {"via": via}  # raven-python's assignable attribute
        clients.append(client)
        return client

    # raven.base.Client, processors, capture(data=...) with an interface name, utils.stacks
    client = client_for("raven.base.Client", processors=[f"{__name__}.OrderKeys"])
    try:
        raise ValueError("legacy")
    except ValueError:
        tb = sys.exc_info()[2]
        assert get_stack_info(iter_traceback_frames(tb))["frames"]
        client.captureException(extra={"order_ref": "A-1"})
    client.capture(
        "raven.events.Message",
        message="interfaces",
        data={"sentry.interfaces.User": {"id": "1"}},
        stack=list(iter_stack_frames()),
    )
    sent.add("raven.base.Client")
    # raven.events classes build event data from a client
    data = Message(client).capture(message="from an event class")
    assert data["logentry"]["formatted"] == "from an event class"
    assert Query(client).capture(query="SELECT 1", engine="sqlite")["logger"] == "db"
    try:
        raise KeyError("k")
    except KeyError:
        assert ExceptionEvent(client).capture()["exception"]["values"]
    DummyClient(sync_dsn, **OPTIONS).captureMessage("never sent")
    # transports
    for via, transport in (
        ("raven.transport.http.HTTPTransport", HTTPTransport),
        ("raven.transport.requests.RequestsHTTPTransport", RequestsHTTPTransport),
        ("raven.transport.threaded.ThreadedHTTPTransport", ThreadedHTTPTransport),
        ("raven.transport.base.AsyncTransport", LoggedAsyncTransport),
    ):
        client_for(via, dsn=dsn, transport=transport).captureMessage(via)
        sent.add(via)
    # logging and logbook handlers, setup_logging
    handler = SentryHandler(client_for("raven.handlers.logging.SentryHandler"))
    root = logging.getLogger()
    assert setup_logging(handler, exclude=())
    try:
        logging.getLogger("legacy.app").error("logged", extra={"data": {"order": 1}})
    finally:
        root.removeHandler(handler)
    sent.add("raven.handlers.logging.SentryHandler")
    with LogbookHandler(client_for("raven.handlers.logbook.SentryHandler")).applicationbound():
        logbook.Logger("legacy.logbook").error("logbook {0}", "line")
    sent.add("raven.handlers.logbook.SentryHandler")
    # framework clients and extensions
    client_for("raven.contrib.awslambda.LambdaClient", LambdaClient).captureMessage("lambda")
    sent.add("raven.contrib.awslambda.LambdaClient")
    tornado_client = client_for("raven.contrib.tornado.AsyncSentryClient", AsyncSentryClient)
    tornado_client.captureMessage("tornado")
    sent.add("raven.contrib.tornado.AsyncSentryClient")
    SanicSentry(client=client_for("raven.contrib.sanic.Sentry")).captureMessage("sanic")
    sent.add("raven.contrib.sanic.Sentry")
    celery_client = client_for("raven.contrib.celery")
    register_signal(celery_client)
    register_logger_signal(celery_client)
    celery_client.captureMessage("celery")
    sent.add("raven.contrib.celery")
    app = flask.Flask(__name__)
    app.config["SENTRY_CONFIG"] = {
        **OPTIONS,
        "dsn": sync_dsn,
        "tags": {"via": "raven.contrib.flask.Sentry"},
    }
    flask_sentry = FlaskSentry(app)
    with app.test_request_context("/"):
        flask_sentry.captureMessage("flask")
    flask_sentry.uninit_app(app)
    sent.add("raven.contrib.flask.Sentry")
    for each in clients:
        each.flush(10)
        each.close()
    return sent
