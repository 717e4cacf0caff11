"""Capturing never evaluates Django's lazy objects: QuerySets, lazy strings and lazy objects held
in a failing view's locals are described without running SQL or their functions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from django.db import connections

pytestmark = pytest.mark.django_db(databases="__all__")


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Every SQL statement run on any database alias while the block runs."""
    queries: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(record))
        yield queries


def test_queryset_local_runs_no_sql_while_the_event_is_built(
    monkeypatch: pytest.MonkeyPatch, sentry: Any, web: Any, received: Any
) -> None:
    """A view failing with unevaluated QuerySets, a lazy string and a SimpleLazyObject in its locals runs none of their queries while the event is built, and the event arrives describing them."""
    during_capture: list[str] = []
    capture = sentry.captureException

    def counting_capture(*args: Any, **kwargs: Any) -> Any:
        with count_queries() as queries:
            try:
                return capture(*args, **kwargs)
            finally:
                during_capture.extend(queries)

    monkeypatch.setattr(sentry, "captureException", counting_capture)
    response = web.get("/lazy-locals-boom/")
    assert response.status_code == 500
    (event,) = received(1)
    # Raven's own lookups (the current site, in a savepoint) may run; the view's lazy objects not.
    assert [q for q in during_capture if "project_note" in q] == []
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["function"] == "lazy_locals_boom"
    variables = frame["vars"]
    assert variables["notes"] == "<QuerySet: model=project.Note>"
    assert variables["nested"] == {"pages": ["<QuerySet: model=project.Note>"]}
    assert variables["heading"] == "<lazy gettext('Your notes')>"
    assert variables["owner"] == "<SimpleLazyObject: not evaluated>"


def test_fetched_queryset_says_how_many_rows_it_holds() -> None:
    """A QuerySet already evaluated shows its model and row count, still without a query."""
    from raven.serializer import transform

    from tests.django.project.models import Note

    Note.objects.create(title="a")
    notes = Note.objects.all()
    list(notes)
    with count_queries() as queries:
        assert transform(notes) == "<QuerySet: model=project.Note, 1 rows fetched>"
    assert queries == []


def test_uninstall_removes_the_representations() -> None:
    """After the app's receivers are uninstalled, a QuerySet is serialized the ordinary way again."""
    from raven.serializer import transform
    from raven_django import signals

    from tests.django.project.models import Note

    signals.uninstall()
    try:
        with count_queries() as queries:
            text = transform(Note.objects.filter(title="nothing"))
        assert text == "<QuerySet []>"
        assert len(queries) == 1  # what the representation exists to avoid
    finally:
        signals.install()
    with count_queries() as queries:
        assert transform(Note.objects.all()) == "<QuerySet: model=project.Note>"
    assert queries == []
