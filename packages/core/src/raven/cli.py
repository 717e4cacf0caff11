"""The ``raven`` command: ``raven test [DSN]`` sends a test event and says what happened."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any, TextIO

from .__about__ import __version__

__all__ = ["main", "send_to_local_receiver", "send_to_server", "serve"]

SERVE_INSTALL_HINT = (
    "raven serve needs raven-devserver: pip install ./packages/devserver from a checkout of "
    "Raven (or run `hatch run raven serve` there)"
)


def main(argv: list[str] | None = None) -> int:
    """``raven test [DSN]``: send a test event and report what happened; ``raven serve``: run the
    local server of raven-devserver. Returns the exit status."""
    words = sys.argv[1:] if argv is None else argv
    if words[:1] == ["serve"]:
        return serve(words[1:])
    parser = argparse.ArgumentParser(prog="raven", description="Raven, a Sentry client for Python.")
    parser.add_argument("--version", action="version", version=f"raven {__version__}")
    commands = parser.add_subparsers(dest="command")
    test = commands.add_parser(
        "test", help="send a test event (to DSN, $SENTRY_DSN, or a local receiver)"
    )
    test.add_argument(
        "dsn", nargs="?", help="where to send; default $SENTRY_DSN, else a local receiver"
    )
    test.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server")
    commands.add_parser(
        "serve", help="run a local Sentry-compatible server with a web page (raven-devserver)"
    )
    args = parser.parse_args(argv)
    if args.command != "test":
        parser.print_help()
        return 0 if args.command is None and argv is not None else 2 if args.command else 0
    dsn = args.dsn or os.environ.get("SENTRY_DSN")
    return send_to_server(dsn, args.timeout) if dsn else send_to_local_receiver(args.timeout)


def serve(argv: list[str]) -> int:
    """``raven serve [options]``: raven-devserver's server, imported only now (the core does not
    depend on it); without it, one line saying how to install it."""
    import importlib

    try:
        devserver = importlib.import_module("raven_devserver.cli")
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "raven_devserver":
            print(f"raven serve: raven-devserver cannot start: {exc}", file=sys.stderr)
        else:
            print(SERVE_INSTALL_HINT, file=sys.stderr)
        return 1
    return int(devserver.main(argv))


def _make_client(dsn: str) -> Any:
    from .client import Client

    # Synchronous delivery: the command reports the server's own answer.
    scheme, sep, rest = dsn.partition("://")
    sync_dsn = f"sync+{scheme.rpartition('+')[2]}{sep}{rest}"
    return Client(
        sync_dsn,
        raise_send_errors=True,
        install_sys_hook=False,
        hook_libraries=(),
        timeout=10,
        auto_session_tracking=False,  # a test event is no run of the app's release
    )


def _capture_test_error(client: Any) -> str | None:
    client.user_context({"id": "raven-test", "username": "raven"})
    client.tags_context({"source": "raven test"})
    client.captureBreadcrumb(
        message="about to raise on purpose", category="raven.test", level="info"
    )
    log = logging.getLogger("raven_test")
    log.setLevel(logging.INFO)
    log.info("a log record becomes a breadcrumb too")

    def raise_test_error(reason: str = "this is a test event sent by `raven test`") -> None:
        raise RuntimeError(reason)

    try:
        raise_test_error()
    except RuntimeError:
        return client.captureException(extra={"command": "raven test"})  # type: ignore[no-any-return]
    return None


def send_to_server(dsn: str, timeout: float) -> int:
    """Send the test event to the server of ``dsn`` and report its answer."""
    from .dsn import Dsn
    from .exceptions import APIError, ConfigurationError

    try:
        scheme = Dsn.parse(
            dsn
        ).scheme  # errors name the DSN as given, not the sync+ form used below
        if scheme not in ("http", "https"):
            raise ConfigurationError(
                f"unsupported scheme {scheme!r} in {dsn!r} (raven test speaks http and https)"
            )
        client = _make_client(dsn)
    except ConfigurationError as exc:
        print(f"raven: invalid DSN: {exc}", file=sys.stderr)
        return 1
    print(f"Sending a test event to {client.get_public_dsn()} ...")
    try:
        event_id = _capture_test_error(client)
    except APIError as exc:
        print(f"raven: the server refused the event: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"raven: could not reach the server: {exc}", file=sys.stderr)
        return 1
    if event_id is None:
        print(
            "raven: the event was not sent (rate limited or dropped; run with SENTRY_DEBUG=1)",
            file=sys.stderr,
        )
        return 1
    print(f"Event {event_id} accepted by the server.")
    return 0


def send_to_local_receiver(timeout: float, file: TextIO | None = None) -> int:
    """Send the test event to an embedded loopback receiver and print what arrived (to ``file``,
    default standard output; ``manage.py raven test`` uses it too)."""
    from .receiver import Receiver

    receiver = Receiver().start()
    print(f"No DSN given: sending to a local receiver at {receiver.dsn}", file=file)
    try:
        client = _make_client(receiver.dsn)
        try:
            event_id = _capture_test_error(client)
            (event,) = receiver.wait_for(1, timeout)
        finally:
            client.close(timeout=0)  # its hooks go with it (the command may run in a live process)
    finally:
        receiver.stop()
    request = receiver.requests[-1]
    print(
        f"Event {event_id} received over HTTP ({request.wire_bytes} bytes on the wire, "
        f"{len(request.body)} uncompressed)",
        file=file,
    )
    exception = event["exception"]["values"][-1]
    print(f"  title:   {exception['type']}: {exception['value']}", file=file)
    print(f"  culprit: {event.get('culprit')}", file=file)
    print("  frames (most recent last):", file=file)
    for frame in exception["stacktrace"]["frames"][-3:]:
        print(f"    {frame['filename']}:{frame['lineno']} in {frame['function']}", file=file)
        if frame.get("context_line"):
            print(f"      > {frame['context_line'].strip()}", file=file)
        for name, value in list((frame.get("vars") or {}).items())[:3]:
            print(f"      {name} = {value}", file=file)
    print(f"  user:    {event.get('user')}", file=file)
    print(f"  tags:    {event.get('tags')}", file=file)
    print("  breadcrumbs:", file=file)
    for crumb in event.get("breadcrumbs", {}).get("values", []):
        print(
            f"    [{crumb.get('level')}] {crumb.get('category')}: {crumb.get('message')}", file=file
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
