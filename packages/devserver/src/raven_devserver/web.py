"""The pages: issues, an issue with one of its events, transactions with their waterfall, release
health, monitors, logs and projects; and ``/live``, the event stream that lets an open page
refresh itself when something arrives. Every page reads fine without JavaScript."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from . import queries
from .__about__ import __version__
from .views import event_view, pretty, stamp, waterfall

if TYPE_CHECKING:
    from .app import DevServer

__all__ = ["dsn_for", "issue_filter", "project_param", "routes", "server_of"]

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _ago(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    delta = max(0.0, time.time() - seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if delta >= size:
            return f"{int(delta // size)} {unit} ago"
    return f"{int(delta)} s ago"


_templates.filters.update(ago=_ago, stamp=stamp, pretty=pretty)


def server_of(request: Request) -> DevServer:
    server: DevServer = request.app.state.devserver
    return server


def dsn_for(request: Request, project: dict[str, Any]) -> str:
    """The DSN of ``project`` at the address the request reached this server by."""
    return f"{request.url.scheme}://{project['public_key']}@{request.url.netloc}/{project['id']}"


def project_param(request: Request) -> int | None:
    value = request.query_params.get("project", "")
    return int(value) if value.isdigit() else None


def issue_filter(request: Request, project: int | None) -> queries.IssueFilter:
    """The issue list's filters, from the query string."""
    params = request.query_params
    page = params.get("page", "1")
    return queries.IssueFilter(
        project=project,
        level=params.get("level", ""),
        release=params.get("release", ""),
        environment=params.get("environment", ""),
        query=params.get("query", "").strip(),
        sort=params.get("sort", "last_seen"),
        page=int(page) if page.isdigit() else 1,
    )


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    server = server_of(request)
    with server.db.reading() as db:
        projects = queries.projects(db)
    html = _templates.get_template(name).render(
        request=request,
        version=server.version,
        devserver_version=__version__,
        projects=projects,
        project=project_param(request),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _with(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    params.update({k: str(v) for k, v in changes.items() if v is not None})
    for key in [k for k, v in changes.items() if v is None]:
        params.pop(key, None)
    return f"{request.url.path}?{urlencode(params)}"


def issue_list(request: Request) -> Response:
    where = issue_filter(request, project_param(request))
    with server_of(request).db.reading() as db:
        found, total = queries.issues(db, where)
        choices = queries.facets(db, where.project)
    pages = max(1, -(-total // where.per_page))
    return _render(
        request, "issues.html", issues=found, total=total, where=where, choices=choices,
        pages=pages, link=lambda **c: _with(request, **c),
    )  # fmt: skip


def _issue_page(request: Request, issue_id: int, event_id: str | None) -> Response:
    with server_of(request).db.reading() as db:
        issue = queries.issue(db, issue_id)
        if issue is None:
            return _render(request, "missing.html", 404, what="issue")
        event = queries.event(db, event_id=event_id) if event_id else None
        event = event or queries.event(db, issue_id=issue_id)
        around = queries.event_neighbours(db, issue_id, event["id"]) if event else {}
        recent = queries.issue_events(db, issue_id, limit=10)
        files = queries.attachments(db, event["event_id"]) if event else []
    return _render(
        request, "issue.html", issue=issue, event=event, around=around, recent=recent,
        attachments=files, view=event_view(event["data"]) if event else None,
    )  # fmt: skip


def issue_page(request: Request) -> Response:
    return _issue_page(
        request, int(request.path_params["issue_id"]), request.query_params.get("event")
    )


def event_page(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        event = queries.event(db, event_id=str(request.path_params["event_id"]))
    if event is None:
        return _render(request, "missing.html", 404, what="event")
    return _issue_page(request, event["issue_id"], event["event_id"])


def transaction_list(request: Request) -> Response:
    trace = request.query_params.get("trace", "")
    with server_of(request).db.reading() as db:
        found = queries.transactions(db, project_param(request), trace)
        errors = queries.trace_events(db, trace) if trace else []
    return _render(request, "transactions.html", transactions=found, trace=trace, errors=errors)


def transaction_page(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        found = queries.transaction(db, str(request.path_params["event_id"]))
    if found is None:
        return _render(request, "missing.html", 404, what="transaction")
    return _render(request, "transaction.html", transaction=found, bars=waterfall(found["data"]))


def sessions_page(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        rows = queries.release_health(db, project_param(request))
    return _render(request, "sessions.html", rows=rows)


def monitors_page(request: Request) -> Response:
    monitor = request.query_params.get("monitor", "")
    with server_of(request).db.reading() as db:
        rows = queries.monitors(db, project_param(request))
        recent = queries.check_ins(db, monitor) if monitor else []
    return _render(request, "monitors.html", monitors=rows, monitor=monitor, recent=recent)


def logs_page(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        rows = queries.logs(db, project_param(request))
    return _render(request, "logs.html", logs=rows)


async def projects_page(request: Request) -> Response:
    server = server_of(request)
    if request.method == "POST":
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        name = (form.get("name") or ["project"])[0].strip()[:100] or "project"
        await server.create_project(name)
        return RedirectResponse("/projects", status_code=303)
    with server.db.reading() as db:
        found = queries.projects(db)
        counts = queries.item_counts(db)
    dsns = {p["id"]: dsn_for(request, p) for p in found}
    return _render(request, "projects.html", dsns=dsns, counts=counts)


def attachment(request: Request) -> Response:
    with server_of(request).db.reading() as db:
        row = db.execute(
            "SELECT filename, content_type, data FROM attachments WHERE id = ?",
            (int(request.path_params["attachment_id"]),),
        ).fetchone()
    if row is None:
        return _render(request, "missing.html", 404, what="attachment")
    disposition = f"attachment; filename*=UTF-8''{quote(row['filename'])}"
    return Response(row["data"], media_type="application/octet-stream",
                    headers={"Content-Disposition": disposition})  # fmt: skip


async def live(request: Request) -> Response:
    """Server-sent events: ``data: <version>`` whenever something new is stored."""
    server = server_of(request)
    seen = request.query_params.get("v", "")

    async def stream() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        async for version in server.changes(int(seen) if seen.isdigit() else server.version):
            yield ": keep-alive\n\n" if version < 0 else f"data: {version}\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


routes = [
    Route("/", issue_list),
    Route("/issues/{issue_id:int}", issue_page),
    Route("/events/{event_id}", event_page),
    Route("/transactions", transaction_list),
    Route("/transactions/{event_id}", transaction_page),
    Route("/sessions", sessions_page),
    Route("/monitors", monitors_page),
    Route("/logs", logs_page),
    Route("/projects", projects_page, methods=["GET", "POST"]),
    Route("/attachments/{attachment_id:int}", attachment),
    Route("/live", live),
]
