"""The ASGI application: the database, the writer thread, the projects' keys, and the routes of
ingestion, pages and JSON API, put together by :func:`create_app`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from . import api, ingest, web
from .db import Database
from .records import Record
from .writer import Retention, Writer

__all__ = ["DevServer", "Settings", "create_app"]

STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True)
class Settings:
    """How the server runs: database file (None: in memory) and retention."""

    db_path: Path | None = None
    retention: Retention = Retention()


class DevServer:
    """The state shared by the routes: database, writer, project keys, and live-update waiters."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.db_path)
        self.writer = Writer(self.db, settings.retention)
        self.keys: dict[int, str] = {}
        self._waiters: set[asyncio.Event] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def version(self) -> int:
        return self.writer.version

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.writer.on_commit(self._committed)
        self.writer.start()
        with self.db.writing() as connection:
            rows = connection.execute("SELECT id, public_key FROM projects").fetchall()
        self.keys = {row[0]: row[1] for row in rows}

    async def ensure_first_project(self) -> None:
        if 1 not in self.keys:
            await self.create_project("default")

    async def create_project(self, name: str) -> tuple[int, str]:
        """A new project with a key of its own: (id, key)."""
        (result,) = await asyncio.wrap_future(
            self.writer.submit([Record("project", 0, payload={"name": name})])
        )
        project_id, key = result
        self.keys[project_id] = key
        return project_id, key

    def stop(self) -> None:
        self.writer.stop()
        self.db.close()

    def _committed(self, version: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    async def changes(self, seen: int) -> AsyncIterator[int]:
        """Each new version after ``seen`` (yielding -1 every 15 s of quiet, as a keep-alive)."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            while True:
                if self.version != seen:
                    seen = self.version
                    yield seen
                    await asyncio.sleep(0.5)  # at most two page refreshes a second
                    continue
                waiter.clear()
                try:
                    await asyncio.wait_for(waiter.wait(), 15)
                except asyncio.TimeoutError:
                    yield -1
        finally:
            self._waiters.discard(waiter)


def create_app(settings: Settings, on_ready: Callable[[DevServer], Any] | None = None) -> Starlette:
    """The application; ``on_ready(server)`` runs once it can store what it receives."""
    server = DevServer(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        server.start()
        try:
            await server.ensure_first_project()
            if on_ready is not None:
                on_ready(server)
            yield
        finally:
            server.stop()

    app = Starlette(
        routes=[
            *ingest.routes,
            *api.routes,
            *web.routes,
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
    app.state.devserver = server
    return app
