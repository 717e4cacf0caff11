"""A transaction's event is built on the background transport's encoder thread when nothing
needs it earlier, and right away otherwise: either way the same transaction arrives."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import raven
from raven.receiver import Receiver
from raven.tracing.event import TransactionEvent
from raven.transport import ThreadedTransport

from tests.relay import validate_event


def make_client(receiver: Receiver, cls: type[raven.Client] = raven.Client, **options: Any) -> Any:
    return cls(receiver.dsn, install_sys_hook=False, traces_sample_rate=1.0, **options)


class _Reprs:
    """A span data value that is not plain: its repr runs where the data is serialized."""

    threads: list[str] = []

    def __repr__(self) -> str:
        type(self).threads.append(threading.current_thread().name)
        return "<reprs>"


def _built_on(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that build transaction events from now on."""
    threads: list[str] = []
    event = TransactionEvent.event

    def recording(self: TransactionEvent) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return event(self)

    monkeypatch.setattr(TransactionEvent, "event", recording)
    return threads


def _traced(client: Any) -> str:
    """One transaction with two spans, under a scope with a user, tags and contexts; its trace id."""
    with client.context:
        client.user_context({"id": "42"})
        client.tags_context({"shop": "north"})
        client.context.merge({"contexts": {"cart": {"items": 3}}})
        with client.start_transaction(name="checkout", op="http.server") as transaction:
            with client.start_span(op="db", description="SELECT 1") as span:
                span.set_data("db.system", "sqlite")
                span.set_data("row", _Reprs())
            with client.start_span(op="http.client", description="GET /stock"):
                client.trace_headers()  # the sampling context goes out: frozen from here on
        return str(transaction.trace_id)


