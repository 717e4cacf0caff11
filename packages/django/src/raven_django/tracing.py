"""Tracing for Django: a transaction per request, a span per SQL query and per template rendered.

- The request's transaction (op ``http.server``) is started and finished with the request's
  scope (``_scope``), continuing the caller's ``sentry-trace``/``traceparent`` and ``baggage``;
  it is named like error events (``_routes``: the URL pattern, or the view's dotted path), and
  takes the response's status.
- SQL: the execute wrapper of ``_sql`` times every query in a ``db`` span (the statement as its
  description; the parameters only with ``send_default_pii``).
- Templates: ``django.template.base.Template.render`` (a process-wide hook of ``raven.hooks``,
  ``"django.template.render"``, held while the app is installed) runs in a ``template.render``
  span, so what a template queries lazily nests under it.

With tracing off nothing here does more than a check of the current span.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from raven import hooks
from raven.guard import capture_internal_errors

from . import conf
from ._routes import transaction_for

__all__ = [
    "MAX_PARAMS",
    "TEMPLATES_HOOK",
    "copy_params",
    "finish_query_span",
    "finish_request_transaction",
    "start_query_span",
    "start_request_transaction",
]

TEMPLATES_HOOK = "django.template.render"
MAX_PARAMS = 50


# -- the request ------------------------------------------------------------------------------
def start_request_transaction(client: Any, request: Any, outer: Any = None) -> Any:
    """The request's transaction, started and current; None with tracing off and no caller's
    trace to link errors to (then there is nothing to start).

    Under a span already running when the request's scope opened (``outer``: the transaction of
    the WSGI ``Sentry`` wrapper, or one the app started around the handler) the request is a
    ``django.request`` span of it instead, and :func:`finish_request_transaction` names that
    transaction by the request's pattern: one transaction per request, whatever wraps Django.
    """
    if outer is not None:
        if outer.sampled:
            span = outer.start_child(
                op="django.request", description=request.path_info or "/", origin="auto.http.django"
            )
            span.activate()
            return span
        # Not recorded: errors of the request still belong to its trace.
        client.continue_trace(
            {"sentry-trace": outer.to_sentry_trace(), "baggage": outer.to_baggage()}
        )
        return None
    meta = request.META
    # Header keys in META are upper case: without these two there is no trace to continue.
    incoming = "HTTP_SENTRY_TRACE" in meta or "HTTP_TRACEPARENT" in meta
    if not incoming and not client.tracing_enabled:
        return None
    sampling: dict[str, Any] = {"django_request": request}
    environ = getattr(request, "environ", None)  # WSGIRequest
    if environ is not None:
        sampling["wsgi_environ"] = environ
    transaction = client.start_transaction(
        name=request.path_info or "/",
        op="http.server",
        source="url",
        origin="auto.http.django",
        headers=meta if incoming else None,
        custom_sampling_context=sampling,
    )
    transaction.activate()
    if transaction.sampled:
        transaction.set_request(_url(request), request.method)
    return transaction


def _url(request: Any) -> str | None:
    """The request's URL without its query; None for a host Django refuses (DisallowedHost)."""
    try:
        return f"{request.scheme}://{request.get_host()}{request.path}"
    except Exception:
        return None


def finish_request_transaction(client: Any, transaction: Any, request: Any, response: Any) -> None:
    """Name the transaction by the resolved pattern, give it the response's status (none: the
    handler raised) and finish it. A ``django.request`` span names its transaction instead."""
    if transaction.sampled:
        named = transaction_for(request, getattr(client, "transaction_style", "url"))
        if named is not None:
            if transaction.transaction is transaction:
                transaction.set_name(*named)
            else:
                transaction.description = named[0]
                transaction.transaction.set_name(*named)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            transaction.set_http_status(status)
        else:
            transaction.set_status("internal_error")
    transaction.finish()


# -- SQL --------------------------------------------------------------------------------------
def start_query_span(client: Any, sql: Any, params: Any, many: bool, connection: Any) -> Any:
    """A ``db`` span for a query about to run, or None when no span records.

    A child of the current span started through that span's tracer (the client's checks are
    made by the caller once per query), its data built in one dict.
    """
    parent = client.current_span()
    if parent is None or not getattr(client, "install_sql_hook", True):
        return None
    description = sql if sql.__class__ is str else str(sql)
    span = parent.tracer.child_of(parent, "db", description, "auto.db.django")
    if not span.sampled:
        return None
    data: dict[str, Any] = {} if connection is None else _connection_data(connection)
    if many:
        data["db.executemany"] = True
    elif params is not None and client.options.send_default_pii:
        data["db.params"] = copy_params(params)
    if data:
        span.data = data
    return span


def _connection_data(connection: Any) -> dict[str, Any]:
    """A new copy of what a query's span says about ``connection``: its vendor, database, host
    and port. Made once per connection and kept on it, for as long as its settings say the same
    (Django's test runner renames the database in place)."""
    settings = getattr(connection, "settings_dict", None) or {}
    key = (connection.vendor, settings.get("NAME"), settings.get("HOST"), settings.get("PORT"))
    store = getattr(connection, "__dict__", None)  # None: a proxy with slots, nothing kept
    cached = store.get("_raven_span_data") if store is not None else None
    if cached is None or cached[0] != key:
        vendor, name, host, port = key
        data: dict[str, Any] = {"db.system": vendor}
        if name:
            data["db.name"] = str(name)
        if host:
            data["server.address"] = str(host)
        if port:
            data["server.port"] = int(port) if str(port).isdigit() else str(port)
        cached = (key, data)
        if store is not None:
            store["_raven_span_data"] = cached
    return dict(cached[1])


def finish_query_span(span: Any, failed: bool) -> None:
    """End a query's span (``internal_error`` when the query raised)."""
    if failed:
        span.status = "internal_error"
    span.finish()


def copy_params(params: Any) -> Any:
    """The first parameters of a query (at most ``MAX_PARAMS``), copied."""
    if isinstance(params, Mapping):
        return dict(list(params.items())[:MAX_PARAMS])
    if isinstance(params, Sequence) and not isinstance(params, (str, bytes)):
        return list(params[:MAX_PARAMS])
    return params


# -- templates --------------------------------------------------------------------------------
_originals: dict[str, Callable[..., Any]] = {}


@capture_internal_errors("django", "starting a template span")
def _template_span(template: Any) -> Any:
    client = conf.client_or_none()
    if client is None or client.current_span() is None:
        return None
    name = getattr(template, "name", None) or "<template string>"
    span = client.start_span(
        op="template.render", description=str(name), origin="auto.template.django"
    )
    return span if span.sampled else None


def _install_templates() -> None:
    from django.template.base import Template

    render = _originals["render"] = Template.render

    @functools.wraps(render)
    def raven_render(self: Template, context: Any) -> Any:
        span = _template_span(self) if _originals.get("render") is render else None
        if span is None:
            return render(self, context)
        with span:
            return render(self, context)

    Template.render = raven_render  # type: ignore[method-assign]


def _uninstall_templates() -> None:
    from django.template.base import Template

    # Restore only what is still ours; ours under another wrapper turns inert (see _scope).
    if getattr(Template.render, "__wrapped__", None) is _originals.get("render"):
        Template.render = _originals["render"]  # type: ignore[method-assign]
    _originals.clear()


hooks.register(TEMPLATES_HOOK, _install_templates, _uninstall_templates)
