"""A Sanic app served by ``python worker_app.py`` with two worker processes (test_workers.py).

Its DSN comes from ``SENTRY_DSN``, its port from ``PORT``. Each worker process imports this file
again and builds its own client when its server starts.
"""

from __future__ import annotations

import os

from raven_sanic import Sentry
from sanic.request import Request
from sanic.response import HTTPResponse, text

from sanic import Sanic

app = Sanic("raven_sanic_workers")
app.config.MOTD = False
sentry = Sentry(app)


@app.get("/pid")
async def pid(request: Request) -> HTTPResponse:
    return text(str(os.getpid()))


@app.get("/boom")
async def boom(request: Request) -> HTTPResponse:
    client = sentry.client
    assert client is not None
    client.tags_context({"worker_pid": str(os.getpid()), "phase": request.args.get("phase", "")})
    raise RuntimeError("boom in a worker")


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), workers=2, access_log=False)
