"""Tracing with raven-flask: each request a transaction named by its URL rule, template spans,
the caller's trace continued, errors linked to their request's trace; nothing with tracing off."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import raven
import requests
from jinja2 import DictLoader
from markupsafe import Markup
from raven_flask import Sentry

from flask import Flask, render_template, render_template_string
from tests.flask.apps import serve, settle
from tests.receiver import Receiver
from tests.relay import validate_event

MakeApp = Callable[..., Flask]
Install = Callable[..., Sentry]

TRACE = "771a43a4192642f0b136d5159a501700"
PARENT = "b0e6f15b45c36b12"


def traced_app(make_app: MakeApp, **config: Any) -> Flask:
    """The test app with tracing on, plus a view that renders two templates (one inside the other)."""
    app = make_app(SENTRY_CONFIG={"traces_sample_rate": 1.0}, **config)
    app.jinja_env.loader = DictLoader(
        {"page.html": "<h1>{{ slug }}</h1>{{ inner() }}", "answer.html": "<b>{{ 6 * 7 }}</b>"}
    )
    app.jinja_env.globals["inner"] = lambda: Markup(render_template("answer.html"))

    @app.route("/page/<slug>")
    def page(slug: str) -> str:
        return render_template("page.html", slug=slug)

    return app


# The test client's responses are buffered (read and closed), as a WSGI server's are: the
# transaction ends when the response is closed.


def transactions(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    arrived = receiver.wait_for_transactions(count)
    for event in arrived:
        validate_event(event)
    return arrived


@pytest.mark.parametrize("wrap_wsgi", [True, False], ids=["wsgi-wrapper", "signals"])
def test_each_request_is_a_transaction_named_by_its_url_rule(
    receiver: Receiver, make_app: MakeApp, install: Install, wrap_wsgi: bool
) -> None:
    """A request arrives as one http.server transaction named by its rule (source route), status
    from the response, with a template.render span per template under it."""
    app = traced_app(make_app)
    install(app, wrap_wsgi=wrap_wsgi)
    response = app.test_client().get("/page/home", buffered=True)
    assert response.status_code == 200 and "<b>42</b>" in response.get_data(as_text=True)
    (tx,) = transactions(receiver, 1)
    assert tx["type"] == "transaction"
    assert tx["transaction"] == "/page/<slug>"
    assert tx["transaction_info"] == {"source": "route"}
    trace = tx["contexts"]["trace"]
    assert (trace["op"], trace["status"], trace["origin"]) == (
        "http.server",
        "ok",
        "auto.http.flask",
    )
    assert trace["data"]["http.response.status_code"] == 200
    assert tx["request"]["url"] == "http://localhost/page/home"
    spans = tx["spans"]
    assert [s["op"] for s in spans] == ["template.render", "template.render"]
    assert {s["parent_span_id"] for s in spans} == {trace["span_id"]}
    assert all(s["origin"] == "auto.template.flask" for s in spans)
    outer, inner = spans
    assert (outer["description"], inner["description"]) == ("page.html", "answer.html")
    assert outer["start_timestamp"] <= inner["start_timestamp"] <= inner["timestamp"]
    assert inner["timestamp"] <= outer["timestamp"] <= tx["timestamp"]


def test_statuses_and_urls_without_a_rule(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """abort(404) under a rule is not_found named by the rule; a path no rule matches is named by
    the path (source url)."""
    app = traced_app(make_app)
    install(app)
    http = app.test_client()
    assert http.get("/abort/404", buffered=True).status_code == 404
    assert http.get("/no/such/page", buffered=True).status_code == 404
    by_name = {tx["transaction"]: tx for tx in transactions(receiver, 2)}
    aborted, unmatched = by_name["/abort/<int:code>"], by_name["/no/such/page"]
    assert aborted["transaction_info"] == {"source": "route"}
    assert aborted["contexts"]["trace"]["status"] == "not_found"
    assert unmatched["transaction_info"] == {"source": "url"}
    assert unmatched["contexts"]["trace"]["data"]["http.response.status_code"] == 404


@pytest.mark.parametrize("wrap_wsgi", [True, False], ids=["wsgi-wrapper", "signals"])
def test_an_error_marks_the_transaction_and_links_to_it(
    receiver: Receiver, make_app: MakeApp, install: Install, wrap_wsgi: bool
) -> None:
    """A view's exception: the transaction's status is internal_error and the error event carries
    the transaction's trace and span ids."""
    app = traced_app(make_app)
    sentry = install(app, wrap_wsgi=wrap_wsgi)
    assert app.test_client().get("/boom", buffered=True).status_code == 500
    (tx,) = transactions(receiver, 1)
    (error,) = settle(receiver, sentry.client)
    trace = tx["contexts"]["trace"]
    assert tx["transaction"] == "/boom" and trace["status"] == "internal_error"
    assert error["contexts"]["trace"]["trace_id"] == trace["trace_id"]
    assert error["contexts"]["trace"]["span_id"] == trace["span_id"]
    assert error["transaction"] == "boom"


