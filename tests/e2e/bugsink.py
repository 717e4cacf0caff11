"""A real Bugsink (a self-hosted, Sentry-compatible error tracker) for the end-to-end tests.

Bugsink pins its own Django, so it lives in its own virtualenv under the user's cache dir
(created and ``pip install``-ed on first use, reused afterwards). Each :class:`BugsinkServer`
gets its own directory (SQLite files, ingest store, config), is migrated, gets a user, a team
and a full-access API token through Bugsink's ORM, and is served by gunicorn on a free loopback
port. Ingestion runs inside the HTTP request (``SNAPPEA["TASK_ALWAYS_EAGER"]``), so an event can
be read back through the REST API as soon as the SDK got its 200.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

__all__ = ["BugsinkServer", "Project", "bugsink_venv", "free_port"]

# Tested with 2.6; a new major may change the API the tests read back through.
BUGSINK_REQUIREMENT = "bugsink>=2.6,<3"
# Per-project quota configured on every instance: the quota test sends this many events, then
# sees Bugsink's 429. Other tests create their own project and stay below it.
PROJECT_QUOTA_PER_5_MINUTES = 20
READY_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "raven-e2e"


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment for Bugsink's processes: nothing from the project's virtualenv."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "DJANGO_SETTINGS_MODULE", "SENTRY_DSN")
    }
    env.update(extra)
    return env


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"command failed ({result.returncode}): {' '.join(args)}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def bugsink_venv() -> Path:
    """Bugsink's own virtualenv (created on first use; a lock keeps parallel runs apart)."""
    venv = Path(os.environ.get("RAVEN_E2E_BUGSINK_VENV") or _cache_dir() / "bugsink-venv")
    marker = venv / ".raven-e2e-installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (
            marker.exists()
            and marker.read_text() == BUGSINK_REQUIREMENT
            and (venv / "bin" / "gunicorn").exists()
        ):
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        _create_venv(venv)
        marker.write_text(BUGSINK_REQUIREMENT)
    return venv


def _create_venv(venv: Path) -> None:
    python = venv / "bin" / "python"
    try:
        _run([sys.executable, "-m", "venv", str(venv)])
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                BUGSINK_REQUIREMENT,
            ],
            env=_clean_env(PIP_NO_INPUT="1"),
        )
        return
    except RuntimeError:
        uv = shutil.which("uv")
        if uv is None:
            raise
    # No ensurepip / pip in this Python: let uv build the same virtualenv.
    shutil.rmtree(venv, ignore_errors=True)
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    _run(
        [uv, "pip", "install", "--quiet", "--python", str(python), BUGSINK_REQUIREMENT],
        env=_clean_env(),
    )


