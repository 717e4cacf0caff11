"""raven-python 6.10's (and sentry-sdk's) option names, and client attributes that are readable
and assignable, each assignment taking effect for the next event."""

from __future__ import annotations

import logging

import pytest
import raven

from .conftest import Harness


def fail() -> None:
    raise KeyError("boom")


def test_raven_python_options_are_accepted(
    sentry: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """``repos``, ``context``, ``machine``, ``include_versions`` ... start a working client;
    an unsupported one is named in a warning; a name nobody had still fails fast."""
    with caplog.at_level(logging.WARNING, "raven"):
        client = sentry.client(
            repos={"app": {"name": "org/app"}},
            context={"team": "payments"},
            machine="web-1",
            include_versions=False,
            CELERY_LOGLEVEL=logging.INFO,
            validate_cert=True,
        )
    assert any("include_versions" in r.getMessage() for r in caplog.records)
    assert client.repos == {"app": {"name": "org/app"}}
    client.captureMessage("hello")
    event = sentry.event()
    assert event["server_name"] == "web-1" and event["extra"]["team"] == "payments"
    with pytest.raises(raven.ConfigurationError, match="no_such_option"):
        raven.Client(sentry.dsn, no_such_option=1)


def test_sentry_sdk_spellings_are_accepted(sentry: Harness) -> None:
    """sentry-sdk's names for the same options work: ignore_errors, in_app_include,
    include_local_variables, max_value_length, attach_stacktrace."""
    client = sentry.client(
        ignore_errors=[KeyError],
        in_app_include=["tests.compat"],
        in_app_exclude=["tests.compat.vendored"],
        include_local_variables=False,
        max_value_length=20,
        attach_stacktrace=True,
    )
    try:
        fail()
    except KeyError:
        assert client.captureException() is None
    client.captureMessage("long", extra={"blob": "x" * 50})
    event = sentry.event()
    assert len(event["extra"]["blob"]) <= 20
    frames = event["stacktrace"]["frames"]
    assert frames and all("vars" not in f for f in frames)


def test_assigned_attributes_take_effect(sentry: Harness) -> None:
    """``tags``, ``extra``, ``site``, ``ignore_exceptions``, ``sample_rate`` and
    ``include_paths`` are assignable, and the next event shows it."""
    client = sentry.client()
    assert client.tags == {} and client.sample_rate == 1.0
    client.tags = {"region": "eu"}
    client.extra = {"build": 7}
    client.site = "shop"
    client.include_paths = ["tests.compat"]
    client.sanitize_keys = ["order_ref"]
    try:
        fail()
    except KeyError:
        client.captureException(extra={"order_ref": "A-1"})
    event = sentry.event()
    assert event["tags"]["region"] == "eu" and event["tags"]["site"] == "shop"
    assert event["extra"]["build"] == 7 and event["extra"]["order_ref"] == "********"
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert [f["in_app"] for f in frames if f["module"].startswith("tests.compat")] == [True, True]
    assert all(not f["in_app"] for f in frames if not f["module"].startswith("tests.compat"))
    client.ignore_exceptions = ["KeyError"]
    client.sample_rate = 0.0
    try:
        fail()
    except KeyError:
        assert client.captureException() is None
    assert client.captureMessage("sampled out") is None
    with pytest.raises(raven.ConfigurationError, match="sample_rate"):
        client.sample_rate = 2


def test_include_paths_is_an_allow_list(sentry: Harness) -> None:
    """With ``include_paths`` set, frames outside it are not in_app even if they look like app
    code (as in raven-python); the frame's function is its plain name."""
    client = sentry.client(include_paths=["nothing.here"])

    class Service:
        def run(self) -> None:
            fail()

    try:
        Service().run()
    except KeyError:
        client.captureException()
    frames = sentry.event()["exception"]["values"][-1]["stacktrace"]["frames"]
    assert not any(f["in_app"] for f in frames)
    assert [f["function"] for f in frames[-2:]] == ["run", "fail"]