@pytest.mark.parametrize("wrap_wsgi", [True, False], ids=["wsgi-wrapper", "signals"])
def test_an_error_propagated_in_testing_mode_marks_the_transaction(
    receiver: Receiver, make_app: MakeApp, install: Install, wrap_wsgi: bool
) -> None:
    """With app.testing the view's exception reaches the caller, no response is made: the
    transaction is internal_error all the same."""
    app = traced_app(make_app, TESTING=True)
    install(app, wrap_wsgi=wrap_wsgi)
    with pytest.raises(ValueError, match="boom"):
        app.test_client().get("/boom", buffered=True)
    (tx,) = transactions(receiver, 1)
    assert (tx["transaction"], tx["contexts"]["trace"]["status"]) == ("/boom", "internal_error")


def test_a_streamed_body_failing_half_way_is_internal_error(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """The transaction spans the whole response: a body that breaks while sent marks it failed."""
    app = traced_app(make_app)
    sentry = install(app)
    with pytest.raises(OSError, match="the stream broke"):
        app.test_client().get("/stream", buffered=True)
    (tx,) = transactions(receiver, 1)
    (error,) = settle(receiver, sentry.client)
    assert tx["transaction"] == "/stream"
    assert tx["contexts"]["trace"]["status"] == "internal_error"
    assert error["contexts"]["trace"]["trace_id"] == tx["contexts"]["trace"]["trace_id"]


def test_incoming_trace_is_continued_over_http(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """A request carrying sentry-trace and baggage, over a real server: the transaction continues
    that trace under the caller's span, and follows the caller's sampling decision."""
    app = make_app(SENTRY_CONFIG={"traces_sample_rate": 0.0})  # the caller's decision wins
    install(app)
    with serve(app) as base:
        response = requests.get(
            f"{base}/abort/409",
            headers={
                "sentry-trace": f"{TRACE}-{PARENT}-1",
                "baggage": f"sentry-trace_id={TRACE},sentry-sample_rand=0.5,vendor=kept",
            },
            timeout=10,
        )
    assert response.status_code == 409
    (tx,) = transactions(receiver, 1)
    trace = tx["contexts"]["trace"]
    assert (trace["trace_id"], trace["parent_span_id"]) == (TRACE, PARENT)
    assert trace["status"] == "already_exists"
    assert tx["transaction"] == "/abort/<int:code>"
    assert receiver.requests[-1].envelope_headers["trace"]["trace_id"] == TRACE


def test_tracing_off_sends_no_transaction_but_errors_carry_the_incoming_trace(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """Without traces_sample_rate no transaction is sent; an error still links to the caller's trace."""
    app = make_app()

    @app.route("/render")
    def render() -> str:
        return render_template_string("{{ 1 + 1 }}")

    sentry = install(app)
    http = app.test_client()
    assert http.get("/render").get_data(as_text=True) == "2"
    assert http.get("/boom", headers={"sentry-trace": f"{TRACE}-{PARENT}-1"}).status_code == 500
    (error,) = settle(receiver, sentry.client)
    assert error["contexts"]["trace"]["trace_id"] == TRACE
    assert error["contexts"]["trace"]["parent_span_id"] == PARENT
    assert receiver.transactions == []
    assert all(r.item_types == ["event"] for r in receiver.requests)


def test_uninit_app_stops_the_transactions(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    """After uninit_app a request makes neither a transaction nor a template span."""
    client = raven.Client(receiver.dsn, traces_sample_rate=1.0)
    try:
        app = traced_app(make_app)
        sentry = install(app, client=client)
        http = app.test_client()
        http.get("/page/one", buffered=True)
        transactions(receiver, 1)
        sentry.init_app(app)  # idempotent
        sentry.uninit_app(app)
        http.get("/page/two", buffered=True)
        settle(receiver, client)
        assert [tx["transaction"] for tx in receiver.transactions] == ["/page/<slug>"]
    finally:
        client.close()


def test_logs_and_metrics_of_a_request_carry_its_trace(
    receiver: Receiver, make_app: MakeApp, install: Install
) -> None:
    app = make_app(SENTRY_CONFIG={"traces_sample_rate": 1.0, "enable_logs": True})
    sentry = install(app)
    logger = logging.getLogger("shop.orders")
    logger.setLevel(logging.INFO)  # the root logger's WARNING would filter the record out

    @app.route("/pay")
    def pay() -> str:
        logger.info("order %s paid", 7)
        sentry.client.metrics.count("orders.paid", 1)
        return "ok"

    assert app.test_client().get("/pay", buffered=True).status_code == 200
    sentry.client.flush(10)
    (tx,) = transactions(receiver, 1)
    (log,) = [entry for entry in receiver.wait_for_logs(1) if entry["body"] == "order 7 paid"]
    (metric,) = receiver.wait_for_metrics(1)
    trace = tx["contexts"]["trace"]
    assert log["trace_id"] == metric["trace_id"] == trace["trace_id"]
    assert log["span_id"] == metric["span_id"] == trace["span_id"]
