"""``raven serve`` (also ``raven-devserver``): parse the options, open the database, listen, print
the DSN and the page's URL, and serve until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path

from .__about__ import __version__

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "default_db_path", "main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8990


def default_db_path() -> Path:
    """``raven/devserver.sqlite3`` under the user's data directory (XDG on Linux)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "raven" / "devserver.sqlite3"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raven serve",
        description="A local Sentry-compatible server with a web page of issues "
        "(a development tool: for production, use Sentry, self-hosted Sentry, Bugsink or GlitchTip).",
    )
    parser.add_argument("--version", action="version", version=f"raven-devserver {__version__}")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on ({DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT}; 0: any free port)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--db", type=Path, help=f"SQLite file (default {default_db_path()})")
    where.add_argument("--memory", action="store_true", help="keep nothing: a throwaway database")
    parser.add_argument(
        "--max-events", type=_positive, default=100_000, help="events kept in all (100,000)"
    )
    parser.add_argument(
        "--max-events-per-issue", type=_positive, default=10_000, help="per issue (10,000)"
    )
    return parser


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def main(argv: list[str] | None = None) -> int:
    """Run the server until interrupted; the exit status."""
    args = _parser().parse_args(argv)
    import uvicorn

    from .app import DevServer, Settings, create_app
    from .writer import Retention

    logging.basicConfig(level=logging.INFO, format="raven serve: %(message)s")
    db_path = None if args.memory else (args.db or default_db_path())
    settings = Settings(db_path, Retention(args.max_events, args.max_events_per_issue))
    try:
        sock = _listen(args.host, args.port)
    except OSError as exc:
        print(
            f"raven serve: cannot listen on {args.host}:{args.port}: {exc} (choose another --port)",
            file=sys.stderr,
        )
        return 1
    port = sock.getsockname()[1]
    netloc = f"[{args.host}]:{port}" if ":" in args.host else f"{args.host}:{port}"

    def ready(server: DevServer) -> None:
        print(f"Database: {db_path or 'in memory (kept until the server stops)'}")
        print(f"DSN: http://{server.keys[1]}@{netloc}/1")
        print(f"UI: http://{netloc}/", flush=True)

    app = create_app(settings, on_ready=ready)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,
        server_header=False,
    )
    with sock:
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled, once it has stopped
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
