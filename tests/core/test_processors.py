"""Processors: the default scrubbing of secrets and card numbers wherever they appear, the
``sanitize_keys`` option, and the optional processors."""

from __future__ import annotations

from typing import Any

import pytest
import raven
from raven.processors import DEFAULT_SENSITIVE_KEYS, MASK, Processor

from .conftest import CollectingClient, Harness, collecting_client

CARDS = {
    "visa16": "4111111111111111",
    "visa13": "4000000000006",
    "amex": "378282246310005",
    "amex_generated": "370000000000002",
    "discover": "6011000000000004",
    "nineteen": "4000000000000000006",
    "spaced": "4111 1111 1111 1111",
    "dashed": "4111-1111-1111-1111",
}


@pytest.mark.parametrize("key", sorted(DEFAULT_SENSITIVE_KEYS))
def test_every_default_key_is_scrubbed_in_extra(
    sentry: Harness, client: raven.Client, key: str
) -> None:
    """Each default sensitive key is masked in extra, as written and in upper case."""
    client.captureMessage(
        "m", extra={key: "s3cr3t-value", key.upper(): "s3cr3t-value", "harmless": "visible"}
    )
    extra = sentry.event()["extra"]
    assert extra[key] == MASK and extra[key.upper()] == MASK
    assert extra["harmless"] == "visible"


@pytest.mark.parametrize(
    "key",
    [
        "api_token",
        "client_secret",
        "db_password",
        "X-Auth-Token",
        "access_token",
        "refresh_token",
        "stripe_api_key",
        "AWS_SECRET_ACCESS_KEY",
        "user_passwd",
        "sessionid",
        "csrftoken",
        "X-CSRFToken",
        "private_key_pem",
    ],
)
def test_compound_keys_are_scrubbed(collector: CollectingClient, key: str) -> None:
    """Keys that contain a sensitive word (case-insensitive substring) are masked."""
    collector.captureMessage("m", extra={key: "s3cr3t-value"})
    assert collector.events[-1]["extra"][key] == MASK


def test_nested_values_are_scrubbed_at_any_depth(sentry: Harness, client: raven.Client) -> None:
    """Sensitive keys inside nested dicts and lists of dicts are masked; the rest is kept."""
    client.captureMessage(
        "m",
        extra={
            "config": {
                "db": {
                    "host": "db1",
                    "password": "pw",
                    "replicas": [
                        {"host": "db2", "auth_token": "t2"},
                        {"host": "db3", "credentials": {"user": "u"}},
                    ],
                }
            }
        },
    )
    config = sentry.event()["extra"]["config"]
    assert config["db"]["host"] == "db1" and config["db"]["password"] == MASK
    assert config["db"]["replicas"][0] == {"host": "db2", "auth_token": MASK}
    assert config["db"]["replicas"][1]["credentials"] == MASK


def test_request_data_headers_query_and_env_are_scrubbed(
    sentry: Harness, client: raven.Client
) -> None:
    """In the request: form data, headers, the query string (per pair) and env are scrubbed."""
    client.http_context(
        {
            "url": "https://shop.example/login",
            "method": "POST",
            "data": {"username": "ann", "password": "pw", "card": CARDS["visa16"]},
            "query_string": "next=%2Fhome&api_key=k1&token=t1&page=2",
            "headers": {
                "Authorization": "Bearer abc",
                "X-Auth-Token": "t",
                "X-Api-Key": "k",
                "Proxy-Authorization": "p",
                "Set-Cookie": "sessionid=abc; Path=/",
                "Accept": "text/html",
                "User-Agent": "ua",
            },
            "env": {
                "REMOTE_ADDR": "10.0.0.1",
                "SECRET_KEY": "django-secret",
                "HTTP_AUTHORIZATION": "Basic x",
            },
        }
    )
    client.captureMessage("login")
    request = sentry.event()["request"]
    assert request["data"] == {"username": "ann", "password": MASK, "card": MASK}
    assert request["query_string"] == f"next=%2Fhome&api_key={MASK}&token={MASK}&page=2"
    headers = request["headers"]
    for name in ("Authorization", "X-Auth-Token", "X-Api-Key", "Proxy-Authorization", "Set-Cookie"):
        assert headers[name] == MASK, name
    assert headers["Accept"] == "text/html" and headers["User-Agent"] == "ua"
    assert request["env"] == {
        "REMOTE_ADDR": MASK,  # sentry-sdk's PII denylist: masked without send_default_pii
        "SECRET_KEY": MASK,
        "HTTP_AUTHORIZATION": MASK,
    }


