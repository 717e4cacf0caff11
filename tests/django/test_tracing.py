"""Tracing with raven-django: a transaction per request named by its URL pattern (or view), with
spans for SQL, templates and cache, sync and async; the caller's trace continued; errors named
like their transaction and linked to it; nothing sent with tracing off."""

from __future__ import annotations

from typing import Any

import pytest
from raven.exceptions import ConfigurationError

from tests.django.project.models import Note
from tests.receiver import Receiver
from tests.relay import validate_event

pytestmark = pytest.mark.django_db(databases="__all__")

TRACE = "771a43a4192642f0b136d5159a501700"
PARENT = "b0e6f15b45c36b12"


@pytest.fixture
def traced(settings: Any, sentry: Any) -> Any:
    """The client with every request traced, serving the tracing test URLs."""
    from raven_django import get_client

    settings.ROOT_URLCONF = "tests.django.project.urls_tracing"
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "traces_sample_rate": 1.0}
    return get_client()


def transactions(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    """The ``count`` transactions that arrived, each validated by Relay's normalizer."""
    arrived = receiver.wait_for_transactions(count)
    assert len(receiver.transactions) == count
    for event in arrived:
        validate_event(event)
    return arrived


def spans_by_op(transaction: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    spans: dict[str, list[dict[str, Any]]] = {}
    for span in transaction["spans"]:
        spans.setdefault(span["op"], []).append(span)
    return spans


def test_request_is_a_transaction_with_sql_template_and_cache_spans(
    traced: Any, web: Any, receiver: Receiver
) -> None:
    """A sync view: one http.server transaction named by its path() route (source route), status
    ok, a db span per query (statement, no parameters without send_default_pii), template spans
    (the include nested, the template's own query under it) and cache get/put spans."""
    Note.objects.create(title="poll one")
    assert web.get("/polls/7/").status_code == 200
    (tx,) = transactions(receiver, 1)
    assert tx["transaction"] == "/polls/<int:question_id>/"
    assert tx["transaction_info"] == {"source": "route"}
    trace = tx["contexts"]["trace"]
    assert (trace["op"], trace["status"], trace["origin"]) == (
        "http.server",
        "ok",
        "auto.http.django",
    )
    assert trace["data"]["http.response.status_code"] == 200
    assert tx["request"]["url"] == "http://testserver/polls/7/"
    root = trace["span_id"]
    spans = spans_by_op(tx)

    count, added, listed = spans["db"]
    assert count["parent_span_id"] == added["parent_span_id"] == root
    assert "COUNT(*)" in count["description"] and "poll%" not in count["description"]
    assert added["description"] == "SELECT %s + %s"
    assert set(added["data"]) == {"db.system", "db.name"}  # no db.params
    assert added["data"]["db.system"] == "sqlite"
    assert added["origin"] == "auto.db.django"

    page, row = spans["template.render"]
    assert (page["description"], page["parent_span_id"]) == ("project/tracing/page.html", root)
    assert (row["description"], row["parent_span_id"]) == (
        "project/tracing/row.html",
        page["span_id"],
    )
    assert listed["parent_span_id"] == page["span_id"]  # the lazy QuerySet ran in the template
    assert (
        page["start_timestamp"] <= row["start_timestamp"] <= row["timestamp"] <= page["timestamp"]
    )

    (get,) = spans["cache.get"]
    (put,) = spans["cache.put"]
    assert get["description"] == put["description"] == "poll:7"
    assert get["data"] == {"cache.key": ["poll:7"], "cache.hit": False}
    assert put["data"] == {"cache.key": ["poll:7"]}
    assert {get["parent_span_id"], put["parent_span_id"]} == {root}
    assert {s["trace_id"] for s in tx["spans"]} == {trace["trace_id"]}


def test_sql_parameters_only_with_send_default_pii(
    traced: Any, settings: Any, web: Any, receiver: Receiver
) -> None:
    """With send_default_pii a db span carries its parameters."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "send_default_pii": True}
    web.get("/polls/3/")
    (tx,) = transactions(receiver, 1)
    added = next(s for s in tx["spans"] if s["description"] == "SELECT %s + %s")
    assert added["data"]["db.params"] == [3, 1]


def test_db_spans_follow_the_connection_settings_changed_in_place(
    traced: Any, web: Any, receiver: Receiver
) -> None:
    """What a db span says about its connection is kept on the connection, and made again when
    its settings change in place (as Django's test runner renames the database)."""
    from django.db import connection

    web.get("/polls/3/")
    settings = connection.settings_dict
    saved = dict(settings)
    settings.update(HOST="db.internal", PORT="5432")
    try:
        web.get("/polls/3/")
    finally:
        settings.clear()
        settings.update(saved)
    # In either order: the sender threads may deliver the second first.
    first, second = sorted(
        (
            next(s for s in tx["spans"] if s["description"] == "SELECT %s + %s")["data"]
            for tx in transactions(receiver, 2)
        ),
        key=lambda data: "server.address" in data,
    )
    assert "server.address" not in first and first["db.system"] == "sqlite"
    assert (second["server.address"], second["server.port"]) == ("db.internal", 5432)
    assert second["db.name"] == first["db.name"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/archive/2024/05/", "/archive/{year}/{var}/"),  # a regular expression, simplified
        ("/api/notes/hello/", "/api/notes/<slug:slug>/"),  # include() behind a regex prefix
    ],
)
def test_patterns_name_transactions_and_errors_alike(
    traced: Any, web: Any, receiver: Receiver, url: str, name: str
) -> None:
    """Regex patterns are simplified as raven-python 6.10 and sentry-sdk show them."""
    assert web.get(url).status_code == 200
    (tx,) = transactions(receiver, 1)
    assert (tx["transaction"], tx["transaction_info"]["source"]) == (name, "route")


def test_error_marks_the_transaction_and_is_named_and_linked_like_it(
    traced: Any, web: Any, receiver: Receiver, received: Any
) -> None:
    """A failing view: the transaction is internal_error (500), and the error event has the same
    name and the transaction's trace and span ids."""
    assert web.get("/fail/").status_code == 500
    (tx,) = transactions(receiver, 1)
    (error,) = received(1)
    trace = tx["contexts"]["trace"]
    assert trace["status"] == "internal_error"
    assert trace["data"]["http.response.status_code"] == 500
    assert tx["transaction"] == error["transaction"] == "/fail/"
    assert error["contexts"]["trace"]["trace_id"] == trace["trace_id"]
    assert error["contexts"]["trace"]["span_id"] == trace["span_id"]
    assert tx["spans"][0]["op"] == "db"
    assert ("template.render", "500.html") in {(s["op"], s["description"]) for s in tx["spans"]}


def test_function_name_style_names_by_the_views_dotted_path(
    traced: Any, settings: Any, web: Any, receiver: Receiver, received: Any
) -> None:
    """transaction_style="function_name": the view's dotted path (its class for a class-based
    view), source component, for the transaction and the error alike."""
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "transaction_style": "function_name"}
    assert web.get("/class/").status_code == 500
    (tx,) = transactions(receiver, 1)
    (error,) = received(1)
    assert tx["transaction"] == error["transaction"] == "tests.django.project.urls_tracing.NoteView"
    assert tx["transaction_info"] == {"source": "component"}


def test_unresolved_path_is_named_by_its_url(traced: Any, web: Any, receiver: Receiver) -> None:
    """A 404 no pattern matched: named by the path (source url), status not_found."""
    assert web.get("/no/such/page/").status_code == 404
    (tx,) = transactions(receiver, 1)
    assert (tx["transaction"], tx["transaction_info"]["source"]) == ("/no/such/page/", "url")
    assert tx["contexts"]["trace"]["status"] == "not_found"


@pytest.mark.django_db(transaction=True, databases="__all__")  # the ASGI threads query
async def test_async_view_under_asgi(traced: Any, aweb: Any, receiver: Receiver) -> None:
    """An async view: its transaction holds the async ORM's query and the async cache call,
    with the response's status."""
    response = await aweb.get("/async/5/")
    assert response.status_code == 201
    (tx,) = transactions(receiver, 1)
    assert tx["transaction"] == "/async/<int:question_id>/"
    assert tx["contexts"]["trace"]["data"]["http.response.status_code"] == 201
    spans = spans_by_op(tx)
    assert "COUNT(*)" in spans["db"][0]["description"]
    assert spans["cache.put"][0]["description"] == "async-poll"
    assert {s["parent_span_id"] for s in tx["spans"]} == {tx["contexts"]["trace"]["span_id"]}


@pytest.mark.django_db(transaction=True, databases="__all__")  # the ASGI threads query
async def test_sync_view_under_asgi(traced: Any, aweb: Any, receiver: Receiver) -> None:
    """A sync view served by ASGI runs in a worker thread: its queries, template and cache calls
    are still spans of the request's transaction."""
    assert (await aweb.get("/polls/9/")).status_code == 200
    (tx,) = transactions(receiver, 1)
    assert tx["transaction"] == "/polls/<int:question_id>/"
    ops = sorted(s["op"] for s in tx["spans"])  # no notes: the template includes no row
    assert ops == ["cache.get", "cache.put", "db", "db", "db", "template.render"]
    assert {s["parent_span_id"] for s in tx["spans"]} <= {
        tx["contexts"]["trace"]["span_id"],
        next(s["span_id"] for s in tx["spans"] if s["op"] == "template.render"),
    }


def test_incoming_trace_is_continued(traced: Any, web: Any, receiver: Receiver) -> None:
    """sentry-trace and baggage from the caller: same trace, the caller's span as parent, the
    caller's sampling decision and DSC kept."""
    web.get(
        "/archive/2024/05/",
        HTTP_SENTRY_TRACE=f"{TRACE}-{PARENT}-1",
        HTTP_BAGGAGE=f"sentry-trace_id={TRACE},sentry-sample_rand=0.25,sentry-release=upstream",
    )
    (tx,) = transactions(receiver, 1)
    trace = tx["contexts"]["trace"]
    assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE, PARENT)
    dsc = receiver.requests[-1].envelope_headers["trace"]
    assert (dsc["trace_id"], dsc["release"]) == (TRACE, "upstream")


