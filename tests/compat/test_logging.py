"""Logging as raven-python 6.10 did it: SentryHandler's constructor forms, the reserved keys of
a record's ``extra``, the log line as an exception event's message, and log breadcrumbs that
keep the record's extra data, deduplicated."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import raven
from raven.handlers.logging import SentryHandler
from raven.utils.stacks import iter_stack_frames

from .conftest import Harness

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class AppClient(raven.Client):
    """A client subclass, as passed with ``client_cls``."""

    def build_msg(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        event = super().build_msg(*args, **kwargs)
        event["tags"]["built_by"] = "AppClient"
        return event


@pytest.fixture
def log() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tests.compat.app")
    logger.propagate = False
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        if isinstance(handler, SentryHandler):
            handler.client.close()


def test_dsn_and_client_cls(sentry: Harness, log: logging.Logger) -> None:
    """``SentryHandler(dsn, client_cls=...)`` builds that class; ``client=`` and a client
    positional work too."""
    handler = SentryHandler(sentry.dsn, client_cls=AppClient, install_sys_hook=False)
    assert isinstance(handler.client, AppClient)
    assert SentryHandler(client=handler.client).client is handler.client
    assert SentryHandler(handler.client).client is handler.client
    log.addHandler(handler)
    log.error("built by a subclass")
    assert sentry.event()["tags"]["built_by"] == "AppClient"


def test_record_extra_keys(sentry: Harness, log: logging.Logger) -> None:
    """``extra={"data": {...}}`` goes to the event's extra (interface keys shape the event),
    ``stack=`` takes a list of frames, ``tags``/``fingerprint``/``culprit`` are honoured."""
    log.addHandler(SentryHandler(sentry.client()))
    log.warning(
        "shaped",
        extra={
            "data": {"order": 17, "sentry.interfaces.User": {"id": "u-1"}},
            "stack": list(iter_stack_frames()),
            "tags": {"shop": "eu"},
            "fingerprint": ["orders"],
            "culprit": "shop.orders",
        },
    )
    event = sentry.event()
    assert event["extra"]["order"] == 17 and event["user"]["id"] == "u-1"
    assert event["tags"]["shop"] == "eu" and event["fingerprint"] == ["orders"]
    assert event["culprit"] == "shop.orders" and event["level"] == "warning"
    assert event["stacktrace"]["frames"][-1]["function"] == "test_record_extra_keys"


def test_string_data_never_loses_the_event(sentry: Harness, log: logging.Logger) -> None:
    """``extra={"data": "text"}`` arrives as ``extra["data"]``."""
    log.addHandler(SentryHandler(sentry.client()))
    log.error("with text data", extra={"data": "free text"})
    assert sentry.event()["extra"]["data"] == "free text"


def test_logged_exception_message_is_the_log_line(sentry: Harness, log: logging.Logger) -> None:
    """``log.exception(...)`` sends an exception event whose message is the log line."""
    log.addHandler(SentryHandler(sentry.client()))
    try:
        raise ValueError("card declined")
    except ValueError:
        log.exception("payment %s failed", "p-9")
    event = sentry.event()
    assert event["message"] == "payment p-9 failed"
    assert event["exception"]["values"][-1]["type"] == "ValueError"


def test_log_breadcrumbs_keep_extra_and_are_deduplicated(sentry: Harness) -> None:
    """A log breadcrumb carries the record's extra data; the same line logged twice in a row is
    one crumb, as in raven-python."""
    client = sentry.client()
    crumbs_log = logging.getLogger("tests.compat.crumbs")
    crumbs_log.warning("cache miss", extra={"key": "user:1"})
    crumbs_log.warning("cache miss", extra={"key": "user:1"})
    crumbs_log.warning("cache miss", extra={"key": "user:2"})
    client.captureMessage("after the misses")
    crumbs = [
        c for c in sentry.event()["breadcrumbs"]["values"] if c["category"] == crumbs_log.name
    ]
    assert [c["data"]["key"] for c in crumbs] == ["user:1", "user:2"]
