"""Structured logs (issue 14) as they arrive at a real loopback server: from Python logging and
from ``client.logger``, batched within the item limits, scrubbed, filtered, trace-linked, and
delivered at flush, close and exit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import raven
import requests
from raven import hooks
from raven.exceptions import ConfigurationError
from raven.middleware import Sentry
from raven.receiver import Receiver, parse_envelope

ROOT = Path(__file__).resolve().parents[2]
TRACE = "771a43a4192642f0b136d5159a501700"
PARENT = "b0e6f15b45c36b12"


@pytest.fixture
def shop() -> Iterator[logging.Logger]:
    """The app's logger, emitting from DEBUG up (and restored afterwards)."""
    log = logging.getLogger("shop")
    level = log.level
    log.setLevel(logging.DEBUG)
    yield log
    log.setLevel(level)


@pytest.fixture
def make_client(receiver: Receiver) -> Iterator[Callable[..., raven.Client]]:
    """Clients with logs on delivering to the receiver through the background sender."""
    clients: list[raven.Client] = []

    def make(dsn: str | None = None, **options: Any) -> raven.Client:
        options = {"enable_logs": True, "install_sys_hook": False, **options}
        client = raven.Client(dsn or receiver.dsn, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close(timeout=5)


def log_items(receiver: Receiver) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(item headers, payload) of every ``log`` item that arrived."""
    found = []
    for request in list(receiver.requests):
        if "log" in request.item_types:
            _headers, items = parse_envelope(request.body)
            found += [(h, json.loads(p)) for h, p in items if h["type"] == "log"]
    return found


def attrs(log: dict[str, Any]) -> dict[str, Any]:
    """A log's attributes as plain values (after checking each one's declared type)."""
    types = {str: "string", bool: "boolean", int: "integer", float: "double"}
    plain = {}
    for name, attribute in log["attributes"].items():
        assert attribute["type"] == types[type(attribute["value"])], (name, attribute)
        plain[name] = attribute["value"]
    return plain


def test_a_logging_record_arrives_as_a_log_with_its_template_apart(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """A record at INFO becomes one ``log`` item: body, level, severity, template and parameters
    apart, logger, code location, release, environment, server, SDK, and the scope's trace."""
    client = make_client(release="shop@2.1", environment="prod", server_name="web-1")
    shop.info("order %s paid by %s", 1042, "ada", extra={"shop_id": 7, "vip": True})
    client.flush(5)
    (log,) = receiver.wait_for_logs(1)
    ((headers, payload),) = log_items(receiver)
    assert headers["item_count"] == 1
    assert headers["content_type"] == "application/vnd.sentry.items.log+json"
    assert payload == {"items": [log]}
    assert log["body"] == "order 1042 paid by ada"
    assert log["level"] == "info" and log["severity_number"] == 9
    assert len(log["trace_id"]) == 32 and "span_id" not in log  # no span is running
    assert isinstance(log["timestamp"], float)
    a = attrs(log)
    assert a["sentry.message.template"] == "order %s paid by %s"
    assert a["sentry.message.parameter.0"] == 1042
    assert a["sentry.message.parameter.1"] == "ada"
    assert a["logger.name"] == "shop" and a["sentry.origin"] == "auto.log.stdlib"
    assert a["code.file.path"] == __file__ and a["code.function.name"].startswith("test_a_log")
    assert a["shop_id"] == 7 and a["vip"] is True
    assert a["sentry.release"] == "shop@2.1" and a["sentry.environment"] == "prod"
    assert a["server.address"] == "web-1"
    assert a["sentry.sdk.name"] == "raven.python" and a["sentry.sdk.version"] == raven.__version__
    # An error captured in the same scope is in the same trace.
    client.captureMessage("and an error")
    (event,) = receiver.wait_for(1)
    assert event["contexts"]["trace"]["trace_id"] == log["trace_id"]


