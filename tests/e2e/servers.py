"""Real servers for the framework apps under test (gunicorn, a Celery worker, ...), in their own
process groups, with their output kept for the failure message."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.e2e.bugsink import free_port

__all__ = ["REPO", "ServerProcess", "app_env", "gunicorn_command", "serving"]

REPO = Path(__file__).resolve().parents[2]


def app_env(dsn: str, **extra: str) -> dict[str, str]:
    """Environment for an app process: the repo importable, the DSN in ``E2E_DSN``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["E2E_DSN"] = dsn
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@functools.cache
def _gunicorn_has_control_socket_flag() -> bool:
    help_text = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--help"], capture_output=True, text=True
    ).stdout
    return "--no-control-socket" in help_text


def gunicorn_command(app: str, port: int, workers: int = 2, extra: Sequence[str] = ()) -> list[str]:
    """gunicorn serving ``app`` on 127.0.0.1:``port`` (no control socket: parallel runs collide)."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--graceful-timeout",
        "10",
        *extra,
    ]
    if _gunicorn_has_control_socket_flag():
        command.append("--no-control-socket")
    return [*command, app]


class ServerProcess:
    """A server process; :meth:`wait_listening` until its port accepts connections."""

    def __init__(
        self, command: list[str], env: dict[str, str], log_path: Path, cwd: Path = REPO
    ) -> None:
        self.command = command
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def wait_listening(self, port: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.command[:4]} exited with {self.process.returncode}:\n{self.output()}"
                )
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"nothing listening on {port} after {timeout:.0f}s:\n{self.output()}")

    def wait_output(self, text: str, timeout: float = 30.0) -> None:
        """Wait until ``text`` appears in the process's output."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.command[:4]} exited with {self.process.returncode}:\n{self.output()}"
                )
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"{text!r} not in the output after {timeout:.0f}s:\n{self.output()}"
                )
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the process group, wait, kill if needed; the exit code."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        return int(self.process.returncode)


@contextlib.contextmanager
def serving(command_for_port, env: dict[str, str], log_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Start ``command_for_port(port)`` on a free port; yield its base URL; stop it afterwards."""
    port = free_port()
    server = ServerProcess(command_for_port(port), env, log_path)
    try:
        server.wait_listening(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
