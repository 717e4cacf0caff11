"""A small Flask app (made by a factory) with the views the tests drive, plus the test helpers
that start it on a real WSGI server and collect what reached the receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_login import LoginManager, UserMixin, current_user
from raven_flask import Sentry
from werkzeug.serving import make_server

from flask import Blueprint, Flask, Response, abort, g, jsonify, request
from tests.receiver import Receiver
from tests.relay import validate_event

__all__ = ["User", "create_app", "serve", "settle"]


class User(UserMixin):
    """A Flask-Login user; ``id`` is what the ``X-User`` request header said."""

    def __init__(self, user_id: str) -> None:
        self.id = user_id
        self.username = f"user-{user_id}"
        self.email = f"user-{user_id}@example.com"
        self.plan = "gold"


def create_app(config: dict[str, Any] | None = None, login: bool = True) -> Flask:
    """The app under test; ``login`` adds a Flask-Login manager reading the ``X-User`` header."""
    app = Flask(__name__)
    app.config.update(config or {})
    app.extensions["test.barrier"] = None

    if login:
        manager = LoginManager(app)

        @manager.request_loader
        def load_user(req: Any) -> User | None:
            user_id = req.headers.get("X-User")
            if user_id == "broken":
                raise LookupError("the user store is down")
            return User(user_id) if user_id else None

    @app.route("/")
    def index() -> str:
        return "ok"

    @app.route("/boom", methods=["GET", "POST"])
    def boom() -> str:
        request.get_data()  # a view that reads its body before failing
        raise ValueError("boom")

    @app.route("/lazy-body", methods=["POST"])
    def lazy_body() -> str:
        raise ValueError("failed before reading the body")

    @app.route("/json", methods=["POST"])
    def json_view() -> str:
        payload = request.get_json()
        raise KeyError(payload["missing"])

    @app.route("/abort/<int:code>")
    def aborting(code: int) -> str:
        abort(code)

    @app.route("/message")
    def message() -> str:
        event_id = _sentry(app).captureMessage("hello from %s", params=("the view",))
        return jsonify(
            event_id=event_id, g=g.get("sentry_event_id"), last=_sentry(app).last_event_id
        )

    @app.route("/handled")
    def handled() -> str:
        try:
            {}["nope"]
        except KeyError:
            _sentry(app).captureException(tags={"handled": "yes"})
        return "handled"

    @app.route("/set-context")
    def set_context() -> str:
        client = _sentry(app).client
        client.tags_context({"leaky": "yes"})
        client.extra_context({"leaky": "yes"})
        _sentry(app).user_context({"id": "leaky-user"})
        client.captureBreadcrumb(message="leaky crumb", category="test")
        return "context set"

    @app.route("/with-user-context")
    def with_user_context() -> str:
        _sentry(app).user_context({"id": "explicit", "segment": "beta"})
        client = _sentry(app).client
        client.captureBreadcrumb(message="crumb of this request", category="test")
        raise RuntimeError("with user context")

    @app.route("/log")
    def log() -> str:
        app.logger.warning("a warning from %s", "the view")
        app.logger.error("an error from %s", "the view")
        return "logged"

    @app.route("/three-ways", methods=["POST"])
    def three_ways() -> str:
        # One request, three events: a log record, a capture by the app, the unhandled error.
        app.logger.error("stock low for %s", request.args["sku"])
        _sentry(app).client.captureMessage("stock checked by hand")
        raise RuntimeError("out of stock")

    @app.route("/log-then-read", methods=["POST"])
    def log_then_read() -> Any:
        app.logger.error("before reading the body")
        if request.is_json:
            return jsonify(request.get_json())
        return jsonify(dict(request.form)) if request.form else request.get_data(as_text=True)

    @app.route("/stream")
    def stream() -> Response:
        def generate() -> Iterator[str]:
            yield "first chunk\n"
            raise OSError("the stream broke")

        return Response(generate(), mimetype="text/plain")

    @app.route("/async")
    async def async_view() -> str:
        raise ZeroDivisionError("async view")

    @app.route("/concurrent/<user_id>")
    def concurrent(user_id: str) -> str:
        # Every request holds its user and tags while all the others run, then fails.
        _sentry(app).client.tags_context({"request_user": user_id})
        barrier: threading.Barrier | None = app.extensions["test.barrier"]
        if barrier is not None:
            barrier.wait(timeout=30)
        raise RuntimeError(f"failure for {current_user.get_id()}")

    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.route("/out-of-stock")
    def out_of_stock() -> str:
        raise KeyError("sku-1")

    @shop.route("/checkout")
    def checkout() -> str:
        raise RuntimeError("payment backend down")

    @shop.errorhandler(KeyError)
    def shop_key_error(error: KeyError) -> tuple[str, int]:
        return "out of stock", 409

    @shop.errorhandler(500)
    def shop_server_error(error: Exception) -> tuple[str, int]:
        return f"shop error, reference {_sentry(app).last_event_id}", 500

    app.register_blueprint(shop)
    return app


def _sentry(app: Flask) -> Sentry:
    sentry: Sentry = app.extensions["sentry"]
    return sentry


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` with werkzeug's threaded server on a free loopback port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


SENTINEL = "raven-flask test sentinel"


def settle(receiver: Receiver, *clients: Any) -> list[dict[str, Any]]:
    """Every event the clients sent to ``receiver`` so far, each validated by Relay.

    Each client then sends a sentinel message; once those arrived and the clients are flushed,
    whatever was captured before them has arrived too, so "nothing else" is a safe assertion.
    """
    sentinels = {client.captureMessage(SENTINEL) for client in clients}
    assert None not in sentinels, "a client did not send the sentinel"
    receiver.wait_until(lambda r: sentinels <= {e.get("event_id") for e in r.events})
    for client in clients:
        assert client.flush(10), "the client did not deliver its events in time"
    # A request is counted when its body is read, and recorded after it is answered.
    receiver.wait_until(lambda r: len(r.requests) >= r.received_bodies)
    events = list(receiver.events)
    for event in events:
        validate_event(event)
    return [e for e in events if (e.get("logentry") or {}).get("message") != SENTINEL]
