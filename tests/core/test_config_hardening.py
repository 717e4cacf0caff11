"""Configuration that cannot work is refused at construction, naming the value (issue 20)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import raven
from raven.dsn import Dsn
from raven.exceptions import ConfigurationError, InvalidDsn

from tests.receiver import Receiver

from .conftest import BASE_OPTIONS, Harness


@pytest.mark.parametrize(
    ("dsn", "named"),
    [
        ("https://k@host/project", "'project'"),
        ("https://k@host/1a", "'1a'"),
        ("https://k@host/1https://k2@host/2", "more than one DSN"),
        ("https://k@host/1,https://k2@host/2", "more than one DSN"),
        ("https://k@host/1 https://k2@host/2", "more than one DSN"),
    ],
)
def test_unusable_dsn_is_refused_naming_the_value(dsn: str, named: str) -> None:
    """A non-numeric project id or two DSNs pasted together raise InvalidDsn naming the problem."""
    with pytest.raises(InvalidDsn, match=named):
        raven.Client(dsn, **BASE_OPTIONS)


def test_dsn_query_may_hold_a_url() -> None:
    """A URL in the DSN's query (a proxy) is not mistaken for a second DSN."""
    dsn = Dsn.parse("https://k@host/7?https_proxy=http://proxy:3128")
    assert dsn.project_id == "7" and dsn.query == {"https_proxy": "http://proxy:3128"}


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"timeout": float("inf")}, r"'timeout'.*got inf"),
        ({"timeout": "nan"}, r"'timeout'.*got nan"),
        ({"timeout": 0}, r"'timeout'.*got 0"),
        ({"shutdown_timeout": float("inf")}, r"'shutdown_timeout'.*got inf"),
        ({"shutdown_timeout": -1}, r"'shutdown_timeout'.*got -1"),
        ({"queue_max_bytes": -1}, r"'queue_max_bytes'.*got -1"),
        ({"outbox_max_events": -5}, r"'outbox_max_events'.*got -5"),
        ({"outbox_max_bytes": -5}, r"'outbox_max_bytes'.*got -5"),
        ({"processors": [42]}, r"'processors'.*got 42"),
        ({"processors": ["raven.processors.NoSuchProcessor"]}, r"'processors'.*NoSuchProcessor"),
        ({"transport": "no_such_module.Transport"}, r"'transport'.*no_such_module"),
        ({"transport": "raven.transport.NoSuchTransport"}, r"'transport'.*NoSuchTransport"),
        ({"transport": "Transport"}, r"'transport'.*'Transport'"),
    ],
)
def test_unusable_option_is_refused_naming_the_value(options: dict[str, Any], named: str) -> None:
    """Timeouts that wait forever, negative bounds, a non-processor and a bad transport path
    raise ConfigurationError naming the option and the value."""
    with pytest.raises(ConfigurationError, match=named):
        raven.Client("https://k@host.invalid/1", **{**BASE_OPTIONS, **options})


def test_unusable_outbox_path_disables_the_outbox(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An outbox path that cannot be created logs one warning; the client starts and delivers."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    caplog.set_level(logging.WARNING, logger="raven")
    client = raven.Client(receiver.dsn, outbox_path=str(blocker / "outbox"), **BASE_OPTIONS)
    try:
        assert client.captureMessage("still delivered") is not None
        assert client.flush(5)
        (event,) = receiver.wait_for(1)
        assert event["logentry"]["formatted"] == "still delivered"
    finally:
        client.close(5)
    warnings = [r for r in caplog.records if "outbox_path" in r.getMessage()]
    assert len(warnings) == 1 and "disabled" in warnings[0].getMessage()


def test_valid_configuration_still_builds(sentry: Harness) -> None:
    """The checks refuse only what cannot work: finite timeouts and positive bounds pass."""
    client = sentry.client(timeout=0.5, shutdown_timeout=0, queue_max_bytes=1, outbox_max_events=1)
    client.captureMessage("configured")
    assert sentry.event()["logentry"]["formatted"] == "configured"
