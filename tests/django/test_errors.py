"""Unhandled errors in views, middleware, templates and async views reach the receiver with their
request data and breadcrumbs; Django's own error handling is unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings

pytestmark = pytest.mark.django_db(databases="__all__")


def _exception(event: dict[str, Any]) -> dict[str, Any]:
    return event["exception"]["values"][-1]


def test_view_error_is_reported_with_request_and_transaction(web: Any, received: Any) -> None:
    """A view's exception arrives once, unhandled, with URL, method, query, headers, env and the view name."""
    response = web.get("/boom/?q=1&x=2", HTTP_USER_AGENT="pytest-agent", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    (event,) = received(1)
    exc = _exception(event)
    assert (exc["type"], exc["value"]) == ("ValueError", "boom")
    assert (exc["mechanism"]["type"], exc["mechanism"]["handled"]) == ("django", False)
    assert exc["stacktrace"]["frames"][-1]["function"] == "boom"
    request = event["request"]
    assert request["url"] == "http://testserver/boom/"
    assert request["method"] == "GET"
    assert request["query_string"] == "q=1&x=2"
    assert request["headers"]["User-Agent"] == "pytest-agent"
    assert request["headers"]["Accept"] == "text/html"
    assert request["env"] == {
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
    }  # no address without PII
    assert event["transaction"] == "/boom/"
    assert event["release"] == "raven-tests@1.0"
    assert "user" not in event  # anonymous


def test_route_with_parameters_uses_the_url_pattern(web: Any, received: Any) -> None:
    """The transaction is the resolved URL pattern as Django writes it, the same for every
    parameter value (raven-python 6.10's and sentry-sdk's naming)."""
    web.get("/items/7/boom/")
    web.get("/items/8/boom/")
    first, second = received(2)
    assert first["transaction"] == second["transaction"] == "/items/<int:pk>/boom/"


def test_sql_queries_become_breadcrumbs_for_every_alias(web: Any, received: Any) -> None:
    """ORM and raw queries on both database aliases are breadcrumbs with alias and duration, without parameters."""
    web.get("/query-boom/")
    (event,) = received(1)
    crumbs = [c for c in event["breadcrumbs"]["values"] if c["category"] == "query"]
    assert [c["data"]["db.alias"] for c in crumbs] == ["default", "other"]
    orm, raw = crumbs
    assert orm["type"] == "query"
    assert orm["message"].startswith('SELECT "project_note"."id"')
    assert raw["message"] == "SELECT %s + %s"
    assert all(isinstance(c["data"]["duration_ms"], float) for c in crumbs)
    assert all("params" not in c["data"] for c in crumbs)


def test_sql_parameters_only_with_send_default_pii(
    settings: Any, sentry: Any, web: Any, received: Any
) -> None:
    """With send_default_pii the query parameters are in the breadcrumb."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "send_default_pii": True}
    web.get("/query-boom/")
    (event,) = received(1)
    crumbs = [c for c in event["breadcrumbs"]["values"] if c["category"] == "query"]
    assert crumbs[0]["data"]["params"] == ["needle"]
    assert crumbs[1]["data"]["params"] == [20, 22]


def test_template_render_error_carries_template_name_and_line(web: Any, received: Any) -> None:
    """An exception while rendering names the template and the line of the failing tag, with its source."""
    web.get("/template-boom/")
    (event,) = received(1)
    assert _exception(event)["type"] == "ZeroDivisionError"
    template = event["template"]
    assert template["filename"] == "project/broken.html"
    assert template["abs_path"].endswith("tests/django/project/templates/project/broken.html")
    assert template["lineno"] == 5
    assert template["context_line"] == "  <p>{{ thing.value }}</p>"
    assert template["pre_context"][-1] == "{% if thing %}"
    assert template["post_context"][0] == "{% endif %}"


def test_template_syntax_error_carries_template_name_and_line(web: Any, received: Any) -> None:
    """A template that does not compile names the template and the line of the bad tag."""
    web.get("/template-syntax-boom/")
    (event,) = received(1)
    assert _exception(event)["type"] == "TemplateSyntaxError"
    assert event["template"]["filename"] == "project/syntax.html"
    assert event["template"]["lineno"] == 2
    assert event["template"]["context_line"] == "{% if %}"


def test_template_info_with_template_debug(settings: Any, web: Any, received: Any) -> None:
    """With the template engine in debug mode the same template frame is reported."""
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"], "debug": True}}
    ]
    web.get("/template-boom/")
    (event,) = received(1)
    assert (event["template"]["filename"], event["template"]["lineno"]) == (
        "project/broken.html",
        5,
    )


def test_middleware_error_is_reported(web: Any, received: Any) -> None:
    """An exception raised by a project middleware is reported like a view's."""
    response = web.get("/ok/", HTTP_X_EXPLODE="1")
    assert response.status_code == 500
    (event,) = received(1)
    assert _exception(event)["value"] == "middleware exploded"
    assert event["request"]["url"] == "http://testserver/ok/"


async def test_async_view_error_is_reported(aweb: Any, received: Any) -> None:
    """An async view's exception under ASGI arrives with the request data."""
    response = await aweb.get("/async-boom/?via=asgi")
    assert response.status_code == 500
    (event,) = received(1)
    assert _exception(event)["type"] == "KeyError"
    assert event["request"]["query_string"] == "via=asgi"
    assert event["request"]["url"] == "http://testserver/async-boom/"
    assert event["transaction"] == "/async-boom/"


async def test_sync_view_under_asgi_keeps_sql_breadcrumbs(aweb: Any, received: Any) -> None:
    """Queries of a sync view run by the ASGI handler are breadcrumbs of that request's event."""
    await aweb.get("/query-boom/")
    (event,) = received(1)
    assert [
        c["data"]["db.alias"] for c in event["breadcrumbs"]["values"] if c["category"] == "query"
    ] == ["default", "other"]


def test_form_body_is_reported_and_scrubbed(web: Any, received: Any) -> None:
    """A form post arrives as a dict; the password field is masked by the core's scrubber."""
    web.post("/post-boom/", {"name": "alice", "password": "hunter2", "tag": ["a", "b"]})
    (event,) = received(1)
    data = event["request"]["data"]
    assert data["name"] == "alice"
    assert data["tag"] == ["a", "b"]
    assert data["password"] != "hunter2" and "hunter2" not in json.dumps(event)


def test_json_body_is_reported_as_a_dict(web: Any, received: Any) -> None:
    """A JSON body the view never read arrives parsed, with secrets masked."""
    web.post(
        "/boom/",
        data=json.dumps({"order": 12, "api_key": "s3cr3t"}),
        content_type="application/json",
    )
    (event,) = received(1)
    assert event["request"]["data"]["order"] == 12
    assert "s3cr3t" not in json.dumps(event)


def test_cookies_are_reported_and_session_cookies_masked(web: Any, received: Any) -> None:
    """Cookies arrive as a dict, their values masked by the core's scrubber."""
    web.cookies["theme"] = "dark"
    web.cookies["sessionid"] = "very-secret-session"
    web.get("/boom/")
    (event,) = received(1)
    assert set(event["request"]["cookies"]) == {"theme", "sessionid"}
    assert "very-secret-session" not in json.dumps(event)


def test_body_consumed_by_the_view_is_unavailable(web: Any, received: Any) -> None:
    """When the view read the raw stream, the body is reported as "<unavailable>"."""
    web.post("/consume-body-boom/", data=json.dumps({"a": 1}), content_type="application/json")
    (event,) = received(1)
    assert event["request"]["data"] == "<unavailable>"


def test_drf_compat_middleware_keeps_the_body_readable(
    settings: Any, web: Any, received: Any
) -> None:
    """With DjangoRestFrameworkCompatMiddleware the body stays reportable after the view read the stream."""
    settings.MIDDLEWARE = [
        "raven_django.middleware.DjangoRestFrameworkCompatMiddleware",
        *settings.MIDDLEWARE,
    ]
    web.post("/consume-body-boom/", data=json.dumps({"a": 1}), content_type="application/json")
    (event,) = received(1)
    assert event["request"]["data"] == {"a": 1}


def test_large_body_is_not_read(settings: Any, web: Any, received: Any) -> None:
    """A body over max_request_body_size is replaced by a note, not read."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "max_request_body_size": "small"}
    web.post("/boom/", data="x" * 50_000, content_type="text/plain")
    (event,) = received(1)
    assert "50000 bytes not sent" in event["request"]["data"]


def test_disallowed_host_still_reports_the_url(settings: Any, web: Any, received: Any) -> None:
    """An error on a request for a host outside ALLOWED_HOSTS is reported with the host it named."""
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "django.middleware.common.CommonMiddleware"
    ]
    web.get("/boom/", HTTP_HOST="evil.example")
    (event,) = received(1)
    assert event["request"]["url"] == "http://evil.example/boom/"


def test_error_page_and_admin_email_are_unchanged(web: Any, received: Any) -> None:
    """The project's 500 page is served and ADMINS still get the error email."""
    response = web.get("/boom/")
    assert response.status_code == 500
    assert b"Raven test project: server error" in response.content
    received(1)
    assert len(mail.outbox) == 1 and "ValueError" in mail.outbox[0].body


def test_debug_page_is_unchanged(web: Any, received: Any) -> None:
    """With DEBUG the technical 500 page is served, and the error is reported."""
    with override_settings(DEBUG=True):
        response = web.get("/boom/", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    assert b"ValueError" in response.content and b"Traceback" in response.content
    received(1)


def test_response_error_id_header(web: Any, received: Any) -> None:
    """SentryResponseErrorIdMiddleware puts the reported event's id in X-Sentry-ID of the 500."""
    response = web.get("/boom/")
    (event,) = received(1)
    assert response["X-Sentry-ID"] == event["event_id"]
    assert "X-Sentry-ID" not in web.get("/ok/")


async def test_response_error_id_header_under_asgi(aweb: Any, received: Any) -> None:
    """The X-Sentry-ID header works in the async middleware chain too."""
    response = await aweb.get("/async-boom/")
    (event,) = received(1)
    assert response["X-Sentry-ID"] == event["event_id"]


def test_404_middleware_reports_info_events(settings: Any, web: Any, received: Any) -> None:
    """Sentry404CatchMiddleware reports a 404 at ``info`` (raven-python's level), except
    IGNORABLE_404_URLS."""
    import re

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "raven_django.middleware.Sentry404CatchMiddleware"]
    settings.IGNORABLE_404_URLS = [re.compile(r"\.php$")]
    assert web.get("/missing/?from=link").status_code == 404
    assert web.get("/wp-login.php").status_code == 404
    (event,) = received(1)
    assert event["level"] == "info"
    assert event["logger"] == "http404"
    assert event["logentry"]["formatted"] == "Page Not Found: http://testserver/missing/"
    assert event["request"]["query_string"] == "from=link"


async def test_404_middleware_under_asgi(settings: Any, aweb: Any, received: Any) -> None:
    """The 404 middleware works in the async middleware chain."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "raven_django.middleware.Sentry404CatchMiddleware"]
    assert (await aweb.get("/nowhere/")).status_code == 404
    (event,) = received(1)
    assert event["level"] == "info"


def test_handled_errors_produce_no_event(web: Any, received: Any) -> None:
    """Responses Django handles itself (404 for an unknown URL) produce no event."""
    assert web.get("/does-not-exist/").status_code == 404
    received(0)


def test_view_request_local_carries_no_secret_query(web: Any, received: Any, receiver: Any) -> None:
    """The view's ``request`` local (``<WSGIRequest: GET '/boom/?token=...'>``) arrives with the
    secret query parameter masked, as the event's own query string is."""
    secret = "django-" + "s3cr3t"  # never whole in the source lines an event carries
    web.get(f"/boom/?token={secret}&q=1")
    (event,) = received(1)
    assert event["request"]["query_string"] == "token=********&q=1"
    frame = _exception(event)["stacktrace"]["frames"][-1]
    assert "token=********" in frame["vars"]["request"]
    assert secret.encode() not in b"".join(request.body for request in receiver.requests)
