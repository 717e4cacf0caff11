"""Delivery across processes: fork safety, exit flush, the durable outbox, and 10,000-event bursts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import raven
from raven.receiver import Receiver

from tests.relay import validate_event

ROOT = Path(__file__).resolve().parents[2]


def run_script(
    code: str, *args: str, wait: bool = True, **env: str
) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (the project's), with ``args`` as sys.argv[1:]."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    cmd = [sys.executable, "-c", textwrap.dedent(code), *args]
    if not wait:
        return subprocess.Popen(
            cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=120)


CAPTURE_AND_PRINT_IDS = """
    import sys, raven
    dsn, outbox, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = raven.Client(dsn, outbox_path=outbox or None, shutdown_timeout=0.5, install_sys_hook=False)
    ids = [client.captureMessage("outbox event %s", params=(i,)) for i in range(count)]
    print(" ".join(ids), flush=True)
"""


def test_child_after_fork_delivers_its_own_events_once(receiver: Receiver) -> None:
    """A forked child gets a fresh sender: its event arrives once and the parent's is not re-sent."""
    client = raven.Client(receiver.dsn, install_sys_hook=False)
    receiver.pause()
    parent_id = client.captureMessage("from the parent")
    receiver.wait_until(
        lambda r: r.received_bodies == 1
    )  # in flight, held by the server, at fork time
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            child_id = client.captureMessage("from the child")
            code = 0 if child_id and client.flush(20) else 1
        finally:
            os._exit(code)
    receiver.wait_until(lambda r: r.received_bodies == 2)
    receiver.resume()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.flush(10)
    events = receiver.wait_for(2)
    messages = sorted(e["logentry"]["message"] for e in events)
    assert messages == ["from the child", "from the parent"]
    assert parent_id in {e["event_id"] for e in events}
    for event in events:
        validate_event(event)


def test_exit_flushes_pending_events_and_says_so(receiver: Receiver) -> None:
    """At interpreter exit pending events are sent, with one line on stderr while it waits."""
    result = run_script(CAPTURE_AND_PRINT_IDS, receiver.dsn, "", "30")
    assert result.returncode == 0, result.stderr
    ids = result.stdout.split()
    events = receiver.wait_for(30)
    assert sorted(e["event_id"] for e in events) == sorted(ids)


def test_exit_with_server_down_announces_and_stops_after_the_shutdown_timeout(
    receiver: Receiver,
) -> None:
    """With the server down, exit waits at most shutdown_timeout and prints how many it is sending."""
    receiver.stop()
    result = run_script(CAPTURE_AND_PRINT_IDS, receiver.dsn, "", "5")
    assert result.returncode == 0
    assert "raven: sending 5 pending events" in result.stderr


def test_outbox_keeps_what_could_not_be_sent_for_the_next_process(
    receiver: Receiver, tmp_path: Path
) -> None:
    """Events a process could not deliver are sent by the next process, each exactly once."""
    outbox = tmp_path / "outbox"
    receiver.stop()
    first = run_script(CAPTURE_AND_PRINT_IDS, receiver.dsn, str(outbox), "40")
    assert first.returncode == 0, first.stderr
    first_ids = first.stdout.split()
    assert len(list(outbox.glob("*.raven"))) == 40
    receiver.start()
    second = run_script(
        CAPTURE_AND_PRINT_IDS + "\n    assert client.flush(20)\n", receiver.dsn, str(outbox), "2"
    )
    assert second.returncode == 0, second.stderr
    events = receiver.wait_for(42)
    ids = [e["event_id"] for e in events]
    assert sorted(ids) == sorted(first_ids + second.stdout.split())  # nothing lost, nothing twice
    assert list(outbox.glob("*.raven")) == []
    validate_event(events[0])


TRANSACTION_INTO_OUTBOX = """
    import sys, raven
    client = raven.Client(sys.argv[1], outbox_path=sys.argv[2], traces_sample_rate=1.0,
                          shutdown_timeout=0.5, install_sys_hook=False)
    with client.start_transaction(name="nightly", op="task") as transaction:
        pass
    print(transaction.trace_id, flush=True)
"""


def test_outbox_keeps_an_uncompressed_transaction_for_the_next_process(
    receiver: Receiver, tmp_path: Path
) -> None:
    """A small transaction (sent uncompressed) that could not be delivered waits on disk and is
    sent by the next process, uncompressed still, with a fresh ``sent_at``."""
    outbox = tmp_path / "outbox"
    receiver.stop()
    first = run_script(TRANSACTION_INTO_OUTBOX, receiver.dsn, str(outbox))
    assert first.returncode == 0, first.stderr
    assert len(list(outbox.glob("*.raven"))) == 1
    between = datetime.now(UTC)
    receiver.start()
    second = run_script(
        CAPTURE_AND_PRINT_IDS + "\n    assert client.flush(20)\n", receiver.dsn, str(outbox), "0"
    )
    assert second.returncode == 0, second.stderr
    (transaction,) = receiver.wait_for_transactions(1)
    assert transaction["contexts"]["trace"]["trace_id"] == first.stdout.strip()
    (request,) = [r for r in receiver.requests if "transaction" in r.item_types]
    assert "content-encoding" not in request.headers
    assert datetime.fromisoformat(request.envelope_headers["sent_at"]) >= between
    assert list(outbox.glob("*.raven")) == []