def test_tracing_off_sends_no_transaction_but_errors_carry_the_incoming_trace(
    sentry: Any, settings: Any, web: Any, receiver: Receiver, received: Any
) -> None:
    """Without traces_sample_rate: no transaction, no span work; the error links to the caller's trace."""
    settings.ROOT_URLCONF = "tests.django.project.urls_tracing"
    assert web.get("/polls/1/").status_code == 200
    assert web.get("/fail/", HTTP_TRACEPARENT=f"00-{TRACE}-{PARENT}-01").status_code == 500
    (error,) = received(1)
    assert error["contexts"]["trace"]["trace_id"] == TRACE
    assert error["contexts"]["trace"]["parent_span_id"] == PARENT
    assert error["transaction"] == "/fail/"
    assert receiver.transactions == []


@pytest.mark.parametrize("style", ["view", 1])
def test_bad_transaction_style_fails_at_construction(style: Any) -> None:
    """transaction_style takes "url" or "function_name"; anything else names itself in the error."""
    from raven_django import DjangoClient

    with pytest.raises(ConfigurationError, match="transaction_style"):
        DjangoClient(transaction_style=style)


def test_template_and_cache_hooks_are_idempotent_and_undoable(
    traced: Any, receiver: Receiver
) -> None:
    """Installed twice, a template render and a cache read under a manual transaction make one
    span each; after uninstall they make none (the cache made before turns inert); installed
    again, they do again."""
    from django.core.cache import caches
    from django.template import engines
    from raven import hooks
    from raven_django import _cache, signals, tracing

    template = engines["django"].from_string("{{ answer }}")

    def traced_calls(name: str) -> None:
        with traced.start_transaction(name=name, op="task"):
            template.render({"answer": 42})
            caches["default"].get("answer")

    try:
        signals.install()
        signals.install()
        assert hooks.is_installed(tracing.TEMPLATES_HOOK) and hooks.is_installed(_cache.HOOK)
        traced_calls("installed")
        signals.uninstall()
        assert not hooks.is_installed(tracing.TEMPLATES_HOOK)
        assert not hooks.is_installed(_cache.HOOK)
        traced_calls("uninstalled")
    finally:
        signals.install()
    traced_calls("installed again")
    by_name = {tx["transaction"]: tx for tx in transactions(receiver, 3)}
    ops = {name: sorted(s["op"] for s in tx["spans"]) for name, tx in by_name.items()}
    assert ops == {
        "installed": ["cache.get", "template.render"],
        "uninstalled": [],
        "installed again": ["cache.get", "template.render"],
    }
    described = {s["op"]: s["description"] for s in by_name["installed"]["spans"]}
    assert described == {"template.render": "<template string>", "cache.get": "answer"}


