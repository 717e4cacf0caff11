"""raven-django against a real Bugsink: a Django project under gunicorn (2 workers), real HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.bugsink import Project
from tests.e2e.servers import REPO, app_env, gunicorn_command, serving
from tests.relay import validate_event

SETTINGS = "tests.e2e.apps.django_shop.settings"


@pytest.fixture
def shop(project: Project, tmp_path: Path) -> Iterator[str]:
    """The Django shop (migrated SQLite database) under gunicorn; its base URL."""
    env = app_env(
        project.dsn, DJANGO_SETTINGS_MODULE=SETTINGS, E2E_DB=str(tmp_path / "shop.sqlite3")
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
