"""``SentryHandler`` and ``setup_logging``: log records at or above a level become events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import raven
from raven.conf import EXCLUDE_LOGGER_DEFAULTS, setup_logging
from raven.handlers.logging import SentryHandler

from .conftest import Harness


@pytest.fixture
def log() -> Iterator[logging.Logger]:
    """A fresh logger that does not propagate to the root."""
    logger = logging.getLogger(f"app.{uuid.uuid4().hex[:8]}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger
    logger.handlers.clear()


def test_constructor_forms(sentry: Harness) -> None:
    """``SentryHandler(client)``, ``(client=client)``, ``("dsn")`` and a level name are accepted."""
    client = sentry.client()
    assert SentryHandler(client).client is client
    assert SentryHandler(client=client).client is client
    assert SentryHandler(client, "WARNING").level == logging.WARNING
    assert SentryHandler(client, level="ERROR").level == logging.ERROR
    assert SentryHandler(client=client, level=logging.INFO).level == logging.INFO
    from_dsn = SentryHandler(sentry.dsn, install_sys_hook=False)
    try:
        assert (
            isinstance(from_dsn.client, raven.Client)
            and from_dsn.client.get_public_dsn("http") == sentry.receiver.dsn
        )
    finally:
        from_dsn.client.close()


@pytest.mark.parametrize("args", [(), (42,), (object(),), (None,)])
def test_anything_else_is_a_value_error(args: tuple[object, ...]) -> None:
    """A handler without a client or DSN string raises ValueError."""
    with pytest.raises(ValueError, match="raven.Client or a DSN"):
        SentryHandler(*args)


def test_unknown_level_name_is_a_value_error(sentry: Harness) -> None:
    """A level name logging does not know raises ValueError."""
    with pytest.raises(ValueError, match="level"):
        SentryHandler(sentry.client(), level="LOUD")


def test_records_at_or_above_level_become_events(sentry: Harness, log: logging.Logger) -> None:
    """Only records at or above the handler's level are sent, with logger, level and logentry."""
    log.addHandler(SentryHandler(sentry.client(), level="WARNING"))
    log.info("not sent")
    log.warning("user %s over quota by %d MB", "ann", 12)
    log.critical("on fire")
    warning, critical = sentry.events(2)
    assert warning["logger"] == log.name and warning["level"] == "warning"
    assert warning["logentry"] == {
        "message": "user %s over quota by %d MB",
        "params": ["ann", 12],
        "formatted": "user ann over quota by 12 MB",
    }
    assert critical["level"] == "fatal" and critical["logentry"]["formatted"] == "on fire"
    assert "exception" not in warning and "stacktrace" not in warning


def test_dict_argument_formats_like_logging(sentry: Harness, log: logging.Logger) -> None:
    """A single dict argument formats ``%(name)s`` placeholders, as ``LogRecord.getMessage`` does."""
    log.addHandler(SentryHandler(sentry.client()))
    log.error("order %(order)s failed", {"order": 17})
    assert sentry.event()["logentry"]["formatted"] == "order 17 failed"


def test_exc_info_sends_the_exception_and_its_stack(sentry: Harness, log: logging.Logger) -> None:
    """``log.exception`` sends the exception with its stacktrace and the log message as logentry."""
    log.addHandler(SentryHandler(sentry.client()))

    def charge() -> None:
        raise RuntimeError("card declined")

    try:
        charge()
    except RuntimeError:
        log.exception("payment %s failed", "p-1")
    event = sentry.event()
    (value,) = event["exception"]["values"]
    assert value["type"] == "RuntimeError" and value["stacktrace"]["frames"][-1][
        "function"
    ].endswith("charge")
    assert event["logentry"]["formatted"] == "payment p-1 failed"
    assert event["logger"] == log.name and event["level"] == "error"


