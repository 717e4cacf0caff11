"""Sanic's multi-worker mode: a real server with two worker processes, real HTTP requests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.receiver import Receiver
from tests.sanic.conftest import validated

WORKER_APP = Path(__file__).with_name("worker_app.py")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(
    receiver: Receiver, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """``worker_app.py`` running with workers=2 on a free port: (process, base URL, log file)."""
    port = _free_port()
    log_path = tmp_path / "server.log"
    env = {**os.environ, "SENTRY_DSN": receiver.dsn, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(WORKER_APP)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc, f"http://127.0.0.1:{port}", log_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this fixture started
                proc.wait()


async def _wait_until_serving(
    client: httpx.AsyncClient, proc: subprocess.Popen[bytes], log_path: Path
) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"server exited:\n{log_path.read_text()}")
        try:
            if (await client.get("/pid")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"server did not start:\n{log_path.read_text()}")


def _worker_pids(receiver: Receiver) -> set[str]:
    return {e["tags"]["worker_pid"] for e in receiver.events if e.get("tags", {}).get("worker_pid")}


async def test_each_worker_process_delivers_its_own_events(
    receiver: Receiver, server: tuple[subprocess.Popen[bytes], str, Path]
) -> None:
    """Both worker processes report their own errors, and each flushes what is pending when the
    server is stopped (the Sentry server answers slowly at that moment)."""
    proc, base_url, log_path = server
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection, any worker, each time
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=20) as client:
        await _wait_until_serving(client, proc, log_path)

        sent = 0
        for _ in range(20):  # bursts of concurrent requests until both workers have reported
            responses = await asyncio.gather(*(client.get("/boom?phase=warmup") for _ in range(10)))
            assert {r.status_code for r in responses} == {500}
            sent += len(responses)
            await asyncio.to_thread(receiver.wait_for, sent, 10)
            if len(_worker_pids(receiver)) >= 2:
                break

        receiver.respond_with(delay=1.0)
        final = await asyncio.gather(*(client.get("/boom?phase=final") for _ in range(4)))
        assert {r.status_code for r in final} == {500}

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 0, log_path.read_text()

    def final_events(r: Receiver) -> list[dict[str, object]]:
        return [e for e in r.events if e.get("tags", {}).get("phase") == "final"]

    receiver.wait_until(lambda r: len(final_events(r)) == 4, timeout=5)
    events = validated(list(receiver.events))
    pids = _worker_pids(receiver)
    assert len(pids) == 2, f"events came from {pids}"
    assert str(proc.pid) not in pids  # the main process serves nothing
    assert all(e["transaction"] == "raven_sanic_workers.boom" for e in events)
    assert "raven-sanic:" not in log_path.read_text()