def test_logs_level_decides_which_records_become_logs(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """Default INFO: a DEBUG record is not a log; ``logs_level="debug"`` takes it; ``None``
    leaves logging alone (only ``client.logger`` sends); levels map to Sentry's names."""
    client = make_client()
    shop.debug("not sent")
    for level in (logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL, 25):
        shop.log(level, "level %d", level)
    client.flush(5)
    logs = receiver.wait_for_logs(5)
    assert [(x["level"], x["severity_number"]) for x in logs] == [
        ("info", 9),
        ("warn", 13),
        ("error", 17),
        ("fatal", 21),
        ("info", 9),  # between INFO and WARNING: INFO's
    ]
    receiver.logs.clear()
    verbose = make_client(logs_level="debug")
    shop.debug("sent now")
    verbose.flush(5)
    assert [x["body"] for x in receiver.wait_for_logs(1)] == ["sent now"]
    client.close()
    verbose.close()
    receiver.logs.clear()
    quiet = make_client(logs_level=None)
    shop.error("left to logging")
    quiet.logger.info("direct")
    quiet.flush(5)
    assert [x["body"] for x in receiver.wait_for_logs(1)] == ["direct"]


def test_client_logger_sends_every_level_with_typed_attributes(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """``client.logger.<level>(template, *params, attributes=...)``: the six levels, a dict of
    named parameters, and attribute values typed (others sent as their repr)."""
    client = make_client()

    class Order:
        def __repr__(self) -> str:
            return "<Order 7>"

    client.logger.trace("t")
    client.logger.debug("d")
    client.logger.info(
        "order %s paid",
        1042,
        attributes={"amount": 12.5, "count": 3, "ok": False, "order": Order(), "huge": 2**70},
    )
    client.logger.warning("w")
    client.logger.error("%(who)s failed", {"who": "ada"})
    client.logger.fatal("f")
    client.logger.log(logging.WARNING, "via log")
    client.flush(5)
    logs = receiver.wait_for_logs(7)
    assert [(x["level"], x["severity_number"]) for x in logs] == [
        ("trace", 1),
        ("debug", 5),
        ("info", 9),
        ("warn", 13),
        ("error", 17),
        ("fatal", 21),
        ("warn", 13),
    ]
    info = attrs(logs[2])
    assert logs[2]["body"] == "order 1042 paid"
    assert info["sentry.message.template"] == "order %s paid"
    assert info["sentry.message.parameter.0"] == 1042
    assert info["amount"] == 12.5 and info["count"] == 3 and info["ok"] is False
    assert info["order"] == "<Order 7>" and info["huge"] == str(2**70)
    assert "sentry.origin" not in info and "logger.name" not in info  # the API's own logs
    error = attrs(logs[4])
    assert logs[4]["body"] == "ada failed"
    assert error["sentry.message.parameter.who"] == "ada"
    assert "sentry.message.template" not in attrs(logs[0])  # no parameters, no template


def test_enable_logs_off_sends_nothing_and_client_logger_stays_a_python_logger(
    make_client: Callable[..., raven.Client],
    receiver: Receiver,
    shop: logging.Logger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without ``enable_logs`` no log item is sent; ``client.logger`` then logs to Python's
    ``raven.client`` logger, as raven-python's did (``attributes`` left out), and its other
    attributes are that logger's."""
    client = make_client(enable_logs=False)
    shop.warning("only a breadcrumb")
    with caplog.at_level(logging.INFO, logger="raven.client"):
        client.logger.info("order %s paid", 7, attributes={"a": 1})
    client.metrics.count("orders")  # metrics are on: the request below proves the flush ran
    client.flush(5)
    receiver.wait_for_metrics(1)
    assert not receiver.logs and not log_items(receiver)
    (record,) = [r for r in caplog.records if r.name == "raven.client"]
    assert record.getMessage() == "order 7 paid"
    assert record.pathname == __file__  # the caller's line, not raven.logs'
    assert client.logger.name == "raven.client"
    assert client.logger.isEnabledFor(logging.CRITICAL)
    other = logging.getLogger("custom")
    client.logger = other  # raven-python code may replace it
    assert client.logger is other


def test_user_attributes_and_pii(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """The context's user: id and username always; email and address only with
    ``send_default_pii``."""
    user = {"id": 42, "username": "ada", "email": "ada@example.com", "ip_address": "10.0.0.1"}
    client = make_client()
    client.user_context(user)
    shop.info("without pii")
    client.flush(5)
    (log,) = receiver.wait_for_logs(1)
    a = attrs(log)
    assert a["user.id"] == "42" and a["user.name"] == "ada"
    assert "user.email" not in a and "user.ip_address" not in a
    client.close()
    receiver.logs.clear()
    pii = make_client(send_default_pii=True)
    pii.user_context(user)
    pii.logger.info("with pii")
    pii.flush(5)
    a = attrs(receiver.wait_for_logs(1)[0])
    assert a["user.email"] == "ada@example.com" and a["user.ip_address"] == "10.0.0.1"


def test_attributes_and_body_are_scrubbed_as_events_are(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """A password attribute, a token in ``extra=``, a key in ``sanitize_keys``, a card number
    and ``password=...`` inside the body arrive masked; the rest is intact."""
    client = make_client(sanitize_keys=["order_secret_code"])
    client.logger.info(
        "login with password=%s from %s",
        "hunter2",
        "10.1.1.1",
        attributes={"password": "hunter2", "order_secret_code": "x1", "card": "4111111111111111"},
    )
    shop.info("connecting", extra={"db_password": "s3cret", "host": "db.local"})
    client.flush(5)
    first, second = receiver.wait_for_logs(2)
    assert first["body"] == "login with password=******** from 10.1.1.1"
    a = attrs(first)
    assert a["password"] == a["order_secret_code"] == a["card"] == "********"
    # The template is scrubbed as an event's message is; the parameter the body hid is hidden.
    assert a["sentry.message.template"] == "login with password=******** from %s"
    assert a["sentry.message.parameter.0"] == "********"
    assert a["sentry.message.parameter.1"] == "10.1.1.1"
    b = attrs(second)
    assert b["db_password"] == "********" and b["host"] == "db.local"
    assert "hunter2" not in json.dumps(receiver.logs) and "s3cret" not in json.dumps(receiver.logs)


def test_before_send_log_changes_and_drops_and_drops_are_counted(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """``before_send_log`` gets each log (attributes as plain values, defaults included) and
    returns it changed, or None to drop it: each drop counted (``log_item`` and ``log_byte``);
    one that raises drops its log, is reported once and never reaches the app."""
    seen: list[dict[str, Any]] = []

    def before_send_log(log: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        seen.append(dict(log["attributes"]))
        if "drop" in log["body"]:
            return None
        if "raise" in log["body"]:
            raise RuntimeError("callback bug")
        log["attributes"]["checked"] = True
        log["body"] = log["body"].upper()
        return log

    client = make_client(before_send_log=before_send_log, release="r1")
    shop.info("keep me")
    shop.info("drop me")
    shop.info("raise here")
    shop.info("raise again")
    client.flush(5)
    (log,) = receiver.wait_for_logs(1)
    assert log["body"] == "KEEP ME" and attrs(log)["checked"] is True
    assert seen[0]["sentry.release"] == "r1" and seen[0]["logger.name"] == "shop"
    receiver.wait_until(lambda r: ("before_send", "log_item") in r.discarded())
    discarded = receiver.discarded()
    assert discarded[("before_send", "log_item")] == 3
    assert discarded[("before_send", "log_byte")] > 100


def test_logs_inside_a_transaction_carry_its_trace_and_span(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """Inside a transaction a log carries the trace id and the running span's id; in a span
    started inside it, that span's id."""
    client = make_client(traces_sample_rate=1.0)
    with client.start_transaction(name="checkout", op="task") as tx:
        shop.info("in the transaction")
        with client.start_span(op="db") as span:
            client.logger.info("in the span")
    client.flush(5)
    (transaction,) = receiver.wait_for_transactions(1)
    first, second = receiver.wait_for_logs(2)
    assert first["trace_id"] == second["trace_id"] == tx.trace_id
    assert transaction["contexts"]["trace"]["trace_id"] == tx.trace_id
    assert first["span_id"] == tx.span_id and second["span_id"] == span.span_id


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_a_log_inside_a_request_carries_the_callers_trace(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """A request served over real HTTP by the WSGI middleware continues the caller's trace; a
    log and a metric made while handling it carry that trace id (tracing on or off)."""
    for rate in (1.0, None):
        client = make_client(traces_sample_rate=rate)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            shop.info("handling %s", environ["PATH_INFO"])
            client.metrics.count("requests")  # noqa: B023  (called while client is current)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        server = make_server(
            "127.0.0.1", 0, Sentry(app, client=client), handler_class=_QuietHandler
        )
        thread = threading.Thread(target=server.handle_request, daemon=True)
        thread.start()
        answer = requests.get(
            f"http://127.0.0.1:{server.server_port}/orders",
            headers={"sentry-trace": f"{TRACE}-{PARENT}-1"},
            timeout=5,
        )
        thread.join(5)
        server.server_close()
        assert answer.text == "ok"
        client.close()
        (log,) = receiver.wait_for_logs(1)
        (metric,) = receiver.wait_for_metrics(1)
        assert log["body"] == "handling /orders"
        assert log["trace_id"] == metric["trace_id"] == TRACE
        if rate is not None:
            (transaction,) = receiver.wait_for_transactions(1)
            assert log["span_id"] == transaction["contexts"]["trace"]["span_id"]
        receiver.logs.clear()
        receiver.metrics.clear()


def test_a_burst_of_10000_records_arrives_in_batches_within_the_item_limits(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """10,000 records logged as fast as one thread can: every one arrives, once, in items of at
    most 100 logs and 1 MiB whose ``item_count`` is right, and nothing is counted as dropped."""
    client = make_client()
    for i in range(10_000):
        shop.info("burst %d", i, extra={"payload": "x" * 50})
    assert client.flush(30)
    logs = receiver.wait_for_logs(10_000, timeout=30)
    assert sorted(attrs(x)["sentry.message.parameter.0"] for x in logs) == list(range(10_000))
    items = log_items(receiver)
    for headers, payload in items:
        assert headers["item_count"] == len(payload["items"]) <= 100
        assert headers["length"] <= 1024 * 1024
    assert len(items) >= 100
    assert not receiver.discarded()


def test_big_logs_are_split_to_stay_under_one_mebibyte_per_item(
    make_client: Callable[..., raven.Client], receiver: Receiver
) -> None:
    """Logs of about 100 KB each (escaped characters making their JSON larger than the text)
    are sent in items of at most 1 MiB; none is lost."""
    client = make_client()
    for i in range(30):
        client.logger.info("big %d", i, attributes={"blob": "\x01" * 20_000 + "é" * 5_000})
    assert client.flush(10)
    receiver.wait_for_logs(30)
    items = log_items(receiver)
    assert len(items) >= 4
    assert all(h["length"] <= 1024 * 1024 for h, _p in items)


def test_a_full_buffer_counts_every_log_it_cannot_keep(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """While the server hangs and the send queue is tiny, what cannot be queued is counted
    (``queue_overflow``: ``log_item`` and ``log_byte``); once it answers, every one of the
    10,000 logs has either arrived or been counted."""
    client = make_client(queue_size=3, timeout=60)  # no request times out: none is sent twice
    receiver.pause()
    for i in range(10_000):
        shop.info("burst %d", i)
    client.flush(0)
    receiver.resume()
    client.captureMessage("carries the report")
    assert client.flush(20)
    receiver.wait_until(lambda r: ("queue_overflow", "log_item") in r.discarded())
    discarded = receiver.discarded()
    arrived = len({attrs(x)["sentry.message.parameter.0"] for x in receiver.logs})
    assert arrived == len(receiver.logs)
    assert (
        arrived
        + discarded[("queue_overflow", "log_item")]
        + discarded.get(("network_error", "log_item"), 0)
        == 10_000
    )
    assert arrived > 0 and discarded[("queue_overflow", "log_byte")] > 0


def test_log_rate_limits_are_honoured_while_errors_flow(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """After the server limits ``log_item``, logs are dropped and counted (``ratelimit_backoff``)
    without being sent, while errors are still delivered."""
    client = make_client()
    receiver.respond_with(429, {"X-Sentry-Rate-Limits": "60:log_item:key"})
    shop.info("limited")
    client.flush(5)
    receiver.respond_with(200)
    for i in range(150):
        shop.info("dropped %d", i)
    client.captureMessage("errors still flow")
    assert client.flush(5)
    receiver.wait_until(lambda r: ("ratelimit_backoff", "log_item") in r.discarded())
    (event,) = receiver.wait_for(1)
    assert event["message"] == "errors still flow"
    assert not receiver.logs
    assert receiver.discarded()[("ratelimit_backoff", "log_item")] == 150


def test_ravens_own_lines_never_become_logs(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """Records of ``raven.*`` loggers, of the libraries Raven sends with (urllib3 at DEBUG while
    a synchronous transport posts), and of a ``before_send_log`` callback never become logs:
    one log in, exactly one log out, flush after flush."""
    root, urllib3 = logging.getLogger(), logging.getLogger("urllib3")
    levels = root.level, urllib3.level
    root.setLevel(logging.DEBUG)
    urllib3.setLevel(logging.DEBUG)

    def before_send_log(log: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        logging.getLogger("shop").warning("logged by the callback")
        return log

    try:
        client = make_client(
            "sync+" + receiver.dsn, logs_level="DEBUG", before_send_log=before_send_log
        )
        logging.getLogger("raven.transport").warning("raven's own")
        shop.info("the one log")
        for _ in range(3):
            client.flush(5)
    finally:
        root.setLevel(levels[0])
        urllib3.setLevel(levels[1])
    assert [x["body"] for x in receiver.logs] == ["the one log"]


def test_failures_inside_logging_never_reach_the_app(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """A template that does not take its arguments and values whose repr raises: the app's
    calls return normally, and the logs arrive as well as they can be told."""

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    client = make_client()
    logging.raiseExceptions = False  # the app's own handlers would print the bad template
    try:
        shop.info("%d items", "not a number")
        client.logger.info("%d items", "not a number", attributes={"obj": Hostile()})
        shop.info("fine", extra={"obj": Hostile()})
    finally:
        logging.raiseExceptions = True
    client.flush(5)
    first, second, third = receiver.wait_for_logs(3)
    assert first["body"] == second["body"] == "%d items"
    assert attrs(second)["obj"] == attrs(third)["obj"]
    assert attrs(third)["obj"].endswith("Hostile instance: repr failed>")


def test_a_failing_processor_leaves_out_what_it_should_have_scrubbed(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """A processor that raises: the batch's bodies and the app's attributes are left out (fail
    closed, with a warning), the logs still arrive with what Raven itself knows."""

    class Broken(raven.processors.Processor):
        def filter_extra(self, data: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError("processor bug")

    client = make_client(processors=["raven.processors.SanitizePasswordsProcessor", Broken])
    shop.info("token %s", "abc", extra={"user_token": "t"})
    client.flush(5)
    (log,) = receiver.wait_for_logs(1)
    a = attrs(log)
    assert log["body"] == "" and "user_token" not in a and "sentry.message.parameter.0" not in a
    assert a["logger.name"] == "shop" and a["sentry.sdk.name"] == "raven.python"


def test_flush_and_close_deliver_what_is_buffered(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """A few logs wait for the batcher's timer (seconds); ``flush()`` and ``close()`` send them
    now, and a log made after ``close()`` is counted, not sent."""
    first = make_client()
    shop.info("flushed")
    assert first.flush(5)
    assert [x["body"] for x in receiver.wait_for_logs(1, timeout=2)] == ["flushed"]
    first.close()
    second = make_client()
    second.logger.info("closed")
    assert second.close(5)
    receiver.wait_for_logs(2, timeout=2)
    second.logger.info("after close")
    assert receiver.logs[-1]["body"] == "closed" and len(receiver.logs) == 2


def test_the_timer_sends_a_lone_log_without_a_flush(
    make_client: Callable[..., raven.Client],
    receiver: Receiver,
    shop: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A log that fills no batch is sent by the background thread once ``INTERVAL`` passes."""
    monkeypatch.setattr(raven.telemetry, "INTERVAL", 0.2)
    make_client()
    shop.warning("on the timer")
    (log,) = receiver.wait_for_logs(1, timeout=5)
    assert log["body"] == "on the timer"


def test_a_forked_child_sends_its_own_logs_and_not_its_parents(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """A child forked with logs still buffered starts with an empty buffer: the parent's log
    arrives once (from the parent), the child's from the child."""
    client = make_client()
    shop.info("from the parent")  # buffered, not yet sent
    pid = os.fork()
    if pid == 0:  # the child
        try:
            shop.info("from the child")
            client.flush(5)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    receiver.wait_for_logs(1)
    client.flush(5)
    receiver.wait_for_logs(2)
    client.close()
    assert sorted(x["body"] for x in receiver.logs) == ["from the child", "from the parent"]


LOG_AND_EXIT = """
    import logging, sys, raven
    client = raven.Client(sys.argv[1], enable_logs=True, install_sys_hook=False)
    logging.getLogger("job").setLevel(logging.INFO)
    for i in range(250):
        logging.getLogger("job").info("step %d", i)
    client.metrics.distribution("job.seconds", 1.5, unit="second")
    # no flush, no close: the interpreter exits
"""


def test_logs_buffered_at_exit_are_delivered(receiver: Receiver) -> None:
    """A real process that logs and exits without flushing: every log and the metric arrive."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LOG_AND_EXIT), receiver.dsn],
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    logs = receiver.wait_for_logs(250)
    assert sorted(attrs(x)["sentry.message.parameter.0"] for x in logs) == list(range(250))
    (metric,) = receiver.wait_for_metrics(1)
    assert metric["name"] == "job.seconds" and metric["unit"] == "second"


def test_logs_options_fail_fast_naming_the_bad_value() -> None:
    """A level that is no level, or a callback that is not callable, fails at construction."""
    with pytest.raises(ConfigurationError, match="logs_level"):
        raven.Client(logs_level="loud")
    with pytest.raises(ConfigurationError, match="before_send_log"):
        raven.Client(before_send_log="not callable")
    assert raven.Client(logs_level="warning").options.logs_level == logging.WARNING
    assert raven.Client(logs_level="15").options.logs_level == 15


def test_close_stops_taking_records_and_the_hook_is_shared(
    make_client: Callable[..., raven.Client], receiver: Receiver, shop: logging.Logger
) -> None:
    """Logs come from the breadcrumb hook (one patch, held by both clients, kept until the last
    one closes); a closed client's logs stop, even one without breadcrumbs."""
    first = make_client(enable_breadcrumbs=False)
    second = make_client()
    patched = logging.Logger.callHandlers
    assert {first, second} <= set(hooks.holders("logging"))
    shop.info("both")
    first.close()
    assert logging.Logger.callHandlers is patched and first not in hooks.holders("logging")
    shop.info("second only")
    second.close()
    assert second not in hooks.holders("logging")
    shop.info("nobody")
    assert sorted(x["body"] for x in receiver.logs) == ["both", "both", "second only"]


README = ROOT / "packages" / "core" / "README.md"


def test_the_readme_example_sends_its_logs_and_metrics(receiver: Receiver, tmp_path: Path) -> None:
    """The example under "Structured logs and metrics" in raven-core's README runs as written."""
    section = README.read_text().split("## Structured logs and metrics", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SENTRY_DSN": receiver.dsn}
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    paid, low = receiver.wait_for_logs(2)
    assert paid["body"] == "order 1042 paid by ada"
    assert low["body"] == "stock low for SKU-7" and attrs(low)["left"] == 3
    assert attrs(paid)["sentry.release"] == "shop@2.1"
    metrics = receiver.wait_for_metrics(3)
    assert [m["type"] for m in metrics] == ["counter", "gauge", "distribution"]
