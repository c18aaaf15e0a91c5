"""The MAX half of the running bot: the client, the delivery engine, and receiving updates by
long polling (marker in SQLite) or by webhook (secret header checked).

Receiving, either way, goes through bot/dispatch.py like VK's updates: a redelivered update is
dropped by its key, each person's updates run in order, button presses are answered at once.
Polling saves a batch's marker only after every update of the batch was handled (so a crash
gets the batch again, and the de-duplication drops what was already done); a webhook push is
answered 200 only after the update was handled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config import MaxSettings
from bot.dispatch import Dispatcher
from bot.max import MaxApi, MaxError, MaxPoller, MaxTokenError, MaxWebhook
from bot.operator_text import line
from bot.vk.connect import FatalVkError, pause_after
from bot.max.sender import MaxSender
from handlers.max import HANDLED, MaxAdapter, event_of, peer_of

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.metrics import BotMetrics

log = logging.getLogger(__name__)

MARKER = "max.marker"  # transport_state row


class _Poller(MaxPoller):
    def __init__(self, side: "MaxSide", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.side = side

    async def poll_once(self) -> int:
        handled = await super().poll_once()
        self.side.answered_at = time.monotonic()  # an empty long poll is an answer too
        return handled


class MaxSide:
    def __init__(self, settings: MaxSettings, deps: "Deps", api: MaxApi, sender: MaxSender,
                 metrics: "BotMetrics") -> None:
        self.settings = settings
        self.deps = deps
        self.api = api
        self.sender = sender
        self.adapter = MaxAdapter(deps, api)
        self.dispatcher = Dispatcher(deps.db, deps.clock, self.adapter.route,
                                     self.adapter.acknowledge, metrics, peer=peer_of,
                                     acknowledged=("message_callback",))
        self.poller: MaxPoller | None = None
        self.answered_at: float | None = None  # monotonic, the last answer of GET /updates
        self._webhook_serving = False

    async def feed(self, update: dict[str, Any]) -> None:
        await self.dispatcher.feed(event_of(update))

    async def _load_marker(self) -> int | None:
        async with self.deps.db.read() as tx:
            return await tx.accounts.get_state(MARKER)

    async def _save_marker(self, marker: int) -> None:
        # Every update of the batch handled first: then the marker commits them.
        await self.dispatcher.drain()
        async with self.deps.db.transaction() as tx:
            await tx.accounts.upsert_state(MARKER, marker)

    async def _handle_pushed(self, update: dict[str, Any]) -> None:
        await self.feed(update)
        await self.dispatcher.drain()  # 200 only when it was handled

    async def run(self) -> None:
        me = await self._reach()
        if me.get("username"):  # invitations name the bot's MAX link (core/activation/checks.py)
            self.deps.services["max_username"] = str(me["username"])
        if self.settings.transport == "webhook":
            await self._serve_webhook()
        else:
            await self._poll()

    async def _reach(self, sleep: Any = asyncio.sleep) -> dict[str, Any]:
        """GET /me until MAX answers (the network may come up after the bot); a refused
        token cannot get better by waiting: one line saying what to fix, and the bot stops."""
        attempt = 0
        while True:
            attempt += 1
            try:
                me = await self.api.get_me()
            except MaxTokenError as exc:
                raise FatalVkError(line("connect.max_token_refused", code=exc.code)) from None
            except MaxError as exc:
                pause = pause_after(attempt)
                log.warning(line("connect.max_retry", url=self.settings.api_url,
                                 problem=type(exc).__name__, attempt=attempt, pause=pause))
                await sleep(pause)
                continue
            log.info("MAX bot reached")
            return me

    async def _poll(self) -> None:
        # Polling and webhooks are exclusive in MAX: a subscription left from webhook mode
        # would leave GET /updates empty forever.
        for subscription in await self.api.list_subscriptions():
            url = subscription.get("url")
            if url:
                log.warning("MAX: removing the webhook subscription to poll instead")
                await self.api.unsubscribe(str(url))
        self.poller = _Poller(self, self.api, self.feed, self._load_marker,
                                self._save_marker, timeout=self.settings.poll_timeout,
                                types=HANDLED)
        self.answered_at = time.monotonic()
        try:
            await self.poller.run()
        except MaxTokenError as exc:  # revoked while running
            raise FatalVkError(line("connect.max_token_refused", code=exc.code)) from None

    async def _serve_webhook(self) -> None:
        s = self.settings
        webhook = MaxWebhook(self._handle_pushed, s.webhook_secret, s.webhook_path)
        app = web.Application()
        webhook.add_to(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, s.webhook_host, s.webhook_port).start()
        self._webhook_serving = True
        try:
            await self.api.subscribe(s.webhook_url, s.webhook_secret, HANDLED)
            await asyncio.Event().wait()
        finally:
            self._webhook_serving = False
            await runner.cleanup()

    def receiving(self, margin: float) -> str | None:
        if self.settings.transport == "webhook":
            return None if self._webhook_serving else "MAX webhook is not serving"
        if self.answered_at is None:
            return "not connected to MAX"
        silent = time.monotonic() - self.answered_at
        if silent > self.settings.poll_timeout + margin:
            return f"MAX polling silent for {silent:.0f} s"
        return None

    async def stop(self) -> None:
        await self.dispatcher.drain()
        await self.api.close()
