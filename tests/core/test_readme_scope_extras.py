"""The Feature flags and Attachments examples of raven-core's README run as written and send
what they say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.receiver import Receiver
from tests.relay import validate_event

README = Path(__file__).resolve().parents[2] / "packages" / "core" / "README.md"


def _run_example(heading: str, receiver: Receiver, tmp_path: Path) -> None:
    section = README.read_text().split(f"## {heading}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no python block under ## {heading}"
    script = tmp_path / "example.py"
    script.write_text(match.group(1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env["SENTRY_DSN"] = receiver.dsn
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_feature_flags_example_sends_its_flags(receiver: Receiver, tmp_path: Path) -> None:
    """The example's error arrives with both flags, in evaluation order."""
    _run_example("Feature flags", receiver, tmp_path)
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
    _run_example("Attachments", receiver, tmp_path)
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
