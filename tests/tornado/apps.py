"""Request handlers the tests serve; each one shows one way a Tornado app meets an error."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import Any

import raven
import tornado.web
from raven_tornado import SentryMixin
from tornado.web import HTTPError, RequestHandler


class BoomHandler(SentryMixin, RequestHandler):
    async def get(self) -> None:
        note = "local-value"  # noqa: F841  (a frame variable the event carries)
        raise ValueError("boom")

    def post(self) -> None:
        raise ValueError("posted boom")


class HTTPErrorHandler(SentryMixin, RequestHandler):
    def get(self, code: str) -> None:
        raise HTTPError(int(code), "raised on purpose with %s", code)


class CustomErrorPageHandler(SentryMixin, RequestHandler):
    """Renders its own JSON error page."""

    def get(self) -> None:
        raise KeyError("missing")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": status_code, "custom": True}))


class QuietLogHandler(SentryMixin, RequestHandler):
    """Overrides log_exception without calling super(): the send_error path still reports."""

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        self.application.settings["logged"].append(type(value).__name__)

    def get(self) -> None:
        raise LookupError("quiet")


class ManualSendErrorHandler(SentryMixin, RequestHandler):
    """Catches its own exception and answers 500 with send_error()."""

    def get(self) -> None:
        try:
            {}["absent"]
        except KeyError:
            self.send_error(500)


class AfterFinishHandler(SentryMixin, RequestHandler):
    def get(self) -> None:
        self.finish("done")
        raise RuntimeError("after finish")


class CaptureHandler(SentryMixin, RequestHandler):
    """Reports on its own and answers 200 with the event id."""

    def get(self, kind: str) -> None:
        if kind == "message":
            event_id = self.captureMessage("hello from %s", params=("tornado",), level="warning")
        else:
            try:
                raise OSError("caught")
            except OSError:
                event_id = self.captureException(True if kind == "true" else None)
        self.write({"event_id": event_id})


class ReportedThenRaisedHandler(SentryMixin, RequestHandler):
    """Reports an exception itself, then lets it escape: one event, not two."""

    def get(self) -> None:
        try:
            raise TimeoutError("twice?")
        except TimeoutError:
            self.captureException()
            raise


class UserHandler(SentryMixin, RequestHandler):
    def get_current_user(self) -> Any:
        return {"id": 42, "username": "ada", "email": "ada@example.com", "password": "hunter2"}

    def get(self) -> None:
        raise ValueError("with user")


class StringUserHandler(SentryMixin, RequestHandler):
    def get_current_user(self) -> Any:
        return self.get_cookie("who")

    def get(self) -> None:
        raise ValueError("with string user")


class CustomDataHandler(SentryMixin, RequestHandler):
    """Overrides the three data hooks."""

    def get_sentry_user_info(self) -> dict[str, Any]:
        return {"user": {"id": "custom-user"}}

    def get_sentry_extra_info(self) -> dict[str, Any]:
        return {"extra": {"shard": "eu-1"}}

    def get_sentry_data_from_request(self) -> dict[str, Any]:
        data = super().get_sentry_data_from_request()
        data["request"]["headers"] = {"X-Only": "this"}
        return data

    def get(self) -> None:
        raise ValueError("custom data")


class DefaultContextHandler(SentryMixin, RequestHandler):
    """Overrides get_default_context itself: what it returns is what is attached."""

    def get_default_context(self) -> dict[str, Any]:
        data = super().get_default_context()
        data["user"] = {"id": "from-default-context"}
        data["extra"] = {"via": "get_default_context"}
        return data

    def get(self) -> None:
        raise ValueError("default context")


class SkippedPrepareHandler(SentryMixin, RequestHandler):
    """A prepare() that does not call super(): the mixin's own reports still carry the request."""

    def prepare(self) -> None:
        pass

    def get(self) -> None:
        raise ValueError("no super().prepare()")


class BrokenUserHandler(SentryMixin, RequestHandler):
    """A data hook that fails: the app's own answer must not change."""

    def get_sentry_extra_info(self) -> dict[str, Any]:
        raise RuntimeError("bug in the app's hook")

    def get(self) -> None:
        raise ValueError("original")


class ContextHandler(SentryMixin, RequestHandler):
    """Sets context and either answers or raises, as the query string says."""

    def get(self) -> None:
        client = self.application.sentry_client
        tag = self.get_query_argument("tag", None)
        if tag:
            client.tags_context({"set_by": tag})
            client.user_context({"id": tag})
            raven.breadcrumbs.record(message=f"crumb {tag}", category="ctx")
        if self.get_query_argument("raise", None):
            raise RuntimeError(f"raised after tag={tag}")
        self.write("ok")


