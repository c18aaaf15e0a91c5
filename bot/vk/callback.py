"""The Callback API: VK posts each event to our web server instead of us polling for it.

VK expects the body "ok" quickly and re-sends an event it did not get "ok" for; the dispatcher
de-duplicates by event_id, so a re-sent event is answered once. The first request of a new
server address is {"type": "confirmation"}, answered with the configured string.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.config import CallbackSettings, SettingProblem

log = logging.getLogger(__name__)

Feed = Callable[[dict[str, Any]], Awaitable[None]]


def callback_app(settings: CallbackSettings, group_id: int, feed: Feed) -> web.Application:
    if not settings.secret.strip():  # settings refuse it too; never serve unauthenticated events
        raise SettingProblem("callback_secret")
    async def receive(request: web.Request) -> web.Response:
        try:
            event = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="bad json")
        if not isinstance(event, dict) or event.get("group_id") != group_id:
            return web.Response(status=403, text="wrong group")
        if event.get("type") == "confirmation":
            return web.Response(text=settings.confirmation)
        if not hmac.compare_digest(str(event.get("secret", "")).encode(),
                                   settings.secret.encode()):
            log.warning("callback event with a wrong secret refused")
            return web.Response(status=403, text="wrong secret")
        await feed(event)
        return web.Response(text="ok")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(settings.path, receive)
    return app


async def serve_callback(settings: CallbackSettings, group_id: int, feed: Feed,
                         extra: Callable[[web.Application], None] | None = None
                         ) -> web.AppRunner:
    """``extra`` adds routes of the same server (/healthz and /metrics when enabled)."""
    app = callback_app(settings, group_id, feed)
    if extra is not None:
        extra(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    log.info("Callback API listening on %s:%s%s", settings.host, settings.port, settings.path)
    return runner
