"""A small JSON API over what arrived (``/api/0/...``), for scripts and tests: projects with their
DSNs, issues, an issue's events, an event's JSON, transactions, release health, monitors, logs and
the items that were counted rather than stored."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import queries
from .web import dsn_for, issue_filter, project_param, server_of

__all__ = ["routes"]


def _json(value: Any, status: int = 200) -> Response:
    return JSONResponse(value, status_code=status)


def _not_found(what: str) -> Response:
    return _json({"detail": f"{what} not found"}, 404)


def projects(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        found = queries.projects(db)
    return _json([{**p, "dsn": dsn_for(request, p)} for p in found])


def project_issues(request: Request) -> Response:
    where = issue_filter(request, int(request.path_params["project_id"]))
    with server_of(request).db.reading() as db:
        found, total = queries.issues(db, where)
    return _json({"total": total, "issues": found})


def issue(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        found = queries.issue(db, int(request.path_params["issue_id"]))
    return _json(found) if found else _not_found("issue")


def issue_events(request: Request) -> Response:
    limit = min(int(request.query_params.get("limit", "100")), 1000)
    offset = int(request.query_params.get("offset", "0"))
    with server_of(request).db.reading() as db:
        found = queries.issue_events(db, int(request.path_params["issue_id"]), limit, offset)
    return _json(found)


def event(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        found = queries.event(db, event_id=str(request.path_params["event_id"]))
    return _json(found) if found else _not_found("event")


def transactions(request: Request) -> Response:
    trace = request.query_params.get("trace", "")
    with server_of(request).db.reading() as db:
        found = queries.transactions(db, project_param(request), trace)
    return _json(found)


def release_health(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        return _json(queries.release_health(db, project_param(request)))


def monitors(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        return _json(queries.monitors(db, project_param(request)))


def logs(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        return _json(queries.logs(db, project_param(request)))


def item_counts(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        return _json(queries.item_counts(db))


routes = [
    Route("/api/0/projects/", projects),
    Route("/api/0/projects/{project_id:int}/issues/", project_issues),
    Route("/api/0/issues/{issue_id:int}/", issue),
    Route("/api/0/issues/{issue_id:int}/events/", issue_events),
    Route("/api/0/events/{event_id}/", event),
    Route("/api/0/transactions/", transactions),
    Route("/api/0/release-health/", release_health),
    Route("/api/0/monitors/", monitors),
    Route("/api/0/logs/", logs),
    Route("/api/0/item-counts/", item_counts),
]
