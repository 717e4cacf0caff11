"""``raven serve`` run as a real process on a free loopback port, and helpers to talk to it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode

import pytest
import raven

START_TIMEOUT = 30.0


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


class Server:
    """A ``raven serve`` process: its DSN (project 1), its page's URL, and what it printed."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "raven", "serve", "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.process.stdout, lines), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.process.stderr, None), daemon=True).start()
        found: dict[str, str] = {}
        deadline = time.monotonic() + START_TIMEOUT
        while "UI" not in found:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                raise AssertionError(f"raven serve did not start: {self.stdout} {self.stderr}")
            name, _, value = line.partition(": ")
            found[name] = value.strip()
        self.dsn, self.url = found["DSN"], found["UI"].rstrip("/")

    def _pump(self, stream: Any, lines: queue.Queue[str | None] | None) -> None:
        for line in stream:
            (self.stdout if lines is not None else self.stderr).append(line)
            if lines is not None:
                lines.put(line)
        if lines is not None:
            lines.put(None)

    def stop(self) -> int:
        """Interrupt the server as Ctrl-C does; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    # -- reading it ------------------------------------------------------------------------------
    def request(
        self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) of a request to the server (errors included)."""
        request = urllib.request.Request(self.url + path, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _lower(response.headers), response.read()
        except HTTPError as error:
            return error.code, _lower(error.headers), error.read()

    def page(self, path: str) -> str:
        status, _, body = self.request(path)
        assert status == 200, (path, status, body[:500])
        return body.decode()

    def json(self, path: str, **params: Any) -> Any:
        query = f"?{urlencode(params)}" if params else ""
        return json.loads(self.page(path + query))

    def issues(self, project: int = 1, **params: Any) -> list[dict[str, Any]]:
        return list(self.json(f"/api/0/projects/{project}/issues/", **params)["issues"])

    def new_project(self, name: str) -> tuple[int, str]:
        """A new project made through the projects page's form: (id, DSN)."""
        status, _, _ = self.request("/projects", urlencode({"name": name}).encode())
        assert status == 200  # after the 303 to the projects page
        project = [p for p in self.json("/api/0/projects/") if p["name"] == name][-1]
        return project["id"], project["dsn"]

    def wait_until(self, check: Callable[[], Any], timeout: float = 15.0) -> Any:
        """``check()``'s first truthy value, polled until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout} s: {check}")
            time.sleep(0.05)


@pytest.fixture(scope="package")
def devserver() -> Iterator[Server]:
    """One ``raven serve --memory`` for the whole folder; tests isolate themselves in projects."""
    server = Server("--memory")
    yield server
    assert server.stop() == 0, server.stderr


@pytest.fixture
def project(devserver: Server, request: pytest.FixtureRequest) -> tuple[int, str]:
    """A project of its own for this test: (id, DSN)."""
    return devserver.new_project(request.node.name[:90])


@pytest.fixture
def client(project: tuple[int, str]) -> Iterator[raven.Client]:
    """Raven's client sending synchronously to this test's project."""
    client = raven.Client(
        "sync+" + project[1], install_sys_hook=False, hook_libraries=(), release="1.0.0"
    )
    yield client
    client.close(timeout=5)
