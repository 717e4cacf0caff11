"""Configuration: system checks, the cached client and SENTRY_CLIENT, the install/uninstall of the
receivers, `manage.py raven test`, the template tag, the logging handler, management commands,
and a project without django.contrib.auth."""

from __future__ import annotations

import io
import json
import logging
import sys
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from raven.exceptions import ConfigurationError
from raven_django import DjangoClient, get_client, signals
from raven_django.handlers import SentryHandler
from raven_django.management.commands.raven import TEST_MESSAGE

from tests.django.conftest import ROOT, manage
from tests.relay import validate_event

pytestmark = pytest.mark.django_db(databases="__all__")


class TaggingClient(DjangoClient):
    """A SENTRY_CLIENT subclass that tags every event (raven-python's build_msg override still works)."""

    def build_msg(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        event = super().build_msg(*args, **kwargs)
        event["tags"]["client"] = "tagging"
        return event


class NotAClient:
    pass


def _raven_errors() -> list[Any]:
    return [message for message in run_checks() if message.id and message.id.startswith("raven.")]


def test_valid_settings_pass_the_checks(settings: Any) -> None:
    """No Raven check message for the project's settings, nor for a full valid configuration."""
    assert _raven_errors() == []
    settings.RAVEN_CONFIG = {
        "dsn": "https://key:secret@sentry.example.com/path/42",
        "release": "1.0",
        "sample_rate": 0.5,
        "tags": {"a": "b"},
        "install_sql_hook": False,
        "processors": ["raven.processors.SanitizePasswordsProcessor"],
    }
    assert _raven_errors() == []


def test_checks_list_every_bad_key_and_value(settings: Any) -> None:
    """Each wrong key or value is its own error naming it; close misspellings get a hint."""
    settings.RAVEN_CONFIG = {
        "dsn": "not a dsn",
        "sample_rate": 5,
        "relase": "1.0",
        "capture_locals": "maybe",
        "install_sql_hook": "yes",
        "processors": ["no.such.Processor"],
    }
    settings.SENTRY_CLIENT = "tests.django.test_config.NotAClient"
    errors = {(e.id, e.msg): e.hint for e in _raven_errors()}
    ids = sorted(key[0] for key in errors)
    assert ids == [
        "raven.E002",
        "raven.E003",
        "raven.E004",
        "raven.E004",
        "raven.E004",
        "raven.E004",
        "raven.E004",
    ]
    text = "\n".join(f"{msg} {hint}" for (_, msg), hint in errors.items())
    assert "RAVEN_CONFIG['sample_rate']" in text and "between 0 and 1" in text
    assert "unknown option 'relase'" in text and "Did you mean 'release'?" in text
    assert "RAVEN_CONFIG['capture_locals']" in text
    assert "RAVEN_CONFIG['install_sql_hook']: must be a bool" in text
    assert "cannot load processor 'no.such.Processor'" in text
    assert "must name a subclass of raven.Client" in text


def test_raven_config_of_the_wrong_type(settings: Any) -> None:
    """RAVEN_CONFIG that is not a dict is raven.E001."""
    settings.RAVEN_CONFIG = ["dsn"]
    assert [e.id for e in _raven_errors()] == ["raven.E001"]


def test_check_command_stops_on_raven_errors(settings: Any) -> None:
    """`manage.py check` (in process) fails listing the Raven error."""
    settings.RAVEN_CONFIG = {"sample_rate": -1}
    with pytest.raises(SystemCheckError, match="raven.E004"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())


def test_manage_py_check_shows_bad_configuration() -> None:
    """The real `manage.py check` exits 1 and prints each Raven error with its hint."""
    config = {"dsn": "https://key@sentry.example.com/1", "sample_rate": 2, "relase": "x"}
    result = manage("check", env={"RAVEN_TEST_CONFIG": json.dumps(config)})
    assert result.returncode == 1, result.stderr
    assert "raven.E004" in result.stderr
    assert (
        "RAVEN_CONFIG['sample_rate']: option 'sample_rate' must be a number between 0 and 1, got 2.0"
        in result.stderr
    )
    assert (
        "unknown option 'relase'" in result.stderr
        and "HINT: Did you mean 'release'?" in result.stderr
    )


def test_misconfiguration_is_logged_once_and_does_not_break_requests(
    settings: Any, web: Any, raven_internal_errors: Any
) -> None:
    """With an invalid RAVEN_CONFIG requests work as before; the problem is logged once."""
    settings.RAVEN_CONFIG = {"sample_rate": "often"}
    assert web.get("/boom/").status_code == 500
    assert web.get("/ok/").status_code == 200
    messages = [r.getMessage() for r in raven_internal_errors.records]
    raven_internal_errors.records.clear()  # expected: checked here
    assert len(messages) == 1 and "Raven is disabled: option 'sample_rate'" in messages[0]
    with pytest.raises(ConfigurationError):
        get_client()


def test_get_client_is_cached_and_follows_setting_changes(settings: Any, receiver: Any) -> None:
    """get_client() returns one client until a Raven setting changes; SENTRY_DSN works as the DSN."""
    first = get_client()
    assert get_client() is first and not first.is_enabled()
    settings.RAVEN_CONFIG = {"install_sys_hook": False}
    settings.SENTRY_DSN = receiver.dsn
    second = get_client()
    assert second is not first and second.is_enabled()
    assert second.get_public_dsn("http") == receiver.dsn
    assert get_client(reset=True) is not second


def test_sentry_client_setting_names_the_client_class(
    settings: Any, sentry: Any, web: Any, received: Any
) -> None:
    """SENTRY_CLIENT names a DjangoClient subclass, which then builds every event."""
    settings.SENTRY_CLIENT = "tests.django.test_config.TaggingClient"
    assert isinstance(get_client(), TaggingClient)
    web.get("/boom/")
    (event,) = received(1)
    assert event["tags"]["client"] == "tagging"
    assert event["request"]["url"] == "http://testserver/boom/"


def test_models_client_is_a_lazy_proxy(settings: Any, sentry: Any, received: Any) -> None:
    """raven_django.models.client forwards to whatever client is configured at the time of use."""
    from raven_django.models import client

    assert client.is_enabled() and client.get_public_dsn() == sentry.get_public_dsn()
    event_id = client.captureMessage("via the proxy")
    (event,) = received(1)
    assert event["event_id"] == event_id and event["logentry"]["formatted"] == "via the proxy"
    settings.RAVEN_CONFIG = {}
    assert not client.is_enabled()


def test_install_is_idempotent_and_undoable(sentry: Any, web: Any, receiver: Any) -> None:
    """Installing twice reports an error once; after uninstall nothing is reported (no SQL crumbs either)."""
    try:
        signals.install()
        signals.install()
        web.get("/query-boom/")
        sentry.flush(10)
        (event,) = receiver.wait_for(1)
        assert len([c for c in event["breadcrumbs"]["values"] if c["category"] == "query"]) == 2
        signals.uninstall()
        signals.uninstall()
        assert not signals.installed()
        web.get("/query-boom/")
        sentry.captureMessage("marker")  # a message after the request: it carries no query crumbs
        sentry.flush(10)
        first, marker = sorted(
            receiver.wait_for(2), key=lambda event: "exception" not in event
        )  # any arrival order
        assert len(receiver.events) == 2 and marker["logentry"]["formatted"] == "marker"
        assert not [
            c for c in marker.get("breadcrumbs", {}).get("values", []) if c["category"] == "query"
        ]
    finally:
        signals.install()
    web.get("/boom/")
    sentry.flush(10)
    assert len(receiver.wait_for(3)) == 3


def test_raven_test_command_in_a_real_manage_py(receiver: Any) -> None:
    """`manage.py raven test` sends the test message and says the server accepted it."""
    result = manage("raven", "test", env={"RAVEN_TEST_CONFIG": json.dumps({"dsn": receiver.dsn})})
    assert result.returncode == 0, result.stderr
    (event,) = receiver.wait_for(1)
    assert f"Event {event['event_id']} accepted by the server." in result.stdout
    assert "project    : 1" in result.stdout
    assert event["logentry"]["formatted"] == TEST_MESSAGE and event["level"] == "info"
    validate_event(event)


def test_raven_test_command_with_a_custom_message(sentry: Any, receiver: Any) -> None:
    """call_command("raven", "test") works in process and takes --message."""
    out = io.StringIO()
    call_command("raven", "test", "--message", "hello from the test", stdout=out)
    (event,) = receiver.wait_for(1)
    assert event["logentry"]["formatted"] == "hello from the test"
    assert "accepted by the server" in out.getvalue()


@pytest.mark.raven_errors_expected
def test_raven_test_command_reports_a_refusal(sentry: Any, receiver: Any) -> None:
    """When the server refuses the event the command fails with the HTTP status."""
    receiver.respond_with(status=403)
    with pytest.raises(CommandError, match="refused the test event: HTTP 403"):
        call_command("raven", "test", stdout=io.StringIO())


def test_raven_test_command_without_configuration(settings: Any) -> None:
    """Without a DSN the command sends to a local receiver and prints what arrived, as
    `raven test` does; with a broken configuration it says so."""
    out = io.StringIO()
    call_command("raven", "test", stdout=out)
    text = out.getvalue()
    assert "Raven is not configured" in text
    assert "No DSN given: sending to a local receiver at http://" in text
    assert "received over HTTP" in text
    assert "title:   RuntimeError: this is a test event sent by `raven test`" in text
    assert "tags:    {'source': 'raven test'}" in text
    settings.RAVEN_CONFIG = {"timeout": "soon"}
    with pytest.raises(CommandError, match="misconfigured: option 'timeout'"):
        call_command("raven", "test", stdout=io.StringIO())


def test_public_dsn_template_tag(settings: Any, sentry: Any, web: Any, receiver: Any) -> None:
    """{% sentry_public_dsn %} renders the DSN without its secret, with or without a scheme."""
    port = receiver.dsn.rsplit(":", 1)[1].split("/")[0]
    settings.RAVEN_CONFIG = {
        **settings.RAVEN_CONFIG,
        "dsn": f"http://public:hidden@127.0.0.1:{port}/1",
    }
    content = web.get("/public-dsn/").content.decode()
    assert f'var dsn = "http://public@127.0.0.1:{port}/1"' in content
    assert f'relative = "//public@127.0.0.1:{port}/1"' in content
    assert "hidden" not in content
    settings.RAVEN_CONFIG = {}
    assert 'var dsn = ""' in web.get("/public-dsn/").content.decode()


def test_logging_handler_from_the_logging_setting(web: Any, received: Any) -> None:
    """An error logged in a view through the LOGGING handler arrives with the request it happened in."""
    assert web.get("/log-error/?id=7").status_code == 200
    (event,) = received(1)
    assert event["logentry"]["formatted"] == "could not frobnicate widget"
    assert event["logger"] == "tests.django.project.views" and event["level"] == "error"
    assert event["extra"]["widget_id"] == 7
    assert event["request"]["url"] == "http://testserver/log-error/"
    assert event["request"]["query_string"] == "id=7"
    assert event["transaction"] == "/log-error/"  # the URL pattern, as for every request


def test_logging_handler_on_django_request_does_not_duplicate(web: Any, received: Any) -> None:
    """With SentryHandler on django.request, an unhandled view error is still one event (with the request)."""
    handler = SentryHandler(level="ERROR")
    django_request = logging.getLogger("django.request")
    django_request.addHandler(handler)
    try:
        web.get("/boom/")
    finally:
        django_request.removeHandler(handler)
    (event,) = received(1)
    assert event["exception"]["values"][-1]["value"] == "boom"


def test_error_in_a_management_command_is_reported(receiver: Any) -> None:
    """An exception escaping a management command reaches Sentry (through the client's excepthook)."""
    result = manage("explode", env={"RAVEN_TEST_CONFIG": json.dumps({"dsn": receiver.dsn})})
    assert result.returncode == 1 and "management command exploded" in result.stderr
    (event,) = receiver.wait_for(1)
    exc = event["exception"]["values"][-1]
    assert (exc["type"], exc["value"]) == ("OSError", "management command exploded")
    validate_event(event)


def test_project_without_django_contrib_auth(receiver: Any) -> None:
    """Only raven_django installed (no auth, sessions, sites): a view error arrives, without a user."""
    import subprocess

    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "from raven_django import get_client\n"
        "assert Client(raise_request_exception=False).get('/boom/').status_code == 500\n"
        "assert get_client().flush(10)\n"
    )
    env = {
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.django.project.settings_minimal",
        "RAVEN_TEST_CONFIG": json.dumps({"dsn": receiver.dsn, "send_default_pii": True}),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (event,) = receiver.wait_for(1)
    assert event["exception"]["values"][-1]["value"] == "boom without auth"
    assert event["user"] == {"ip_address": "127.0.0.1"}
    assert event["transaction"] == "/boom/"
    assert [c["message"] for c in event["breadcrumbs"]["values"] if c["category"] == "query"] == [
        "SELECT 1"
    ]
    validate_event(event)
