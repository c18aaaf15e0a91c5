"""``/healthz`` and ``/metrics`` for those who run the bot in containers (off by default).

``/healthz`` is 200 only when both hold: the event loop that receives VK's updates is alive (the
long poll answered within its wait plus a margin, or the callback server is serving) and the
database answers a query. Otherwise 503 with the reason, so an orchestrator restarts a bot that
is stuck rather than one that is merely idle. ``/metrics`` is Prometheus' text format.
``/idle`` says whether every update received so far is handled and its replies sent (nothing
queued or in flight): wait for ``{"idle": true}`` before stopping a bot for an update.

With ``vk.transport = "callback"`` both paths are served by the callback server on its port;
otherwise by a small server of their own on ``[health] host:port``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.metrics import BotMetrics
from storage import Database

log = logging.getLogger(__name__)


def add_health_routes(app: web.Application, metrics: BotMetrics, db: Database,
                      receiving: Callable[[], str | None],
                      idle: Callable[[], Awaitable[bool]]) -> None:
    """``receiving()`` is None when updates are being received, else why not."""

    async def healthz(request: web.Request) -> web.Response:
        problem = receiving()
        if problem is None:
            try:
                await metrics.refresh(db)
            except Exception as exc:  # the database is what is broken
                problem = f"database: {type(exc).__name__}"
        if problem is not None:
            return web.json_response({"status": "unavailable", "problem": problem}, status=503)
        return web.json_response({"status": "ok"})

    async def scrape(request: web.Request) -> web.Response:
        try:
            await metrics.refresh(db)
        except Exception:
            log.warning("metrics: the database did not answer")
        return web.Response(body=metrics.exposition(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def is_idle(request: web.Request) -> web.Response:
        return web.json_response({"idle": await idle()})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/idle", is_idle)
    app.router.add_get("/metrics", scrape)


async def serve_health(host: str, port: int, metrics: BotMetrics, db: Database,
                       receiving: Callable[[], str | None],
                       idle: Callable[[], Awaitable[bool]]) -> web.AppRunner:
    app = web.Application()
    add_health_routes(app, metrics, db, receiving, idle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("health and metrics on http://%s:%s/healthz and /metrics", host, port)
    return runner