def test_a_transaction_is_built_on_the_encoder_and_arrives_whole(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default transport and no ``before_send_transaction``, the event is built on the
    encoder thread: it arrives with every span, the scope's user, tags and contexts, and the
    envelope's ``trace`` header (DSC) of its trace. Span data that is not plain is serialized on
    the thread that finished the transaction (its ``__repr__`` never runs on Raven's)."""
    built_on = _built_on(monkeypatch)
    _Reprs.threads = []
    client = make_client(receiver)
    trace_id = _traced(client)
    assert client.flush(5)
    (transaction,) = receiver.wait_for_transactions(1)
    validate_event(transaction)
    assert built_on == ["raven-encoder"]
    assert _Reprs.threads == [threading.current_thread().name]
    assert [s["op"] for s in transaction["spans"]] == ["db", "http.client"]
    assert transaction["spans"][0]["data"] == {"db.system": "sqlite", "row": "<reprs>"}
    assert transaction["user"] == {"id": "42"}
    assert transaction["tags"] == {"shop": "north"}
    assert transaction["contexts"]["cart"] == {"items": 3}
    assert transaction["contexts"]["trace"]["trace_id"] == trace_id
    (request,) = [r for r in receiver.requests if "transaction" in r.item_types]
    dsc = request.envelope_headers["trace"]
    assert dsc["trace_id"] == trace_id and dsc["sample_rate"] == "1"
    client.close()


def test_before_send_transaction_sees_and_edits_the_built_event(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``before_send_transaction`` needs the event on the app's thread: it is built there, the
    callback edits it, and what it returns is sent; one it drops is counted with its spans."""
    built_on = _built_on(monkeypatch)
    seen: list[dict[str, Any]] = []

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(event)
        if event["transaction"] == "drop me":
            return None
        event["tags"] = {**event.get("tags", {}), "edited": "yes"}
        return event

    client = make_client(receiver, before_send_transaction=before_send)
    _traced(client)
    with client.start_transaction(name="drop me", op="task"):
        with client.start_span(op="db"):
            pass
    assert client.flush(5)
    (transaction,) = receiver.wait_for_transactions(1)
    assert built_on == [threading.current_thread().name] * 2
    assert [len(e["spans"]) for e in seen] == [2, 1]
    assert transaction["tags"] == {"shop": "north", "edited": "yes"}
    assert client.reports.totals[("before_send", "transaction")] == 1
    assert client.reports.totals[("before_send", "span")] == 2
    client.close()


class _Collecting(raven.Client):
    """A client subclass whose ``send`` keeps what it is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[dict[str, Any]] = []
        super().__init__(*args, **kwargs)

    def send(self, **data: Any) -> str | None:
        self.sent.append(data)
        return super().send(**data)


class _KeepingTransport(ThreadedTransport):
    """A default transport whose subclass looks at every event it is given."""

    given: list[dict[str, Any]] = []

    def send_event(self, event: dict[str, Any]) -> None:
        type(self).given.append(event)
        super().send_event(event)


def _check_finished(event: dict[str, Any], trace_id: str) -> None:
    assert "_build" not in event
    assert event["type"] == "transaction" and event["transaction"] == "checkout"
    assert [s["op"] for s in event["spans"]] == ["db", "http.client"]
    assert event["_dsc"]["trace_id"] == trace_id


def test_an_overridden_send_gets_the_finished_transaction(receiver: Receiver) -> None:
    """A client subclass overriding ``send`` receives the transaction's finished event dict."""
    client = make_client(receiver, cls=_Collecting)
    trace_id = _traced(client)
    (event,) = client.sent
    _check_finished(event, trace_id)
    assert client.flush(5)
    receiver.wait_for_transactions(1)
    client.close()


def test_a_send_patched_on_the_instance_gets_the_finished_transaction(receiver: Receiver) -> None:
    """A ``send`` replaced on the client itself (a test's mock) receives the finished dict."""
    client = make_client(receiver)
    sent: list[dict[str, Any]] = []
    client.send = lambda **data: sent.append(data)
    trace_id = _traced(client)
    (event,) = sent
    _check_finished(event, trace_id)
    client.close()


def test_a_transport_overriding_send_event_gets_the_finished_transaction(
    receiver: Receiver,
) -> None:
    """A ``ThreadedTransport`` subclass with its own ``send_event`` is given finished events."""
    _KeepingTransport.given = []
    client = make_client(receiver, transport=_KeepingTransport)
    trace_id = _traced(client)
    (event,) = _KeepingTransport.given
    _check_finished(event, trace_id)
    assert client.flush(5)
    (transaction,) = receiver.wait_for_transactions(1)
    assert transaction["transaction"] == "checkout"
    client.close()


def test_an_unbuilt_transaction_dropped_is_counted_with_its_spans(receiver: Receiver) -> None:
    """A transaction dropped before the encoder builds it (here: the transport is closed) counts
    one transaction and its spans, the transaction's own included."""
    client = make_client(receiver)
    assert client.transport is not None
    client.transport.close(timeout=1)
    _traced(client)
    assert client.reports.totals[("network_error", "transaction")] == 1
    assert client.reports.totals[("network_error", "span")] == 3
    client.close()


@pytest.mark.raven_errors_expected
def test_a_transaction_that_cannot_be_built_is_counted(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure building the event on the encoder loses that transaction only: counted as an
    internal error with its spans; the next one arrives."""

    def failing(self: TransactionEvent) -> dict[str, Any]:
        raise RuntimeError("cannot build")

    event = TransactionEvent.event
    monkeypatch.setattr(TransactionEvent, "event", failing)
    client = make_client(receiver)
    _traced(client)
    assert client.flush(5)
    assert client.reports.totals[("internal_sdk_error", "transaction")] == 1
    assert client.reports.totals[("internal_sdk_error", "span")] == 3
    monkeypatch.setattr(TransactionEvent, "event", event)
    _traced(client)
    assert client.flush(5)
    (transaction,) = receiver.wait_for_transactions(1)
    assert transaction["transaction"] == "checkout"
    client.close()


def test_what_is_set_on_a_transaction_after_it_finished_is_not_sent(receiver: Receiver) -> None:
    """The event is built later, but of the transaction as it finished: a status or data set
    afterwards (here while the encoder cannot take it yet) does not reach it."""
    client = make_client(receiver)
    transport = client.transport
    with transport._cond:  # the encoder waits for this lock before it takes the transaction
        with client.start_transaction(name="checkout", op="task") as transaction:
            transaction.set_data("items", 3)
        transaction.set_status("cancelled")
        transaction.set_data("late", True)
    assert client.flush(5)
    (event,) = receiver.wait_for_transactions(1)
    assert event["contexts"]["trace"]["status"] == "ok"
    assert event["contexts"]["trace"]["data"] == {"items": 3}
    client.close()