def test_form_encoded_body_string_is_scrubbed_per_pair(collector: CollectingClient) -> None:
    """A raw ``k=v&...`` body keeps harmless pairs and masks sensitive ones."""
    collector.http_context({"data": "user=ann&password=pw&remember=1"})
    collector.captureMessage("m")
    assert collector.events[-1]["request"]["data"] == f"user=ann&password={MASK}&remember=1"


def test_cookies_are_masked_without_send_default_pii(sentry: Harness, client: raven.Client) -> None:
    """Without ``send_default_pii`` every cookie value is masked, in the cookie string and the Cookie header."""
    client.http_context(
        {"cookies": "sessionid=abc; theme=dark", "headers": {"Cookie": "sessionid=abc; theme=dark"}}
    )
    client.captureMessage("m")
    request = sentry.event()["request"]
    assert request["cookies"] == f"sessionid={MASK}; theme={MASK}"
    assert request["headers"]["Cookie"] == f"sessionid={MASK}; theme={MASK}"


def test_cookie_values_without_names_are_masked(collector: CollectingClient) -> None:
    """A Cookie header that is one opaque value (no ``name=``) is masked, not sent as is."""
    collector.http_context({"headers": {"Cookie": "opaque-session-value", "X-Other": "kept"}})
    collector.captureMessage("m")
    assert collector.events[-1]["request"]["headers"] == {"Cookie": MASK, "X-Other": "kept"}


def test_cookies_scrubbed_per_pair_with_send_default_pii(sentry: Harness) -> None:
    """With ``send_default_pii`` only sensitive cookies are masked, pair by pair, in string, dict and header."""
    client = sentry.client(send_default_pii=True)
    client.http_context(
        {
            "cookies": "sessionid=abc; theme=dark; csrftoken=x",
            "headers": {"Cookie": "sessionid=abc; theme=dark"},
        }
    )
    client.captureMessage("string")
    client.http_context({"cookies": {"sessionid": "abc", "theme": "dark"}})
    client.captureMessage("dict")
    first, second = sentry.events(2)
    assert first["request"]["cookies"] == f"sessionid={MASK}; theme=dark; csrftoken={MASK}"
    assert first["request"]["headers"]["Cookie"] == f"sessionid={MASK}; theme=dark"
    assert second["request"]["cookies"] == {"sessionid": MASK, "theme": "dark"}


def test_frame_vars_are_scrubbed(sentry: Harness, client: raven.Client) -> None:
    """Local variables with sensitive names, and secrets inside local dicts, are masked."""

    def login() -> None:
        password = "hunter2"  # noqa: F841
        settings = {"api_key": "k", "debug": True}  # noqa: F841
        card_on_file = CARDS["amex"]  # noqa: F841
        raise PermissionError("denied")

    try:
        login()
    except PermissionError:
        client.captureException()
    variables = sentry.event()["exception"]["values"][-1]["stacktrace"]["frames"][-1]["vars"]
    assert variables["password"] == MASK
    assert variables["settings"] == {"api_key": MASK, "debug": True}
    assert variables["card_on_file"] == MASK


def test_breadcrumb_data_user_tags_and_contexts_are_scrubbed(
    sentry: Harness, client: raven.Client
) -> None:
    """Secrets in breadcrumb data, user, tags and contexts are masked too."""
    client.captureBreadcrumb(
        message="call", data={"Authorization": "Bearer x", "url": "http://api/"}
    )
    client.user_context({"id": "1", "password": "pw"})
    client.context.merge({"contexts": {"db": {"connection_secret": "s", "engine": "pg"}}})
    client.captureMessage("m", tags={"auth_token": "t", "plan": "pro"})
    event = sentry.event()
    (crumb,) = event["breadcrumbs"]["values"]
    assert crumb["data"] == {"Authorization": MASK, "url": "http://api/"}
    assert event["user"] == {"id": "1", "password": MASK}
    assert event["tags"] == {"auth_token": MASK, "plan": "pro"}
    assert event["contexts"]["db"] == {"connection_secret": MASK, "engine": "pg"}


@pytest.mark.parametrize("name", sorted(CARDS))
def test_card_numbers_are_masked_whatever_their_key(collector: CollectingClient, name: str) -> None:
    """13 to 19 digit card numbers (Amex included) are masked under any key, in lists and query strings."""
    number = CARDS[name]
    collector.http_context({"query_string": f"ref=7&n={number}", "data": {"comment": number}})
    collector.captureMessage("m", extra={"note": number, "list": ["a", number]})
    event = collector.events[-1]
    assert event["extra"]["note"] == MASK and event["extra"]["list"] == ["a", MASK]
    assert event["request"]["query_string"] == f"ref=7&n={MASK}"
    assert event["request"]["data"] == {"comment": MASK}


