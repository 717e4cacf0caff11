"""Run a README's ``python`` example as a script, the way a reader would copy it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

__all__ = ["run_example"]


def run_example(
    readme: Path, tmp_path: Path, env: dict[str, str], section: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the first ``python`` block of ``readme`` (after the heading ``section``, when given)
    in a fresh interpreter, with the environment minus ``SENTRY_*``/``OPENAI_*`` plus ``env``;
    fails unless it exits 0."""
    text = readme.read_text()
    if section is not None:
        text = text.split(section, 1)[1]
    match = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert match, f"no python block in {readme.name}{f' under {section}' if section else ''}"
    script = tmp_path / "example.py"
    script.write_text(match.group(1))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "OPENAI_"))}
    result = subprocess.run(
        [sys.executable, str(script)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result