@dataclass(frozen=True)
class Project:
    """A Bugsink project: its numeric id and the DSN SDKs send to."""

    id: int
    name: str
    dsn: str
    server: BugsinkServer

    def issues(self) -> list[dict[str, Any]]:
        return self.server.issues(self.id)

    def events(self) -> list[dict[str, Any]]:
        """Every event of the project with its full ``data``, oldest first."""
        found = []
        for issue in self.issues():
            for item in self.server.events(issue["id"]):
                found.append(self.server.event(item["id"]))
        return sorted(found, key=lambda e: (e["ingested_at"], e["timestamp"]))

    def event(self, event_id: str) -> dict[str, Any]:
        """The stored event whose Sentry ``event_id`` is ``event_id`` (32 hex or dashed)."""
        wanted = uuid.UUID(event_id)
        for issue in self.issues():
            for item in self.server.events(issue["id"]):
                if uuid.UUID(item["event_id"]) == wanted:
                    return self.server.event(item["id"])
        raise AssertionError(f"event {event_id} is not in Bugsink project {self.name!r}")

    def wait_for_events(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The project's events once at least ``count`` are stored (for senders in other processes)."""
        last: list[dict[str, Any]] = []

        def enough() -> bool:
            nonlocal last
            if self.server.digested_count(self.id) < count:
                return False
            last = self.events()
            return len(last) >= count

        wait_until(
            enough,
            timeout,
            lambda: f"Bugsink project {self.name!r} has {len(last)} events, expected {count}",
        )
        return last

    def digested_count(self) -> int:
        return self.server.digested_count(self.id)


def wait_until(predicate: Callable[[], bool], timeout: float, message: Callable[[], str]) -> None:
    """Poll ``predicate`` until true; AssertionError with ``message()`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(message())
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


_BOOTSTRAP = textwrap.dedent("""
    import json, django
    django.setup()
    from django.contrib.auth import get_user_model
    from teams.models import Team, TeamMembership, TeamRole
    from bsmain.models import AuthToken
    user = get_user_model().objects.create_superuser(
        username="e2e@example.org", email="e2e@example.org", password="raven-e2e")
    team = Team.objects.create(name="raven-e2e")
    TeamMembership.objects.create(team=team, user=user, role=TeamRole.ADMIN, accepted=True)
    token = AuthToken.create_full_access(description="raven e2e")
    print(json.dumps({"team": str(team.id), "token": token.token}))
""")


class BugsinkServer:
    """One Bugsink instance in ``workdir``; :meth:`start` it, :meth:`stop` it."""

    def __init__(
        self, workdir: Path, venv: Path, project_quota: int = PROJECT_QUOTA_PER_5_MINUTES
    ) -> None:
        self.workdir = workdir
        self.venv = venv
        self.project_quota = project_quota
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.team = ""
        self.token = ""
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "gunicorn.log"
        self._http = requests.Session()

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> BugsinkServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        bin_dir = self.venv / "bin"
        env = _clean_env(PYTHONPATH=str(self.workdir), DJANGO_SETTINGS_MODULE="bugsink_conf")
        self._write_config(bin_dir)
        self._migrate(bin_dir, env)
        answer = _run([str(bin_dir / "python"), "-c", _BOOTSTRAP], env=env, cwd=self.workdir)
        created = json.loads(answer.stdout.strip().splitlines()[-1])
        self.team, self.token = created["team"], created["token"]
        self._http.headers["Authorization"] = f"Bearer {self.token}"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(bin_dir / "gunicorn"),
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "2",
                    "--no-control-socket",
                    "--access-logfile",
                    "-",
                    "bugsink.wsgi",
                ],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def _migrate(self, bin_dir: Path, env: dict[str, str]) -> None:
        """Create the two SQLite databases: copies of freshly migrated ones kept in the venv.

        Migrating takes seconds; the empty migrated databases depend only on Bugsink's version,
        which the venv pins, so they are made once per venv.
        """
        template = self.venv / ".raven-e2e-databases"
        names = ("db.sqlite3", "snappea.sqlite3")
        with open(self.venv / ".raven-e2e-databases.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not all((template / name).exists() for name in names):
                manage = str(bin_dir / "bugsink-manage")
                _run([manage, "migrate", "--verbosity", "0"], env=env, cwd=self.workdir)
                _run(
                    [manage, "migrate", "snappea", "--database=snappea", "--verbosity", "0"],
                    env=env,
                    cwd=self.workdir,
                )
                shutil.rmtree(template, ignore_errors=True)
                partial = self.venv / f".raven-e2e-databases.{os.getpid()}"
                partial.mkdir()
                for name in names:
                    shutil.copyfile(self.workdir / name, partial / name)
                partial.rename(template)
                return
        for name in names:
            shutil.copyfile(template / name, self.workdir / name)

    def _write_config(self, bin_dir: Path) -> None:
        conf = self.workdir / "bugsink_conf.py"
        _run(
            [
                str(bin_dir / "bugsink-create-conf"),
                "--template",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--output-file",
                str(conf),
            ],
            env=_clean_env(),
            cwd=self.workdir,
        )
        overrides = f"""

# raven e2e overrides: everything of this instance under {self.workdir}
DATABASES["default"]["NAME"] = {str(self.workdir / "db.sqlite3")!r}
DATABASES["snappea"]["NAME"] = {str(self.workdir / "snappea.sqlite3")!r}
SNAPPEA = {{"TASK_ALWAYS_EAGER": True}}
BUGSINK["BASE_URL"] = {self.url!r}
BUGSINK["INGEST_STORE_BASE_DIR"] = {str(self.workdir / "ingestion")!r}
BUGSINK["PHONEHOME"] = False
BUGSINK["MAX_EVENTS_PER_PROJECT_PER_5_MINUTES"] = {self.project_quota}
BUGSINK["MAX_EVENTS_PER_PROJECT_PER_HOUR"] = {self.project_quota * 10}
BUGSINK["MAX_EVENTS_PER_PROJECT_PER_MONTH"] = 1_000_000
BUGSINK["MAX_EVENTS_PER_5_MINUTES"] = 1_000_000
BUGSINK["MAX_EVENTS_PER_HOUR"] = 1_000_000
BUGSINK["MAX_EVENTS_PER_MONTH"] = 10_000_000
"""
        with open(conf, "a") as f:
            f.write(overrides)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Bugsink's gunicorn exited with {self.process.returncode}:\n{self.log()}"
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"Bugsink did not become ready in {READY_TIMEOUT:.0f}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None
        self._http.close()

    # -- the REST API ---------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(
            method, f"{self.url}/api/canonical/0/{path}", timeout=15, **kwargs
        )
        if response.status_code >= 400:
            raise AssertionError(
                f"Bugsink API {method} {path}: {response.status_code} {response.text[:1000]}"
            )
        return response.json()

    def _paged(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        page = self.api("GET", path, params=params)
        results = list(page["results"])
        while page.get("next"):
            response = self._http.get(page["next"], timeout=15)
            response.raise_for_status()
            page = response.json()
            results.extend(page["results"])
        return results

    def create_project(self, name: str) -> Project:
        """A new project (names are made unique: one project per test)."""
        unique = f"{name[:60]}-{uuid.uuid4().hex[:8]}"
        created = self.api("POST", "projects/", json={"team": self.team, "name": unique})
        details = self.api("GET", f"projects/{created['id']}/")
        return Project(id=int(details["id"]), name=unique, dsn=details["dsn"], server=self)

    def issues(self, project_id: int) -> list[dict[str, Any]]:
        return self._paged("issues/", {"project": project_id})

    def events(self, issue_id: str) -> list[dict[str, Any]]:
        return self._paged("events/", {"issue": issue_id, "order": "asc"})

    def event(self, event_uuid: str) -> dict[str, Any]:
        result: dict[str, Any] = self.api("GET", f"events/{event_uuid}/")
        return result

    def digested_count(self, project_id: int) -> int:
        return int(self.api("GET", f"projects/{project_id}/")["digested_event_count"])


@contextlib.contextmanager
def running_bugsink(workdir: Path, **kwargs: Any) -> Iterator[BugsinkServer]:
    server = BugsinkServer(workdir, bugsink_venv(), **kwargs)
    try:
        yield server.start()
    finally:
        server.stop()
