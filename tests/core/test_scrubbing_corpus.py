"""The scrubbing corpus: secrets planted where an app puts them, with the default options; none
may appear in the raw decompressed bytes that arrived at the loopback receiver (issues 17, 20).

Add a case for every new shape of secret found: one function that plants ``SECRET`` and
captures one event.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import raven
from raven.processors import MASK

from ..receiver import Receiver
from .conftest import Harness

SECRET = "Pl4nted-" + "s3cret"  # never whole in the source lines an event carries


def _raise(message: str) -> None:
    raise ValueError(message)


def _capture_with_locals(client: raven.Client, **locals_: Any) -> None:
    def view(**kwargs: Any) -> None:
        for name, value in kwargs.items():
            locals()[name] = value  # noqa: B909 - the values sit in the frame's locals
        holder = dict(kwargs)  # noqa: F841 - a local the event carries
        _raise("failed")

    try:
        view(**locals_)
    except ValueError:
        client.captureException()


class _Repr:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _BrokenMapping(Mapping[str, Any]):
    """A Mapping whose iteration raises."""

    def __getitem__(self, key: str) -> Any:
        return SECRET

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate")

    def __repr__(self) -> str:
        return f"<BrokenMapping password={SECRET}>"


def _deep(levels: int, leaf: Any) -> Any:
    for index in range(levels):
        leaf = {f"level{index}": leaf}
    return leaf


_LONG_BODY = json.dumps({"comment": "x" * 380, "username": "ann", "password": SECRET})
_EARLY_SECRET_LONG_BODY = json.dumps({"password": SECRET, "comment": "x" * 500})

CASES: dict[str, Callable[[raven.Client], Any]] = {
    # URLs with credentials, anywhere in the event
    "url password in extra": lambda c: c.captureMessage(
        "m", extra={"db": f"postgres://user:{SECRET}@db.internal:5432/app"}
    ),
    "url password holding @ in extra": lambda c: c.captureMessage(
        "m", extra={"db": f"postgres://user:p@{SECRET}@db.internal/app"}
    ),
    "url password in a local": lambda c: _capture_with_locals(
        c, upstream=f"https://user:{SECRET}@api.example/v1"
    ),
    "url password in a breadcrumb's data": lambda c: (
        c.captureBreadcrumb(message="m", data={"dsn": f"redis://:{SECRET}@cache:6379/0"}),
        c.captureMessage("m"),
    ),
    "url password in a breadcrumb's message": lambda c: (
        c.captureBreadcrumb(message=f"connected to amqp://guest:{SECRET}@mq//"),
        c.captureMessage("m"),
    ),
    "url password in a breadcrumb's url": lambda c: (
        c.captureBreadcrumb(
            category="httplib", data={"url": f"https://u:{SECRET}@h.example/", "method": "GET"}
        ),
        c.captureMessage("m"),
    ),
    "url password in the request url": lambda c: (
        c.http_context({"url": f"https://user:{SECRET}@shop.example/login", "method": "GET"}),
        c.captureMessage("m"),
    ),
    "url password in a message": lambda c: c.captureMessage(
        f"cannot reach postgres://user:{SECRET}@db/app"
    ),
    "url password in a message's params": lambda c: c.captureMessage(
        "cannot reach %s", params=(f"postgres://user:{SECRET}@db/app",)
    ),
    "url password in an exception value": lambda c: (
        _capture_with_locals(c)
        if False
        else _capture_exception(c, f"could not connect: mysql://root:{SECRET}@localhost/db")
    ),
    "url password in tags": lambda c: c.captureMessage(
        "m", tags={"db": f"postgres://u:{SECRET}@h/db"}
    ),
    "url password in contexts": lambda c: c.captureMessage(
        "m", data={"contexts": {"db": {"url": f"postgres://u:{SECRET}@h/db"}}}
    ),
    # keys of sentry-sdk's default denylist that Raven's lacked
    "auth key": lambda c: c.captureMessage("m", extra={"auth": SECRET}),
    "basic_auth key": lambda c: c.captureMessage("m", extra={"basic_auth": SECRET}),
    "X-Auth header word": lambda c: c.captureMessage("m", extra={"HTTP-Auth": SECRET}),
    "PHPSESSID key": lambda c: c.captureMessage("m", extra={"PHPSESSID": SECRET}),
    "connect.sid key": lambda c: c.captureMessage("m", extra={"connect.sid": SECRET}),
    "symfony key": lambda c: c.captureMessage("m", extra={"symfony": SECRET}),
    "x-forwarded-for without send_default_pii": lambda c: c.captureMessage(
        "m", extra={"X-Forwarded-For": SECRET}
    ),
    "the user's ip_address without send_default_pii": lambda c: (
        c.user_context({"id": "1", "ip_address": "10.9.8.7"}),
        c.captureMessage("m"),
    ),
    "X-Real-Ip header without send_default_pii": lambda c: (
        c.http_context({"url": "http://h/", "method": "GET", "headers": {"X-Real-Ip": SECRET}}),
        c.captureMessage("m"),
    ),
    # captureQuery parameters without send_default_pii
    "captureQuery params": lambda c: c.captureQuery(
        "SELECT * FROM users WHERE email = %s", params=(SECRET,), engine="psycopg2"
    ),
    # JSON documents held in strings
    "JSON body in a local": lambda c: _capture_with_locals(
        c, body=json.dumps({"username": "ann", "password": SECRET})
    ),
    "JSON body under a Lambda event's body": lambda c: c.captureMessage(
        "m", extra={"event": {"body": json.dumps({"user": {"api_token": SECRET}})}}
    ),
    "JSON array in extra": lambda c: c.captureMessage(
        "m", extra={"items": json.dumps([{"secret": SECRET}])}
    ),
    "JSON cut by the string length limit": lambda c: c.captureMessage(
        "m", extra={"body": _LONG_BODY}
    ),
    "JSON cut early by the string length limit": lambda c: c.captureMessage(
        "m", extra={"body": _EARLY_SECRET_LONG_BODY}
    ),
    "JSON request body as a string": lambda c: (
        c.http_context(
            {
                "url": "https://h.example/login",
                "method": "POST",
                "data": json.dumps({"password": SECRET}),
            }
        ),
        c.captureMessage("m"),
    ),
    # (key, value) pairs in tuples and lists
    "POST items as pairs": lambda c: c.captureMessage(
        "m", extra={"post": [("username", "ann"), ("password", SECRET)]}
    ),
    "header list pair": lambda c: c.captureMessage(
        "m", extra={"headers": [["Authorization", f"Bearer {SECRET}"]]}
    ),
    "pair in a local": lambda c: _capture_with_locals(c, item=("api_key", SECRET)),
    # sensitive query parameters in URLs held in strings
    "query in a request's repr": lambda c: _capture_with_locals(
        c, request=_Repr(f"<WSGIRequest: GET '/path?token={SECRET}'>")
    ),
    "query in a URL in extra": lambda c: c.captureMessage(
        "m", extra={"next": f"https://h.example/cb?code=1&access_token={SECRET}&x=2"}
    ),
    "token in a URL fragment": lambda c: c.captureMessage(
        "m", extra={"next": f"https://h.example/cb#access_token={SECRET}"}
    ),
    "query in a log line breadcrumb (Sanic's error log)": lambda c: (
        c.captureBreadcrumb(
            category="sanic.error",
            message=f"Exception occurred while handling uri: 'http://h/x?secret={SECRET}'",
        ),
        c.captureMessage("m"),
    ),
    "query in a breadcrumb's data string": lambda c: (
        c.captureBreadcrumb(message="m", data={"uri": f"http://h/x?secret={SECRET}"}),
        c.captureMessage("m"),
    ),
    "query in an exception value": lambda c: _capture_exception(
        c, f"404 for /api?api_key={SECRET}"
    ),
    "key=value in a message": lambda c: c.captureMessage(f"login failed, password={SECRET}"),
    "keyword in a repr": lambda c: _capture_with_locals(
        c, config=_Repr(f"Config(host='db', password='{SECRET}')")
    ),
    "dict repr in a message": lambda c: c.captureMessage(
        f"payload {{'user': 'ann', 'password': '{SECRET}'}}"
    ),
    # fail closed
    "a Mapping whose iteration raises beside a password": lambda c: c.captureMessage(
        "m", extra={"broken": _BrokenMapping(), "password": SECRET}
    ),
    "raw header lines as a string": lambda c: (
        c.http_context(
            {
                "url": "https://h.example/",
                "method": "GET",
                "headers": f"Accept: */*\r\nAuthorization: Bearer {SECRET}\r\n",
            }
        ),
        c.captureMessage("m"),
    ),
    "raw header lines as a list of tuples": lambda c: (
        c.http_context(
            {
                "url": "https://h.example/",
                "method": "GET",
                "headers": [("Accept", "*/*"), ("Authorization", f"Bearer {SECRET}")],
            }
        ),
        c.captureMessage("m"),
    ),
    "raw header lines as a list of strings": lambda c: (
        c.http_context(
            {
                "url": "https://h.example/",
                "method": "GET",
                "headers": ["Accept: */*", f"X-Api-Key: {SECRET}", ("a", "b", "c")],
            }
        ),
        c.captureMessage("m"),
    ),
    # past the serializer's depth limit
    "password past the depth limit": lambda c: c.captureMessage(
        "m", extra={"deep": _deep(6, {"password": SECRET})}
    ),
    "nested secrets under a sensitive key past the depth limit": lambda c: c.captureMessage(
        "m", extra={"deep": _deep(5, {"credentials": {"user": "ann", "pw": SECRET}})}
    ),
    "OrderedDict past the depth limit": lambda c: c.captureMessage(
        "m", extra={"deep": _deep(5, OrderedDict([("password", SECRET)]))}
    ),
    "a cut repr past the depth limit": lambda c: c.captureMessage(
        "m", extra={"deep": _deep(5, {"filler": "x" * 340, "token": SECRET + "x" * 50})}
    ),
    "a pair past the depth limit": lambda c: c.captureMessage(
        "m", extra={"deep": _deep(5, ("password", SECRET))}
    ),
    "a pair as a list past the depth limit": lambda c: c.captureMessage(
        "m", extra={"deep": _deep(5, ["api_key", SECRET])}
    ),
    "argv-style flag": lambda c: c.captureMessage(
        "m", extra={"argv": ["manage.py", "--db-password=" + SECRET]}
    ),
    "password past the depth limit in a local": lambda c: _capture_with_locals(
        c, settings=_deep(6, {"DATABASES": {"default": {"PASSWORD": SECRET}}})
    ),
}


def _capture_exception(client: raven.Client, message: str) -> None:
    try:
        _raise(message)
    except ValueError:
        client.captureException()


def _raw(receiver: Receiver) -> bytes:
    return b"".join(request.body for request in receiver.requests)


@pytest.mark.parametrize("case", sorted(CASES))
def test_planted_secret_never_arrives(sentry: Harness, receiver: Receiver, case: str) -> None:
    """A secret planted in the corpus's shape does not appear in the bytes that arrived."""
    client = sentry.client()
    CASES[case](client)
    sentry.event()
    raw = _raw(receiver)
    assert raw, "nothing arrived"
    assert b"10.9.8.7" not in raw
    at = raw.find(SECRET.encode())
    assert at < 0, raw[max(0, at - 200) : at + 40]


