"""raven-flask against a real Bugsink: a Flask app under gunicorn (2 workers), real HTTP requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.bugsink import Project
from tests.e2e.servers import app_env, gunicorn_command, serving
from tests.relay import validate_event


@pytest.fixture
def shop(project: Project, tmp_path: Path) -> Iterator[str]:
    """The Flask shop under gunicorn, reporting to this test's project; its base URL."""
    with serving(
        lambda port: gunicorn_command("tests.e2e.apps.flask_shop:app", port),
        app_env(project.dsn),
        tmp_path / "gunicorn.log",
    ) as base:
        yield base


def test_request_error_becomes_an_issue_with_request_and_scope(shop: str, project: Project) -> None:
    """A failing request is stored with its stack, locals, request, user, tags, breadcrumbs, release and environment."""
    response = requests.post(
        f"{shop}/orders/42?coupon=SPRING",
        data={"note": "leave at door"},
        headers={"X-User": "7", "User-Agent": "e2e-browser/1.0"},
        timeout=10,
    )
    assert response.status_code == 500
    (event,) = project.wait_for_events(1)
    data = event["data"]
    validate_event(data)
    assert response.headers.get("X-Sentry-ID") == event["event_id"].replace("-", "")

    (issue,) = project.issues()
    assert (issue["calculated_type"], issue["calculated_value"]) == (
        "LookupError",
        "order 42 not found in warehouse 2",
    )
    frame = data["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "order" and frame["module"] == "tests.e2e.apps.flask_shop"
    assert frame["context_line"].strip().startswith("raise LookupError(")
    assert frame["vars"]["order_id"] == 42
    assert frame["vars"]["basket"] == {"order": 42, "skus": ["A-1", "B-2"]}
    assert data["exception"]["values"][-1]["mechanism"]["handled"] is False

    req = data["request"]
    assert req["url"] == f"{shop}/orders/42"
    assert req["method"] == "POST"
    assert req["query_string"] == "coupon=SPRING"
    assert req["data"] == {"note": "leave at door"}
    assert req["headers"]["User-Agent"] == "e2e-browser/1.0"
    assert "REMOTE_ADDR" not in req.get("env", {})  # the client's address needs send_default_pii
    assert data["transaction"] == "order"
    assert data["user"]["id"] == "7"
    assert data["tags"]["shop.region"] == "eu-west"
    assert any(c.get("message") == "loading order 42" for c in data["breadcrumbs"]["values"])
    assert (data["release"], data["environment"]) == ("flask-shop@2.0.1", "e2e")


def test_repeated_errors_group_and_clean_requests_send_nothing(shop: str, project: Project) -> None:
    """The same failure on five orders is one issue of five events; 200s and 404s add nothing."""
    assert requests.get(f"{shop}/ok", timeout=10).status_code == 200
    assert requests.get(f"{shop}/no-such-page", timeout=10).status_code == 404
    for order_id in range(1, 6):
        assert requests.get(f"{shop}/orders/{order_id}", timeout=10).status_code == 500
    events = project.wait_for_events(5)
    assert len(events) == 5
    (issue,) = project.issues()
    assert issue["digested_event_count"] == 5
    assert {e["data"]["request"]["url"] for e in events} == {
        f"{shop}/orders/{n}" for n in range(1, 6)
    }
