"""``install_sys_hook``: uncaught exceptions of the main thread and of other threads are reported,
then the previous hooks run. Tested in a subprocess, where the hooks really fire."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import Any

import raven
from raven import hooks

from .conftest import Harness

SCRIPT = textwrap.dedent("""
    import sys, threading
    import raven

    def previous_sys_hook(exc_type, exc, tb):
        print("previous sys hook:", exc_type.__name__, flush=True)

    def previous_thread_hook(args):
        print("previous thread hook:", args.exc_type.__name__, flush=True)

    sys.excepthook = previous_sys_hook
    threading.excepthook = previous_thread_hook
    client = raven.Client(sys.argv[1])

    def worker():
        raise KeyError("in a thread")

    def quiet_exit():
        raise SystemExit(3)

    for target in (worker, quiet_exit):
        thread = threading.Thread(target=target, name=target.__name__)
        thread.start()
        thread.join()

    def main():
        raise RuntimeError("uncaught in main")

    main()
""")


def run_script(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )


def test_uncaught_exceptions_are_reported_and_hooks_chained(sentry: Harness) -> None:
    """Uncaught errors in a thread and in the main thread are sent as fatal and unhandled; the
    previous hooks still run and the process still exits with status 1."""
    result = run_script(SCRIPT, sentry.receiver.dsn)
    assert result.returncode == 1, result.stderr
    assert "previous thread hook: KeyError" in result.stdout
    assert "previous thread hook: SystemExit" in result.stdout
    assert "previous sys hook: RuntimeError" in result.stdout
    thread_event, main_event = sentry.events(2)
    assert thread_event["exception"]["values"][-1]["type"] == "KeyError"
    assert main_event["exception"]["values"][-1]["value"] == "uncaught in main"
    for event in (thread_event, main_event):
        mechanism = event["exception"]["values"][-1]["mechanism"]
        assert (mechanism["type"], mechanism["handled"]) == ("excepthook", False)
        assert event["level"] == "fatal"
    assert main_event["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "main"


def test_keyboard_interrupt_is_not_reported(receiver: Any) -> None:
    """Ctrl-C ending a program is not an error report."""
    script = "import raven, sys; c = raven.Client(sys.argv[1]); raise KeyboardInterrupt"
    result = run_script(script, receiver.dsn)
    assert result.returncode != 0 and "KeyboardInterrupt" in result.stderr
    assert receiver.events == []


def test_hooks_not_installed_when_disabled_by_option(receiver: Any) -> None:
    """With ``install_sys_hook=False`` nothing is reported by the hooks."""
    script = "import raven, sys; c = raven.Client(sys.argv[1], install_sys_hook=False); raise ValueError('x')"
    result = run_script(script, receiver.dsn)
    assert result.returncode == 1 and "ValueError: x" in result.stderr
    assert receiver.requests == []


def test_install_is_idempotent_and_undone_by_close(sentry: Harness) -> None:
    """Two clients install the hooks once; they are restored when the last client closes."""
    original_sys, original_thread = sys.excepthook, threading.excepthook
    first = raven.Client(sentry.dsn, install_sys_hook=True)
    installed = sys.excepthook
    second = raven.Client(sentry.dsn, install_sys_hook=True)
    try:
        assert installed is not original_sys and sys.excepthook is installed
        assert threading.excepthook is not original_thread
    finally:
        first.close()
        assert sys.excepthook is installed  # the second client still uses it
        second.close()
    assert sys.excepthook is original_sys and threading.excepthook is original_thread


def test_disabled_client_installs_no_hooks(monkeypatch: Any) -> None:
    """A client without a DSN leaves ``sys.excepthook`` alone."""
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    original = sys.excepthook
    client = raven.Client(install_sys_hook=True)
    assert sys.excepthook is original
    client.close()


HOOKS_SCRIPT = textwrap.dedent("""
    import http.client, logging, sys
    import raven

    dsn = sys.argv[1]
    original_log, original_http = logging.Logger.callHandlers, http.client.HTTPConnection.putrequest

    def activity(label):
        logging.getLogger("shop").warning(label)
        connection = http.client.HTTPConnection("127.0.0.1", int(dsn.rsplit(":", 1)[1].split("/")[0]), timeout=5)
        connection.request("GET", "/" + label)
        connection.getresponse().read()

    first, second = raven.Client(dsn), raven.Client(dsn)   # both install the hooks
    activity("hooked")
    first.captureMessage("one")
    first.close()
    second.close()                                         # the last close undoes them
    print("restored:", logging.Logger.callHandlers is original_log,
          http.client.HTTPConnection.putrequest is original_http, flush=True)
    third = raven.Client(dsn, install_logging_hook=False, hook_libraries=())
    activity("unhooked")
    third.captureMessage("two")
    third.close()
    again = raven.Client(dsn)                              # installed again after an uninstall
    activity("again")
    again.captureMessage("three")
    again.close()
""")


def test_hooks_installed_once_undone_by_the_last_close_and_installable_again(
    sentry: Harness,
) -> None:
    """Two clients install the logging and HTTP hooks once (one crumb each, not two); after the
    last close both are restored and record nothing; a new client installs them again."""
    result = run_script(HOOKS_SCRIPT, sentry.receiver.dsn.replace("http://", "sync+http://"))
    assert result.returncode == 0, result.stderr
    assert "restored: True True" in result.stdout
    first, second, third = sentry.events(3)

    def crumbs(event: dict[str, Any]) -> list[tuple[str, str]]:
        values = event.get("breadcrumbs", {}).get("values", [])
        return [
            (c["category"], c.get("message") or c["data"]["url"].rsplit("/", 1)[1]) for c in values
        ]

    assert crumbs(first) == [("shop", "hooked"), ("httplib", "hooked")]
    assert crumbs(second) == []
    assert crumbs(third) == [("shop", "again"), ("httplib", "again")]


def test_registered_hook_is_reference_counted() -> None:
    """A framework package's hook runs its install on the first acquire and its uninstall on the
    last release, and can be installed again afterwards."""
    calls: list[str] = []
    hooks.register(
        "test.counted", lambda: calls.append("install"), lambda: calls.append("uninstall")
    )

    class Holder:
        pass

    one, two = Holder(), Holder()
    hooks.acquire("test.counted", one)
    hooks.acquire("test.counted", two)
    hooks.acquire("test.counted", one)
    assert calls == ["install"]
    hooks.release("test.counted", one)
    assert calls == ["install"]
    hooks.release("test.counted", two)
    assert calls == ["install", "uninstall"] and not hooks.is_installed("test.counted")
    hooks.acquire("test.counted", one)
    hooks.release("test.counted", one)
    assert calls == ["install", "uninstall", "install", "uninstall"]
