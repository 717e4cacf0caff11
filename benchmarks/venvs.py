"""The benchmark's virtualenvs: one per SDK, each with the same frameworks, made by the bench.

- ``raven``: this repository's ``packages/core`` and every framework package, installed editable.
- ``sentry-sdk``: the current sentry-sdk release.
- ``raven-6.10``: ``raven==6.10.0``, the legacy client.

They live under ``$XDG_CACHE_HOME/raven-bench`` (``~/.cache/raven-bench``) and are reused while
their requirements are unchanged (``--refresh`` rebuilds them, e.g. for a new sentry-sdk).
All use the interpreter that runs the bench, so Python itself is the same for every SDK.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FRAMEWORKS", "SdkEnv", "prepare_envs"]

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ["flask>=3", "django>=5.2,<6", "tornado>=6.4", "sanic>=25", "celery[redis]>=5.4"]
# What the benchmarked apps use besides the frameworks (the tracing benchmark's outgoing call).
APP_LIBRARIES = ["requests"]
# Framework packages of this repository, by folder under packages/.
RAVEN_PACKAGES = ["flask", "django", "tornado", "sanic", "celery"]
SDK_REQUIREMENTS = {
    "raven": [],  # installed from packages/ below
    "sentry-sdk": ["sentry-sdk==2.75.0"],  # the version the targets in the issues were set against
    "raven-6.10": ["raven==6.10.0"],
}


@dataclass
class SdkEnv:
    name: str
    path: Path
    raven_packages: list[str]  # this repo's framework packages installed (raven env only)

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "raven-bench"


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True)


def _installer(venv: Path) -> list[str]:
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
    return [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]


def _create(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    uv = shutil.which("uv")
    if uv:
        result = _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    else:
        result = _run([sys.executable, "-m", "venv", str(venv)])
    if result.returncode != 0:
        raise RuntimeError(f"cannot create {venv}: {result.stderr}")


def _install(venv: Path, requirements: list[str]) -> None:
    result = _run([*_installer(venv), *requirements])
    if result.returncode != 0:
        raise RuntimeError(
            f"installing {requirements} into {venv} failed:\n{result.stderr[-3000:]}"
        )


def prepare_envs(refresh: bool = False, log=print) -> dict[str, SdkEnv]:  # type: ignore[no-untyped-def]
    envs: dict[str, SdkEnv] = {}
    base = _cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    available = [p for p in RAVEN_PACKAGES if (ROOT / "packages" / p / "pyproject.toml").exists()]
    for name, requirements in SDK_REQUIREMENTS.items():
        venv = base / name
        spec = {
            "python": sys.version,
            "requirements": requirements,
            "frameworks": FRAMEWORKS + APP_LIBRARIES,
            "packages": available if name == "raven" else [],
        }
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        marker = venv / ".raven-bench"
        installed: list[str] = []
        if not refresh and marker.exists():
            saved = json.loads(marker.read_text())
            if saved.get("digest") == digest:
                envs[name] = SdkEnv(name, venv, saved.get("raven_packages", []))
                continue
        log(f"[bench] creating virtualenv for {name} in {venv}")
        _create(venv)
        if name == "raven":
            _install(venv, ["-e", str(ROOT / "packages" / "core"), *FRAMEWORKS])
            for package in available:
                # A framework package still being written must not stop the other benchmarks.
                try:
                    _install(venv, ["-e", str(ROOT / "packages" / package)])
                    installed.append(package)
                except RuntimeError as exc:
                    log(f"[bench] raven-{package} not installable, its overhead is skipped: {exc}")
        else:
            _install(venv, [*requirements, *FRAMEWORKS, *APP_LIBRARIES])
        marker.write_text(json.dumps({"digest": digest, "raven_packages": installed}))
        envs[name] = SdkEnv(name, venv, installed)
    return envs