def test_extra_keys(sentry: Harness, log: logging.Logger) -> None:
    """``extra`` keys data, stack, culprit, fingerprint, server_name and tags shape the event; others go to extra."""
    log.addHandler(SentryHandler(sentry.client(), tags={"handler": "h"}))
    log.error(
        "shaped",
        extra={
            "data": {"transaction": "jobs.nightly"},
            "stack": True,
            "culprit": "jobs.nightly",
            "fingerprint": ["nightly", "job"],
            "server_name": "worker-3",
            "tags": {"job": "nightly"},
            "order_id": 99,
        },
    )
    event = sentry.event()
    assert event["transaction"] == "jobs.nightly" and event["culprit"] == "jobs.nightly"
    assert event["fingerprint"] == ["nightly", "job"] and event["server_name"] == "worker-3"
    assert event["tags"] == {"handler": "h", "job": "nightly"}
    assert event["extra"]["order_id"] == 99
    assert event["extra"]["lineno"] > 0 and event["extra"]["filename"] == __file__
    frames = event["stacktrace"]["frames"]
    assert frames[-1]["function"] == "test_extra_keys"
    assert not any(f["module"].startswith(("raven.", "logging")) for f in frames)


def test_sample_rate_extra_key(sentry: Harness, log: logging.Logger) -> None:
    """``extra={"sample_rate": 0}`` drops that one record."""
    log.addHandler(SentryHandler(sentry.client()))
    log.error("dropped", extra={"sample_rate": 0})
    log.error("kept")
    assert sentry.event()["logentry"]["formatted"] == "kept"


@pytest.mark.raven_errors_expected
def test_raven_and_sentry_errors_loggers_are_never_reported(sentry: Harness) -> None:
    """Records from ``raven`` (and children) and ``sentry.errors`` never become events (no loops)."""
    handler = SentryHandler(sentry.client())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logging.getLogger("raven").error("sdk error")
        logging.getLogger("raven.transport").error("transport error")
        logging.getLogger("sentry.errors").error("legacy error")
        logging.getLogger("app.visible").error("app error")
    finally:
        root.removeHandler(handler)
    assert sentry.event()["logentry"]["formatted"] == "app error"


@pytest.mark.raven_errors_expected
def test_handler_never_raises_into_logging(log: logging.Logger, raven_internal_errors: Any) -> None:
    """A failure inside the handler is logged on ``raven.handlers``, never raised into the logging call."""

    class Failing(raven.Client):
        def is_enabled(self) -> bool:
            return True

        def capture(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("capture broke")

    client = Failing(install_sys_hook=False)
    log.addHandler(SentryHandler(client))
    log.error("still fine")
    (record,) = raven_internal_errors.records
    assert record.name == "raven.handlers" and "capture broke" in repr(record.exc_info[1])
    client.close()


@pytest.fixture
def restore_loggers() -> Iterator[None]:
    """Undo ``setup_logging``'s changes to the default excluded loggers."""
    saved = {
        name: (logging.getLogger(name).propagate, list(logging.getLogger(name).handlers))
        for name in EXCLUDE_LOGGER_DEFAULTS
    }
    yield
    for name, (propagate, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.propagate = propagate
        logger.handlers[:] = handlers


def test_setup_logging(sentry: Harness, restore_loggers: None) -> None:
    """``setup_logging`` sends root records to Sentry, excludes the named loggers, and runs once."""
    handler = SentryHandler(sentry.client(), level=logging.ERROR)
    excluded = f"noisy.{uuid.uuid4().hex[:8]}"
    assert setup_logging(handler, exclude=[excluded]) is True
    assert setup_logging(SentryHandler(sentry.client()), exclude=[excluded]) is False
    assert logging.getLogger().handlers.count(handler) == 1
    logging.getLogger(excluded).error("excluded")
    logging.getLogger("app.included").error("included")
    assert sentry.event()["logentry"]["formatted"] == "included"


def test_setup_logging_default_excludes(sentry: Harness, restore_loggers: None) -> None:
    """By default the SDK's own and the usual noisy loggers stop propagating to the root."""
    assert setup_logging(SentryHandler(sentry.client())) is True
    for name in ("raven", "sentry.errors", "gunicorn", "django.request"):
        assert logging.getLogger(name).propagate is False


def test_custom_logging_levels(sentry: Harness, log: logging.Logger) -> None:
    """Records at custom levels (NOTICE=25) arrive with the nearest standard level below."""
    logging.addLevelName(25, "NOTICE")
    log.addHandler(SentryHandler(sentry.client(), level=logging.INFO))
    log.log(25, "notice this")
    assert sentry.event()["level"] == "info"


def test_non_string_log_message(sentry: Harness, log: logging.Logger) -> None:
    """Logging an object instead of a format string still sends its text."""
    log.addHandler(SentryHandler(sentry.client()))
    log.error({"order": 17, "state": "failed"})
    assert sentry.event()["logentry"]["formatted"] == "{'order': 17, 'state': 'failed'}"
