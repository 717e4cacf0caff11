"""The Feature flags and Attachments examples of raven-core's README run as written and send
what they say."""

from __future__ import annotations

from pathlib import Path

from tests.readme_example import run_example
from tests.receiver import Receiver
from tests.relay import validate_event

README = Path(__file__).resolve().parents[2] / "packages" / "core" / "README.md"


def test_the_feature_flags_example_sends_its_flags(receiver: Receiver, tmp_path: Path) -> None:
    """The example's error arrives with both flags, in evaluation order."""
    run_example(README, tmp_path, {"SENTRY_DSN": receiver.dsn}, "## Feature flags\n")
    (event,) = receiver.wait_for(1)
    validate_event(event)
    assert event["contexts"]["flags"] == {
        "values": [
            {"flag": "dark-mode", "result": False},
            {"flag": "new-checkout", "result": True},
        ]
    }


def test_the_attachments_example_sends_three_files(receiver: Receiver, tmp_path: Path) -> None:
    """The example's error arrives with the log file, the config and the capture's own file."""
    run_example(README, tmp_path, {"SENTRY_DSN": receiver.dsn}, "## Attachments\n")
    (event,) = receiver.wait_for(1)
    validate_event(event)
    attachments = receiver.wait_for_attachments(3)
    assert {a["event_id"] for a in attachments} == {event["event_id"]}
    assert [
        (a["headers"]["filename"], a["headers"]["content_type"], a["payload"]) for a in attachments
    ] == [
        ("worker.log", "text/plain", b"started\nfetched 3 orders\n"),
        ("config.json", "application/json", b'{"retries": 3}'),
        ("order.txt", "text/plain", b"order 17 payload"),
    ]