def test_card_number_as_integer_is_masked(collector: CollectingClient) -> None:
    """A card number stored as an int is masked too."""
    collector.captureMessage("m", extra={"value": 4111111111111111})
    assert collector.events[-1]["extra"]["value"] == MASK


@pytest.mark.parametrize(
    "value",
    [
        "1234567812345678",
        "123456789012",
        "41111111111111111111",
        "2024-01-02",
        "order 4111111111111111 paid",
    ],
)
def test_non_card_numbers_are_kept(collector: CollectingClient, value: str) -> None:
    """Numbers failing the Luhn check or the length rule, and longer text, are left alone."""
    collector.captureMessage("m", extra={"value": value})
    assert collector.events[-1]["extra"]["value"] == value


def test_empty_and_none_values_are_left_as_they_are(collector: CollectingClient) -> None:
    """An empty or None secret is not turned into a mask (nothing to hide)."""
    collector.captureMessage("m", extra={"password": "", "token": None})
    assert collector.events[-1]["extra"] == {"password": "", "token": None}


def test_sanitize_keys_extends_the_key_list(sentry: Harness) -> None:
    """The ``sanitize_keys`` option adds keys (matched as substrings) to the defaults."""
    client = sentry.client(sanitize_keys=["ssn", "Mothers_Maiden"])
    client.captureMessage(
        "m",
        extra={
            "user_ssn": "123-45-6789",
            "mothers_maiden_name": "x",
            "password": "p",
            "name": "ann",
        },
    )
    extra = sentry.event()["extra"]
    assert extra == {"user_ssn": MASK, "mothers_maiden_name": MASK, "password": MASK, "name": "ann"}


def test_remove_post_data_processor(sentry: Harness) -> None:
    """``RemovePostDataProcessor`` drops the request body and keeps the rest of the request."""
    client = sentry.client(
        processors=[
            "raven.processors.SanitizePasswordsProcessor",
            "raven.processors.RemovePostDataProcessor",
        ]
    )
    client.http_context({"url": "http://x/", "method": "POST", "data": {"comment": "long text"}})
    client.captureMessage("m")
    request = sentry.event()["request"]
    assert "data" not in request and request["url"] == "http://x/"


def test_remove_stack_locals_processor(sentry: Harness) -> None:
    """``RemoveStackLocalsProcessor`` drops local variables from every frame of every exception."""
    client = sentry.client(processors=["raven.processors.RemoveStackLocalsProcessor"])
    try:
        try:
            raise KeyError("inner")
        except KeyError:
            raise ValueError("outer")
    except ValueError:
        client.captureException()
    for value in sentry.event()["exception"]["values"]:
        assert not any("vars" in frame for frame in value["stacktrace"]["frames"])


class TagAdder(Processor):
    """A user processor written against the ``Processor`` base class."""

    def process(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data = super().process(data, **kwargs)
        data.setdefault("tags", {})["processed_by"] = type(self).__name__
        return data

    def filter_extra(self, data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if not k.startswith("internal_")}


def test_custom_processor_class_instance_and_path(collector: CollectingClient) -> None:
    """Processors may be given as a class, an instance or a dotted path; each runs on every event."""
    for spec in (TagAdder, TagAdder(), f"{__name__}.TagAdder"):
        client = collecting_client(processors=[spec])
        client.captureMessage("m", extra={"internal_x": 1, "kept": 2})
        event = client.events[-1]
        assert event["tags"]["processed_by"] == "TagAdder" and event["extra"] == {"kept": 2}
        client.close()


class Broken(Processor):
    def process(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("processor bug")


@pytest.mark.raven_errors_expected
def test_failing_processor_does_not_lose_the_event(sentry: Harness) -> None:
    """A processor that raises is logged and skipped; the event is still sent and scrubbed."""
    client = sentry.client(processors=[Broken, "raven.processors.SanitizePasswordsProcessor"])
    client.captureMessage("m", extra={"password": "pw"})
    assert sentry.event()["extra"]["password"] == MASK


def test_secrets_in_url_query_strings_are_masked(sentry: Harness, client: raven.Client) -> None:
    """Sensitive pairs in the query of a URL (request url, HTTP breadcrumb url) are masked per pair."""
    import requests

    base = f"http://127.0.0.1:{sentry.receiver.port}"
    requests.get(f"{base}/maps?key=1&api_key=SECRET&q=paris", timeout=5)
    client.http_context({"url": "https://shop.example/cb?token=abc&step=2#done", "method": "GET"})
    client.captureMessage("m")
    event = sentry.event()
    (crumb,) = [c for c in event["breadcrumbs"]["values"] if c["type"] == "http"]
    assert crumb["data"]["url"] == f"{base}/maps?key=1&api_key={MASK}&q=paris"
    assert event["request"]["url"] == f"https://shop.example/cb?token={MASK}&step=2#done"