class LogsAndCapturesHandler(SentryMixin, RequestHandler):
    """Logs an error, reports a message through the client itself, then fails."""

    def get_current_user(self) -> Any:
        return {"id": 7, "username": "grace", "email": "grace@example.com"}

    async def get(self) -> None:
        await asyncio.sleep(0)
        logging.getLogger("tests.tornado.view").error("stock check failed for %s", "order-9")
        self.application.sentry_client.captureMessage("manual capture in the view")
        raise RuntimeError("unhandled after logging")


class NoClientHandler(SentryMixin, RequestHandler):
    def get(self) -> None:
        raise ValueError("nobody listens")


class OwnPrepareHandler(SentryMixin, RequestHandler):
    """An async prepare() that calls super() and sets the user the documented Tornado way."""

    async def prepare(self) -> None:
        await super().prepare()  # type: ignore[misc]
        await asyncio.sleep(0)
        self.current_user = {"id": "from-prepare"}

    def get(self) -> None:
        raise ValueError("after prepare")


class Barrier:
    """Lets ``total`` requests through only once all of them are in flight at the same time."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.arrived = 0
        self.most_in_flight = 0
        self.in_flight = 0
        self.all_in = asyncio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.arrived == self.total:
            self.all_in.set()
        await self.all_in.wait()

    def leave(self) -> None:
        self.in_flight -= 1


class IsolatedHandler(SentryMixin, RequestHandler):
    """Sets a user, a tag and a breadcrumb of its own, waits for every other request, raises."""

    async def get(self, n: str) -> None:
        client = self.application.sentry_client
        client.user_context({"id": f"user-{n}", "username": f"name-{n}"})
        client.tags_context({"request_n": n})
        client.extra_context({"n": n})
        raven.breadcrumbs.record(message=f"crumb-{n}", category="isolation", data={"n": n})
        barrier: Barrier = self.application.settings["barrier"]
        try:
            await barrier.wait()
            await asyncio.sleep(random.random() * 0.02)
            client.tags_context({"after_sleep": n})
        finally:
            barrier.leave()
        raise RuntimeError(f"request {n} failed")


class TracedIsolatedHandler(SentryMixin, RequestHandler):
    """Opens spans named after its own number around awaits while every other request is in
    flight; odd numbers then fail."""

    async def get(self, n: str) -> None:
        client = self.application.sentry_client
        barrier: Barrier = self.application.settings["barrier"]
        with client.start_span(op="step", description=f"outer-{n}") as outer:
            outer.set_data("n", n)
            try:
                await barrier.wait()
                await asyncio.sleep(random.random() * 0.02)
                with client.start_span(op="step", description=f"inner-{n}"):
                    await asyncio.sleep(random.random() * 0.01)
            finally:
                barrier.leave()
        with client.start_span(op="step", description=f"after-{n}"):
            await asyncio.sleep(0)
        if int(n) % 2:
            raise RuntimeError(f"request {n} failed")
        self.write(n)


def make_app(client: Any = None, **settings: Any) -> tornado.web.Application:
    app = tornado.web.Application(
        [
            (r"/boom", BoomHandler),
            (r"/http/(\d+)", HTTPErrorHandler),
            (r"/custom-page", CustomErrorPageHandler),
            (r"/quiet", QuietLogHandler),
            (r"/manual", ManualSendErrorHandler),
            (r"/after-finish", AfterFinishHandler),
            (r"/capture/(\w+)", CaptureHandler),
            (r"/reported", ReportedThenRaisedHandler),
            (r"/user", UserHandler),
            (r"/string-user", StringUserHandler),
            (r"/custom-data", CustomDataHandler),
            (r"/broken-hook", BrokenUserHandler),
            (r"/default-context", DefaultContextHandler),
            (r"/skipped-prepare", SkippedPrepareHandler),
            (r"/context", ContextHandler),
            (r"/no-client", NoClientHandler),
            (r"/logs-and-captures", LogsAndCapturesHandler),
            (r"/own-prepare", OwnPrepareHandler),
            (r"/isolated/(\d+)", IsolatedHandler),
            (r"/traced/(\d+)", TracedIsolatedHandler),
        ],
        logged=[],
        **settings,
    )
    if client is not None:
        app.sentry_client = client  # type: ignore[attr-defined]
    return app


def exception_of(event: dict[str, Any]) -> dict[str, Any]:
    """The captured exception (the last of the chain)."""
    value: dict[str, Any] = event["exception"]["values"][-1]
    return value