def test_harmless_values_stay(sentry: Harness) -> None:
    """Keys and strings that only look like secrets arrive as they were."""
    client = sentry.client()
    client.captureMessage(
        "order 4111111111111111 for https://h.example/cb?page=2",
        extra={
            "author": "ann",
            "oauth_provider": "google",
            "next": "https://user@h.example/?page=2&q=a=b",
            "doc": json.dumps({"user": "ann", "ids": [1, 2]}),
            "pair": ["name", "ann"],
            "eq": "a == b",
        },
    )
    event = sentry.event()
    assert event["extra"]["author"] == "ann"
    assert event["extra"]["oauth_provider"] == "google"
    assert event["extra"]["next"] == "https://user@h.example/?page=2&q=a=b"
    assert event["extra"]["doc"] == json.dumps({"user": "ann", "ids": [1, 2]})
    assert event["extra"]["pair"] == ["name", "ann"]
    assert event["extra"]["eq"] == "a == b"
    # card numbers in free text stay: keys are what the default scrubs (README, privacy)
    assert event["logentry"]["message"].startswith("order 4111111111111111 ")


def test_masked_shapes_keep_their_structure(sentry: Harness) -> None:
    """A URL keeps its user and host, a JSON text stays JSON, a pair keeps its key."""
    client = sentry.client()
    client.captureMessage(
        "m",
        extra={
            "db": f"postgres://user:{SECRET}@db:5432/app",
            "body": json.dumps({"user": "ann", "password": SECRET}),
            "pair": ("password", SECRET),
            "url": f"https://h.example/p?a=1&token={SECRET}#top",
        },
    )
    extra = sentry.event()["extra"]
    assert extra["db"] == f"postgres://user:{MASK}@db:5432/app"
    assert json.loads(extra["body"]) == {"user": "ann", "password": MASK}
    assert extra["pair"] == ["password", MASK]
    assert extra["url"] == f"https://h.example/p?a=1&token={MASK}#top"


def test_query_params_are_sent_with_send_default_pii(sentry: Harness) -> None:
    """captureQuery's parameters arrive only when send_default_pii is on."""
    client = sentry.client(send_default_pii=True)
    client.captureQuery("SELECT * FROM t WHERE id = %s", params=(42,), engine="psycopg2")
    assert sentry.event()["logentry"]["params"] == [42]


def test_a_log_line_breadcrumb_gets_the_request_scrubbing(sentry: Harness) -> None:
    """A log record's breadcrumb with a URL is scrubbed like the request's query string."""
    client = sentry.client()
    logging.getLogger("app.corpus").warning("GET http://h/x?secret=%s&page=2", SECRET)
    client.captureMessage("m")
    raw = _raw(sentry.receiver)
    assert SECRET.encode() not in raw
