"""The tracing example of raven-core's README runs as written and sends what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.receiver import Receiver
from tests.relay import validate_event

README = Path(__file__).resolve().parents[2] / "packages" / "core" / "README.md"


def test_the_tracing_example_sends_one_transaction_with_its_spans(
    receiver: Receiver, tmp_path: Path
) -> None:
    section = README.read_text().split("## Tracing", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "no python block under ## Tracing"
    script = tmp_path / "example.py"
    script.write_text(match.group(1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env["SENTRY_DSN"] = receiver.dsn
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    (transaction,) = receiver.wait_for_transactions(1)
    validate_event(transaction)
    assert transaction["transaction"] == "nightly-report"
    ops = sorted(span["op"] for span in transaction["spans"])
    assert ops == ["db.query", "function"]
