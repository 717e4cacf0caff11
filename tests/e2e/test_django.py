"""raven-django end to end: a Django project under gunicorn (2 workers), real HTTP; errors into a
real Bugsink, and a trace across two real services (the Django shop calling a Flask stock service)
into a loopback receiver."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import raven
import requests
from raven_flask import Sentry
from werkzeug.serving import make_server

from flask import Flask
from tests.e2e.bugsink import Project
from tests.e2e.servers import REPO, app_env, gunicorn_command, serving
from tests.receiver import Receiver
from tests.relay import validate_event

SETTINGS = "tests.e2e.apps.django_shop.settings"


@pytest.fixture
def shop(project: Project, tmp_path: Path) -> Iterator[str]:
    """The Django shop (migrated SQLite database) under gunicorn; its base URL."""
    with django_shop(project.dsn, tmp_path) as base:
        yield base


@contextmanager
def django_shop(dsn: str, tmp_path: Path, **extra_env: str) -> Iterator[str]:
    """The Django shop (migrated SQLite database) under gunicorn, reporting to ``dsn``."""
    env = app_env(
        dsn, DJANGO_SETTINGS_MODULE=SETTINGS, E2E_DB=str(tmp_path / "shop.sqlite3"), **extra_env
    )
    migrate = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    with serving(
        lambda port: gunicorn_command("tests.e2e.apps.django_shop.wsgi:application", port),
        env,
        tmp_path / "gunicorn.log",
    ) as base:
        yield base


@contextmanager
def stock_service(dsn: str) -> Iterator[tuple[str, raven.Client]]:
    """A second service: a Flask app traced by its own Raven client, served by werkzeug on a
    loopback port in a thread; its base URL and client."""
    client = raven.Client(dsn, traces_sample_rate=1.0, release="stock@1.0")
    app = Flask("stock")

    @app.route("/stock/<int:sku>")
    def stock(sku: int) -> str:
        return str(sku * 3)

    Sentry(app, client=client)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", client
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        client.close()


def test_a_request_across_two_services_is_one_trace(receiver: Receiver, tmp_path: Path) -> None:
    """The shop's checkout queries its database and calls the stock service over HTTP: two
    transactions of one trace, the stock's parent span being the shop's http.client span."""
    with (
        stock_service(receiver.dsn) as (stock_url, stock_client),
        django_shop(
            receiver.dsn, tmp_path, E2E_TRACES_SAMPLE_RATE="1.0", E2E_STOCK_URL=stock_url
        ) as shop,
    ):
        response = requests.get(f"{shop}/checkout/14/", timeout=10)
        assert (response.status_code, response.text) == (200, "0 shoppers, stock 42")
        arrived = receiver.wait_for_transactions(2, timeout=30)
    by_op: dict[str, dict[str, Any]] = {}
    for tx in arrived:
        validate_event(tx)
        by_op[tx["contexts"]["trace"]["origin"]] = tx
    shop_tx, stock_tx = by_op["auto.http.django"], by_op["auto.http.flask"]
    assert (shop_tx["transaction"], shop_tx["release"]) == (
        "/checkout/<int:order_id>/",
        "django-shop@3.1.0",
    )
    assert (stock_tx["transaction"], stock_tx["release"]) == ("/stock/<int:sku>", "stock@1.0")
    shop_trace, stock_trace = shop_tx["contexts"]["trace"], stock_tx["contexts"]["trace"]
    assert shop_trace["trace_id"] == stock_trace["trace_id"]
    assert "parent_span_id" not in shop_trace  # the shop started the trace

    spans = {span["op"]: span for span in shop_tx["spans"]}
    assert "auth_user" in spans["db"]["description"]
    call = spans["http.client"]
    assert call["description"] == f"GET {stock_url}/stock/14"
    assert call["parent_span_id"] == shop_trace["span_id"]
    assert call["data"]["http.response.status_code"] == 200
    assert stock_trace["parent_span_id"] == call["span_id"]
    assert stock_trace["status"] == shop_trace["status"] == "ok"
    # Both envelopes carry the shop's sampling context: the stock service continued it.
    dscs = [
        r.envelope_headers["trace"] for r in receiver.requests if r.item_types == ["transaction"]
    ]
    assert len(dscs) == 2
    assert {(d["trace_id"], d["release"], d["sampled"]) for d in dscs} == {
        (shop_trace["trace_id"], "django-shop@3.1.0", "true")
    }
    assert stock_client.flush(10)


def test_view_error_becomes_an_issue_with_request_user_and_breadcrumbs(
    shop: str, project: Project
) -> None:
    """A failing view is stored with its stack, locals, request, authenticated user (its id), SQL and log breadcrumbs."""
    response = requests.get(
        f"{shop}/orders/42/?coupon=SPRING",
        headers={"X-Remote-User": "alice", "User-Agent": "e2e-browser/1.0"},
        timeout=10,
    )
    assert response.status_code == 500
    (event,) = project.wait_for_events(1)
    data = event["data"]
    validate_event(data)

    (issue,) = project.issues()
    assert (issue["calculated_type"], issue["calculated_value"]) == (
        "LookupError",
        "order 42 not found (0 shoppers)",
    )
    frame = data["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "order" and frame["module"] == "tests.e2e.apps.django_shop.urls"
    assert frame["context_line"].strip().startswith("raise LookupError(")
    assert frame["vars"]["order_id"] == 42 and frame["vars"]["shoppers"] == 0
    assert data["exception"]["values"][-1]["mechanism"]["handled"] is False

    req = data["request"]
    assert req["url"] == f"{shop}/orders/42/"
    assert req["method"] == "GET"
    assert req["query_string"] == "coupon=SPRING"
    assert req["headers"]["User-Agent"] == "e2e-browser/1.0"
    # without send_default_pii: the user's id only, and no client address (the privacy fix, first seen
    # on a Django app under gunicorn sending to Bugsink)
    assert list(data["user"]) == ["id"] and data["user"]["id"]
    assert "REMOTE_ADDR" not in req.get("env", {})
    assert "order" in data["transaction"]
    crumbs = data["breadcrumbs"]["values"]
    assert any("auth_user" in (c.get("message") or "") for c in crumbs), crumbs
    assert any(c.get("message") == "order 42 looked up by alice" for c in crumbs), crumbs
    assert (data["release"], data["environment"]) == ("django-shop@3.1.0", "e2e")


def test_repeated_errors_group_and_clean_requests_send_nothing(shop: str, project: Project) -> None:
    """The same failure on four orders is one issue of four events; 200s and 404s add nothing."""
    assert requests.get(f"{shop}/ok/", timeout=10).status_code == 200
    assert requests.get(f"{shop}/no-such-page/", timeout=10).status_code == 404
    for order_id in range(1, 5):
        assert requests.get(f"{shop}/orders/{order_id}/", timeout=10).status_code == 500
    events = project.wait_for_events(4)
    assert len(events) == 4
    (issue,) = project.issues()
    assert issue["digested_event_count"] == 4
