"""Tracing for Flask: the request's status on its transaction, and a span per rendered template.

The transaction itself is started and finished with the request's scope (see ``_scope``). The
template receivers are connected only when the client traces, so an app without tracing pays
nothing when it renders.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask.signals import before_render_template, template_rendered
from raven.guard import capture_internal_errors

__all__ = ["TemplateSpans", "record_status"]

_STACK = "_raven_template_spans"  # on ``g``: templates render inside templates


@capture_internal_errors("flask", "recording the response's status")
def record_status(transaction: Any, status: int | str) -> None:
    """The response's status (a code, or a WSGI status line) on the request's transaction."""
    if transaction is not None and transaction.sampled:
        transaction.set_http_status(status if isinstance(status, int) else int(status[:3]))


class TemplateSpans:
    """A ``template.render`` span (described by the template's name) around each template the
    app renders while a span records; connected to one app's template signals."""

    def __init__(self, app: Flask, client: Any) -> None:
        self.app = app
        self.client = client

    def connect(self) -> list[tuple[Any, Any]]:
        """Connect the receivers; returns the (signal, receiver) pairs to disconnect."""
        pairs = [(before_render_template, self.started), (template_rendered, self.rendered)]
        for signal, receiver in pairs:
            signal.connect(receiver, sender=self.app, weak=False)
        return pairs

    @capture_internal_errors("flask", "starting a template span")
    def started(self, app: Flask, template: Any = None, **_: Any) -> None:
        client = self.client
        span: Any = None  # pushed too, so that each rendered() pops its own started()
        if client.current_span() is not None:
            name = getattr(template, "name", None) or "<template string>"
            span = client.start_span(
                op="template.render", description=name, origin="auto.template.flask"
            )
        stack = g.get(_STACK)
        if stack is None:
            stack = []
            setattr(g, _STACK, stack)
        stack.append(span)

    @capture_internal_errors("flask", "finishing a template span")
    def rendered(self, app: Flask, template: Any = None, **_: Any) -> None:
        stack = g.get(_STACK)
        if stack:
            span = stack.pop()
            if span is not None:
                span.finish()
