"""A Flask app written for raven-python 6.10: ``raven.contrib.flask.Sentry`` with its arguments,
``RAVEN_CONFIG`` / ``SENTRY_<OPTION>`` keys, root-logger logging and ``logging_configured``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from raven.receiver import Receiver

from flask import Flask
from tests.relay import validate_event

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def make_app(receiver: Receiver, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)

    @app.route("/boom")
    def boom() -> str:
        from raven.contrib.flask import Sentry

        sentry = app.extensions["sentry"]
        assert isinstance(sentry, Sentry)
        sentry.tags_context({"shop": "eu"})
        sentry.extra_context({"cart": 3})
        raise ValueError("boom")

    return app


@pytest.fixture
def noisy() -> Iterator[logging.Logger]:
    """A logger excluded from Sentry (setup_logging stops it propagating): restored after."""
    logger = logging.getLogger("tests.compat.noisy")
    propagate, handlers = logger.propagate, list(logger.handlers)
    yield logger
    logger.propagate = propagate
    logger.handlers[:] = handlers


def test_raven_python_flask_app(receiver: Receiver, noisy: logging.Logger) -> None:
    """``Sentry(app, logging=True, level=..., logging_exclusions=...)`` reports the app's errors
    (options from RAVEN_CONFIG and SENTRY_RELEASE, include_paths the app's import name, the
    extension's tags/extra context) and the root logger's records, sends logging_configured, and
    leaves excluded loggers out."""
    from raven.contrib.flask import Sentry, logging_configured

    configured: list[dict[str, Any]] = []

    def on_configured(sender: Any, **kwargs: Any) -> None:
        configured.append(kwargs)

    logging_configured.connect(on_configured)
    app = make_app(
        receiver,
        RAVEN_CONFIG={"dsn": receiver.dsn, "install_sys_hook": False},
        SENTRY_RELEASE="shop@6.10",
    )
    sentry = Sentry(app, logging=True, level=logging.ERROR, logging_exclusions=[noisy.name])
    try:
        assert app.test_client().get("/boom").status_code == 500
        logging.getLogger("tests.compat.anywhere").error("root logger error")
        noisy.error("excluded")
        sentry.client.flush(10)
        events = receiver.wait_for(2)
        for event in events:
            validate_event(event)
        assert len(receiver.events) == 2
        boom, logged = sorted(events, key=lambda e: "exception" not in e)
        assert boom["release"] == "shop@6.10" and boom["tags"]["shop"] == "eu"
        assert boom["extra"]["cart"] == 3
        frames = boom["exception"]["values"][-1]["stacktrace"]["frames"]
        assert frames[-1]["function"] == "boom" and frames[-1]["in_app"]
        assert logged["logentry"]["formatted"] == "root logger error"
        assert configured and configured[0]["exclude"] == (noisy.name,)
    finally:
        logging_configured.disconnect(on_configured)
        sentry.uninit_app(app)
    assert not any(
        isinstance(h, type(configured[0]["sentry_handler"])) for h in logging.getLogger().handlers
    )


def test_init_app_arguments(receiver: Receiver) -> None:
    """``init_app(app, dsn, logging, level, logging_exclusions, wrap_wsgi, register_signal)``:
    with ``register_signal=False`` a failing view is not reported."""
    from raven.contrib.flask import Sentry

    app = make_app(receiver, SENTRY_CONFIG={"install_sys_hook": False})
    sentry = Sentry()
    sentry.init_app(
        app,
        dsn=receiver.dsn,
        logging=False,
        level=logging.ERROR,
        logging_exclusions=[],
        wrap_wsgi=False,
        register_signal=False,
    )
    try:
        assert app.test_client().get("/boom").status_code == 500
        sentry.captureMessage("explicit")
        sentry.client.flush(10)
        (event,) = receiver.wait_for(1)
        assert event["logentry"]["formatted"] == "explicit"
        assert len(receiver.events) == 1
    finally:
        sentry.uninit_app(app)


def test_make_client(receiver: Receiver) -> None:
    """``make_client(client_cls, app)`` builds the class from the app's config."""
    import raven
    from raven.contrib.flask import make_client

    app = make_app(receiver, SENTRY_DSN=receiver.dsn, SENTRY_CONFIG={"install_sys_hook": False})
    client = make_client(raven.Client, app)
    try:
        assert type(client) is raven.Client and app.import_name in client.include_paths
        client.captureMessage("made")
        client.flush(10)
        assert receiver.wait_for(1)[0]["logentry"]["formatted"] == "made"
    finally:
        client.close()
