"""The ``overhead`` benchmark: per-request cost of a hello-world route (or a Celery task round
trip) with no error, with the SDK's framework integration off or on.

Runs inside one SDK's virtualenv (``worker.py <sdk> overhead '{...}'``). Requests are driven in
process where the framework allows it, so that what is measured is the framework plus the SDK
and not the network stack: Flask and Django through their WSGI callable, Sanic through its ASGI
callable, Tornado through a real HTTPServer on loopback with a keep-alive client on the same
IOLoop. Celery: a real worker (prefork, one child) on a real Redis, ``delay().get()`` round trips.
"""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["bench_overhead"]

HELLO = "Hello, World!"


def _wsgi_timer(app: Callable[..., Any]) -> Callable[[], None]:
    template = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/hello",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench/1.0",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SCRIPT_NAME": "",
    }

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        if not status.startswith("200"):
            raise AssertionError(f"hello route answered {status}")
        return lambda data: None

    def one_request() -> None:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(b"")
        body = app(environ, start_response)
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if data != HELLO.encode():
            raise AssertionError(f"unexpected body {data[:100]!r}")

    return one_request


def _measure(one_request: Callable[[], None], iterations: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        one_request()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        one_request()
        samples.append(time.perf_counter() - start)
    return samples


# -- Flask ---------------------------------------------------------------------------------------
def flask_bench(sdk: str, dsn: str, iterations: int, warmup: int) -> list[float]:
    if sdk == "sentry-sdk":
        import sentry_sdk

        sentry_sdk.init(dsn)
    from flask import Flask

    app = Flask("bench")

    @app.route("/hello")
    def hello() -> str:
        return HELLO

    if sdk == "raven":
        import raven
        from raven_flask import Sentry

        Sentry(app, client=raven.Client(dsn))
    elif sdk == "raven-6.10":
        from raven.contrib.flask import Sentry as LegacySentry

        LegacySentry(app, dsn=dsn)
    return _measure(_wsgi_timer(app), iterations, warmup)


# -- Django --------------------------------------------------------------------------------------
urlpatterns: list[Any] = []


def django_bench(sdk: str, dsn: str, iterations: int, warmup: int) -> list[float]:
    import django
    from django.conf import settings

    apps = [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "django.contrib.sessions",
        "django.contrib.messages",
    ]
    extra: dict[str, Any] = {}
    if sdk == "raven":
        apps.append("raven_django")
        extra["RAVEN_CONFIG"] = {"dsn": dsn}
    elif sdk == "raven-6.10":
        apps.append("raven.contrib.django.raven_compat")
        extra["RAVEN_CONFIG"] = {"dsn": dsn}
    elif sdk == "sentry-sdk":
        import sentry_sdk

        sentry_sdk.init(dsn)
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=apps,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        MIDDLEWARE=[  # what `django-admin startproject` writes
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        USE_TZ=True,
        LOGGING_CONFIG=None,
        **extra,
    )
    django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpResponse
    from django.urls import path

    def hello(request: Any) -> HttpResponse:
        return HttpResponse(HELLO)

    urlpatterns[:] = [path("hello", hello)]
    return _measure(_wsgi_timer(WSGIHandler()), iterations, warmup)


# -- Sanic ---------------------------------------------------------------------------------------
def sanic_bench(sdk: str, dsn: str, iterations: int, warmup: int) -> list[float]:
    if sdk == "raven-6.10":
        raise NotSupported("raven 6.10 has no Sanic integration")
    if sdk == "sentry-sdk":
        import sentry_sdk

        sentry_sdk.init(dsn)
    from sanic import Sanic
    from sanic.response import text

    app = Sanic("bench")

    @app.get("/hello")
    async def hello(request: Any) -> Any:
        return text(HELLO)

    if sdk == "raven":
        from raven_sanic import Sentry

        Sentry(app, dsn=dsn)
    return asyncio.run(_asgi_measure(app, iterations, warmup))


async def _measure_async(
    one_request: Callable[[], Any], iterations: int, warmup: int
) -> list[float]:
    """:func:`_measure` for a coroutine function."""
    for _ in range(warmup):
        await one_request()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        await one_request()
        samples.append(time.perf_counter() - start)
    return samples


async def _asgi_measure(app: Any, iterations: int, warmup: int) -> list[float]:
    lifespan_in: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan_out: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, lifespan_in.get, lifespan_out.put))
    await lifespan_in.put({"type": "lifespan.startup"})
    started = await lifespan_out.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"Sanic did not start: {started}")
    request_scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/hello",
        "raw_path": b"/hello",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"bench/1.0"),
            (b"accept", b"*/*"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def one_request() -> None:
        body = bytearray()
        status = 0
        sent_request = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_request
            if not sent_request:
                sent_request = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await app(dict(request_scope), receive, send)
        if status != 200 or bytes(body) != HELLO.encode():
            raise AssertionError(f"hello route answered {status} {bytes(body)[:100]!r}")

    samples = await _measure_async(one_request, iterations, warmup)
    await lifespan_in.put({"type": "lifespan.shutdown"})
    await lifespan_out.get()
    await task
    return samples


# -- Tornado -------------------------------------------------------------------------------------
def tornado_bench(sdk: str, dsn: str, iterations: int, warmup: int) -> list[float]:
    if sdk == "sentry-sdk":
        import sentry_sdk

        sentry_sdk.init(dsn)
    import tornado.web

    bases: tuple[type, ...] = (tornado.web.RequestHandler,)
    client: Any = None
    if sdk == "raven":
        from raven_tornado import AsyncSentryClient, SentryMixin

        bases = (SentryMixin, tornado.web.RequestHandler)
        client = AsyncSentryClient(dsn)
    elif sdk == "raven-6.10":
        from raven.contrib.tornado import AsyncSentryClient as LegacyClient
        from raven.contrib.tornado import SentryMixin as LegacyMixin

        bases = (LegacyMixin, tornado.web.RequestHandler)
        client = LegacyClient(dsn)

    def get(self: Any) -> None:
        self.write(HELLO)

    handler = type("HelloHandler", bases, {"get": get})
    return asyncio.run(_tornado_measure(handler, client, iterations, warmup))


async def _tornado_measure(handler: type, client: Any, iterations: int, warmup: int) -> list[float]:
    import tornado.httpserver
    import tornado.iostream
    import tornado.netutil
    import tornado.web

    app = tornado.web.Application([(r"/hello", handler)])
    if client is not None:
        app.sentry_client = client  # type: ignore[attr-defined]
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    stream = tornado.iostream.IOStream(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    await stream.connect(("127.0.0.1", port))
    stream.set_nodelay(True)
    request = (
        b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n"
    )

    async def one_request() -> None:
        await stream.write(request)
        head = await stream.read_until(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await stream.read_bytes(length)
        if not head.startswith(b"HTTP/1.1 200") or body != HELLO.encode():
            raise AssertionError(f"hello route answered {head[:40]!r}")

    samples = await _measure_async(one_request, iterations, warmup)
    stream.close()
    server.stop()
    return samples


# -- Celery --------------------------------------------------------------------------------------
CELERY_APP = """
import os
from celery import Celery

SDK = os.environ["BENCH_SDK"]
DSN = os.environ["BENCH_DSN"]
if SDK == "sentry-sdk":
    import sentry_sdk
    sentry_sdk.init(DSN)

app = Celery("bench_tasks", broker=os.environ["BENCH_BROKER"], backend=os.environ["BENCH_BROKER"])
app.conf.update(worker_hijack_root_logger=False, broker_connection_retry_on_startup=True,
                worker_prefetch_multiplier=1, task_acks_late=False)

if SDK == "raven":
    import raven
    from raven_celery import register_logger_signal, register_signal
    client = raven.Client(DSN)
    register_signal(client)
    register_logger_signal(client)
elif SDK == "raven-6.10":
    import raven
    from raven.contrib.celery import register_logger_signal, register_signal
    client = raven.Client(DSN)
    register_signal(client)
    register_logger_signal(client)


@app.task
def hello():
    return "Hello, World!"
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def celery_bench(sdk: str, dsn: str, iterations: int, warmup: int) -> list[float]:
    redis = shutil.which("redis-server")
    if redis is None:
        raise NotSupported("redis-server is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="raven-bench-celery-"))
    (workdir / "bench_tasks.py").write_text(CELERY_APP)
    port = _free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis_proc = subprocess.Popen(
        [
            redis,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        _wait_port(port, 10)
        env = dict(
            os.environ, BENCH_SDK=sdk, BENCH_DSN=dsn, BENCH_BROKER=broker, PYTHONPATH=str(workdir)
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "bench_tasks",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.environ.update(BENCH_SDK=sdk, BENCH_DSN=dsn, BENCH_BROKER=broker)
        sys.path.insert(0, str(workdir))
        import bench_tasks  # the producer side, with the same SDK set-up as the worker

        bench_tasks.hello.delay().get(timeout=60)  # the worker is up

        def one_request() -> None:
            if bench_tasks.hello.delay().get(timeout=30) != HELLO:
                raise AssertionError("unexpected task result")

        return _measure(one_request, iterations, warmup)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


class NotSupported(Exception):
    """The SDK has no integration for this framework (reported as n/a)."""


BENCHES = {
    "flask": flask_bench,
    "django": django_bench,
    "sanic": sanic_bench,
    "tornado": tornado_bench,
    "celery": celery_bench,
}


def bench_overhead(sdk: str, args: dict[str, Any]) -> dict[str, Any]:
    import logging

    logging.disable(logging.WARNING)  # Sanic and Celery announce themselves; not measured
    framework, enabled = args["framework"], args["enabled"]
    try:
        samples = BENCHES[framework](
            sdk if enabled else "off", args["dsn"], args["iterations"], args["warmup"]
        )
    except NotSupported as exc:
        return {"error": str(exc), "unsupported": True}
    except Exception as exc:  # a peer failing on today's framework version is a result too
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"samples": samples}
