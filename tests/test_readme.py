"""The top-level README's quick start runs as written, anywhere: copied into an empty folder (no
git checkout), it exits 0 with or without a DSN."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.receiver import Receiver

ROOT = Path(__file__).resolve().parents[1]


def quick_start() -> str:
    """The first Python block under the README's "Quick start" heading."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "no python block under ## Quick start"
    return match.group(1)


def run_quick_start(tmp_path: Path, dsn: str | None) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "quick_start.py"
    script.write_text(quick_start())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    if dsn is not None:
        env["SENTRY_DSN"] = dsn
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_quick_start_sends_its_events_from_an_empty_folder(
    tmp_path: Path, receiver: Receiver
) -> None:
    """With SENTRY_DSN at a loopback receiver, the quick start exits 0 outside any git checkout and
    its exception and message arrive."""
    result = run_quick_start(tmp_path, receiver.dsn)
    assert result.returncode == 0, result.stderr
    events = receiver.wait_for(2)
    assert any(e.get("exception") for e in events)
    assert any(e.get("logentry", {}).get("formatted") == "payment p-17 declined" for e in events)


def test_quick_start_runs_without_a_dsn(tmp_path: Path) -> None:
    """Without any DSN the quick start exits 0 (the client is disabled)."""
    result = run_quick_start(tmp_path, None)
    assert result.returncode == 0, result.stderr