def test_outbox_skips_corrupt_and_foreign_files(
    receiver: Receiver, tmp_path: Path, caplog: object
) -> None:
    """A corrupt or foreign file in the outbox is skipped and logged, and the rest is delivered."""
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "00000000000000000001-bad.raven").write_bytes(b"RAVEN1\n{not json")
    (outbox / "00000000000000000002-foreign.raven").write_bytes(b"hello")
    (outbox / "notes.txt").write_text("not ours")
    client = raven.Client(receiver.dsn, outbox_path=str(outbox), install_sys_hook=False)
    event_id = client.captureMessage("still delivered")
    assert client.flush(10)
    (event,) = receiver.wait_for(1)
    assert event["event_id"] == event_id
    assert (outbox / "notes.txt").exists()


def test_outbox_survives_sigkill_mid_send(receiver: Receiver, tmp_path: Path) -> None:
    """A process killed while sending from the outbox loses nothing; only in-flight events may repeat."""
    outbox = tmp_path / "outbox"
    receiver.stop()
    first = run_script(CAPTURE_AND_PRINT_IDS, receiver.dsn, str(outbox), "30")
    ids = first.stdout.split()
    assert len(list(outbox.glob("*.raven"))) == 30
    receiver.start()
    receiver.pause()
    sender = run_script(
        """
        import sys, threading, raven
        client = raven.Client(sys.argv[1], outbox_path=sys.argv[2], install_sys_hook=False)
        client.captureMessage("trigger")
        threading.Event().wait(60)
    """,
        receiver.dsn,
        str(outbox),
        wait=False,
    )
    assert isinstance(sender, subprocess.Popen)
    receiver.wait_until(lambda r: r.received_bodies >= 1)
    sender.send_signal(signal.SIGKILL)
    sender.wait()
    receiver.resume()
    final = run_script(
        "import sys, raven\nc = raven.Client(sys.argv[1], outbox_path=sys.argv[2], install_sys_hook=False)\n"
        "c.captureMessage('last')\nassert c.flush(20)\n",
        receiver.dsn,
        str(outbox),
    )
    assert final.returncode == 0, final.stderr
    receiver.wait_until(lambda r: set(ids) <= {e["event_id"] for e in r.events})
    received = [e["event_id"] for e in receiver.events if e["event_id"] in set(ids)]
    assert set(received) == set(ids)
    in_flight = raven.Client(receiver.dsn).options.max_requests_in_flight
    assert len(received) - len(ids) <= in_flight  # at most what was in flight is sent twice


def burst(receiver: Receiver, client: raven.Client, total: int = 10_000) -> list[str]:
    """Capture ``total`` distinct errors; the server is down for the first half."""
    receiver.stop()
    ids = []
    for i in range(total):
        if i == total // 2:
            receiver.start()
        try:
            raise KeyError(f"burst {i}")
        except KeyError:
            event_id = client.captureException()
        assert event_id
        ids.append(event_id)
    return ids


def test_burst_with_server_down_for_half_is_fully_accounted(receiver: Receiver) -> None:
    """10,000 errors, server down for the first half: received + reported as dropped = 10,000."""
    client = raven.Client(
        receiver.dsn, install_sys_hook=False, capture_locals=False, context_lines=0
    )
    ids = burst(receiver, client)
    client.close(60)
    dropped = sum(client.reports.totals.values())
    received = {e["event_id"] for e in receiver.events}
    assert received <= set(ids)
    assert len(receiver.events) == len(received)  # nothing twice
    assert len(received) + dropped == 10_000


def test_burst_with_outbox_delivers_every_event_once(receiver: Receiver, tmp_path: Path) -> None:
    """10,000 errors, server down for the first half, with an outbox: all 10,000 ids arrive once."""
    client = raven.Client(
        receiver.dsn,
        install_sys_hook=False,
        capture_locals=False,
        context_lines=0,
        outbox_path=str(tmp_path / "outbox"),
        queue_size=1000,
    )
    ids = burst(receiver, client)
    assert client.flush(120)
    received = [e["event_id"] for e in receiver.events]
    assert len(received) == len(set(received))
    assert set(received) == set(ids)


def test_events_spilled_to_the_outbox_are_scrubbed_first(
    receiver: Receiver, tmp_path: Path
) -> None:
    """Scrubbing runs on the encoder thread; an event the full queue spills to disk is scrubbed
    before it is written, and is not scrubbed twice when the next process sends it."""
    outbox = tmp_path / "outbox"
    receiver.stop()
    client = raven.Client(
        receiver.dsn, outbox_path=str(outbox), queue_size=1, install_sys_hook=False
    )
    for i in range(20):
        client.captureMessage("order %s", params=(i,), extra={"password": "hunter2"})
    client.close(timeout=1)
    written = b"".join(path.read_bytes() for path in outbox.glob("*.raven"))
    assert written, "nothing was spilled"
    assert b"hunter2" not in written
    receiver.start()
    sender = raven.Client(receiver.dsn, outbox_path=str(outbox), install_sys_hook=False)
    assert sender.flush(20)
    sender.close(timeout=5)
    assert receiver.events and all(e["extra"]["password"] == "********" for e in receiver.events)