def test_under_the_wsgi_sentry_wrapper_a_request_is_still_one_transaction(
    traced: Any, receiver: Receiver, received: Any
) -> None:
    """raven-python's ``application = Sentry(get_wsgi_application())``: the wrapper's
    transaction is the request's, named by its pattern; Django's work is a django.request span
    of it holding the SQL and template spans, and an error links to that span."""
    from django.core.wsgi import get_wsgi_application
    from raven_django.middleware.wsgi import Sentry
    from werkzeug.test import Client

    http = Client(Sentry(get_wsgi_application()))
    assert http.get("/polls/2/", buffered=True).status_code == 200
    assert http.get("/fail/", buffered=True).status_code == 500
    by_name = {tx["transaction"]: tx for tx in transactions(receiver, 2)}
    (error,) = received(1)
    poll, fail = by_name["/polls/<int:question_id>/"], by_name["/fail/"]
    assert poll["transaction_info"] == {"source": "route"}
    assert poll["contexts"]["trace"]["op"] == "http.server"
    spans = spans_by_op(poll)
    (request_span,) = spans["django.request"]
    assert request_span["description"] == "/polls/<int:question_id>/"
    assert request_span["parent_span_id"] == poll["contexts"]["trace"]["span_id"]
    assert {s["parent_span_id"] for s in spans["db"][:2]} == {request_span["span_id"]}
    assert spans["template.render"][0]["parent_span_id"] == request_span["span_id"]
    (fail_span,) = spans_by_op(fail)["django.request"]
    assert fail["contexts"]["trace"]["trace_id"] == error["contexts"]["trace"]["trace_id"]
    assert error["contexts"]["trace"]["span_id"] == fail_span["span_id"]
    assert error["transaction"] == "/fail/"


def test_logs_and_metrics_of_a_request_carry_its_trace(
    traced: Any, settings: Any, web: Any, receiver: Receiver
) -> None:
    from raven_django import get_client
    from raven_django.conf import reset_client

    reset_client()
    settings.RAVEN_CONFIG = {**settings.RAVEN_CONFIG, "enable_logs": True}
    client = get_client()
    assert web.get("/telemetry/").status_code == 200
    client.flush(10)
    (tx,) = transactions(receiver, 1)
    (log,) = [entry for entry in receiver.wait_for_logs(1) if entry["body"] == "order 7 paid"]
    (metric,) = receiver.wait_for_metrics(1)
    trace = tx["contexts"]["trace"]
    assert log["trace_id"] == metric["trace_id"] == trace["trace_id"]
    assert log["span_id"] == metric["span_id"] == trace["span_id"]
