"""``python manage.py raven test``: send a test event with the project's settings and say what
happened; without a DSN, to a local receiver, printing what arrived (as ``raven test`` does)."""

from __future__ import annotations

import io
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from raven.cli import send_to_local_receiver
from raven.exceptions import APIError, ConfigurationError

from ... import conf

__all__ = ["Command"]

TEST_MESSAGE = "This is a test message generated using ``raven test``"


class Command(BaseCommand):
    """``manage.py raven test``: send a test event with the configured client."""

    help = "Raven (Sentry) tools. `raven test` sends a test event to the configured server."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """The ``test`` subcommand and its ``--message``."""
        commands = parser.add_subparsers(dest="subcommand", title="subcommands", required=True)
        test = commands.add_parser("test", help="send a test event and report the server's answer")
        test.add_argument("--message", default=TEST_MESSAGE, help="the message of the test event")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the subcommand given."""
        if options["subcommand"] == "test":
            self.send_test(options["message"])

    def send_test(self, message: str) -> None:
        """Send ``message`` to the configured server and report its answer; a failure is a ``CommandError``."""
        try:
            config = conf.read_settings()
            client_class = conf.load_client_class(config.client_class)
            configured = conf.get_client()
        except ConfigurationError as exc:
            raise CommandError(f"Raven is misconfigured: {exc} (run `manage.py check`)") from None
        if not configured.is_enabled() or configured.dsn is None:
            # As `raven test` does: show what an event looks like, sent to a local receiver.
            self.stdout.write(
                "Raven is not configured (set RAVEN_CONFIG['dsn'] or SENTRY_DSN): "
                "the test event goes to a local receiver instead."
            )
            printout = io.StringIO()
            send_to_local_receiver(timeout=10.0, file=printout)
            self.stdout.write(printout.getvalue().rstrip("\n"))
            return
        dsn = configured.dsn
        opts = configured.options
        self.stdout.write("Client configuration:")
        self.stdout.write(f"  class      : {client_class.__module__}.{client_class.__qualname__}")
        self.stdout.write(f"  server     : {dsn.base_url}")
        self.stdout.write(f"  project    : {dsn.project_id}")
        self.stdout.write(f"  public key : {dsn.public_key}")
        self.stdout.write(f"  release    : {opts.release or '-'}")
        self.stdout.write(f"  environment: {opts.environment or '-'}")
        # A synchronous twin of the configured client: the server's answer comes back right here.
        # No session: a test event is no run of the app's release.
        options = {
            **config.options,
            "raise_send_errors": True,
            "install_sys_hook": False,
            "auto_session_tracking": False,
        }
        send_dsn = dsn.raw
        if "transport" not in options and dsn.transport in ("", "threaded", "sync", "requests"):
            send_dsn = f"sync+{dsn.scheme}://{dsn.raw.split('://', 1)[1]}"
        client = client_class(dsn=send_dsn, **options)
        self.stdout.write(f"Sending a test message to {client.get_public_dsn()} ...")
        try:
            event_id = client.captureMessage(
                message,
                level="info",
                stack=True,
                logger="raven.test",
                tags={"source": "manage.py raven test"},
            )
            delivered = client.flush(opts.timeout * 2)
        except APIError as exc:
            raise CommandError(f"The server refused the test event: {exc}") from None
        except Exception as exc:
            raise CommandError(f"Could not reach the server: {exc}") from None
        finally:
            client.close(timeout=0)
        if event_id is None:
            raise CommandError(
                "The test event was not sent (dropped by sample_rate, before_send or a rate limit)."
            )
        if not delivered:
            raise CommandError(f"Event {event_id} is still pending after {opts.timeout * 2:g}s.")
        self.stdout.write(self.style.SUCCESS(f"Event {event_id} accepted by the server."))
