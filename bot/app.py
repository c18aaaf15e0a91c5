"""The factory: ``build_bot(settings)`` makes the whole bot; nothing happens at import time.

Tests, the sandbox and ``sferum-bot run`` all build the bot here, the same way.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from vkbottle import API, Bot
from vkbottle.bot import Message
from vkbottle.exception_factory import ErrorHandler, VKAPIError
from vkbottle.polling import BotPolling

from bot.config import Settings
from bot.deps import Deps
from bot.dispatch import Dispatcher
from bot.services import build_services
from bot.vk.api import VkApi
from bot.health import add_health_routes, serve_health
from bot.metrics import BotMetrics
from bot.logs import configure_logging  # noqa: F401  (the CLI and the sandbox import it from here)
from bot.vk.callback import serve_callback
from bot.operator_text import line
from bot.vk.connect import FatalVkError, reach_vk
from bot.vk.sender import VkSender
from bot.vk.platform import VkPlatform
from bot.max import MaxApi
from bot.max.platform import MaxPlatform, Platforms
from bot.max.sender import MaxSender
from bot.max_app import MaxSide
from bot.messengers import Messengers
from bot.rights import PeopleRights
from core.kernel.access import NotAllowed
from core.kernel.clock import Clock, SystemClock, unix
from core.kernel.conversation import Conversation
from core.kernel.menu import refused
from core.kernel.texts import Texts, content_root
from core.kernel.ui import Reply
from core.features import registry
from handlers import vk as vk_handlers
from storage import Database

log = logging.getLogger(__name__)
HEALTH_MARGIN = 30  # seconds beyond the long poll's wait before /healthz says it is stuck


class StatePolling(BotPolling):
    """vkbottle's polling keeps its last ts in ./.vkbottle of the working directory; keep it next
    to the database instead, so a restart resumes where it stopped wherever it is started."""

    def __init__(self, *args: Any, db_path: Path, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._db_path = db_path
        self.answered_at: float | None = None  # monotonic; /healthz reads it

    async def get_server(self) -> dict[str, Any]:
        server = await super().get_server()
        self.answered_at = time.monotonic()
        return server

    async def get_event(self, server: dict[str, Any]) -> dict[str, Any]:
        event = await super().get_event(server)
        self.answered_at = time.monotonic()
        return event

    @property
    def ts_state_path(self) -> Path:
        return self._db_path.with_name(f"{self._db_path.name}.longpoll-{self.group_id}.json")


def error_handler(deps: Deps) -> ErrorHandler:
    handler = ErrorHandler(redirect_arguments=True)

    async def on_error(error: Exception, message: Message, **context: Any) -> None:
        log.exception("handler failed", exc_info=error)
        deps.services["metrics"].failed("handler", "reply")
        conv: Conversation | None = context.get("conv")
        if conv is not None:
            await conv.say(Reply(deps.texts.render("input.busy"), template="input.busy"))

    async def on_not_allowed(error: Exception, message: Message, **context: Any) -> None:
        # a service refused (rights missing or revoked mid-dialog): a polite answer, no trace
        log.info("refused: %s", error)
        conv: Conversation | None = context.get("conv")
        if conv is not None:
            await conv.say(*await refused(conv))

    handler.register_undefined_error_handler(on_error)
    handler.register_error_handler(NotAllowed)(on_not_allowed)
    return handler


class App:
    """The running bot: storage, delivery, and receiving from VK (vkbottle's router and long
    poll or the callback server) and/or MAX (bot/max_app.py), one process for both."""

    def __init__(self, settings: Settings, deps: Deps, sender: Messengers,
                 vk_api: VkApi | None, bot: Bot | None, max_side: MaxSide | None = None) -> None:
        self.settings = settings
        self.deps = deps
        self.sender = sender
        self.vk_api = vk_api
        self.bot = bot
        self.max = max_side
        self.metrics: BotMetrics = deps.services["metrics"]
        self.dispatcher = Dispatcher(deps.db, deps.clock, self._route, self._acknowledge,
                                     self.metrics)
        self._polling: StatePolling | None = None
        self._callback_serving = False
        self._health: web.AppRunner | None = None
        self._router = bot.router if bot is not None else None

    async def _route(self, update: dict[str, Any]) -> None:
        assert self._router is not None and self.bot is not None
        await self._router.route(update, self.bot.api)

    async def _acknowledge(self, update: dict[str, Any]) -> None:
        obj = update.get("object") or {}
        try:
            await self.sender.call("messages.sendMessageEventAnswer", {
                "event_id": obj.get("event_id"), "user_id": obj.get("user_id"),
                "peer_id": obj.get("peer_id")})
        except Exception as exc:  # the press is still handled; only the spinner stays longer
            log.warning("could not acknowledge a callback press: %s", exc)

    async def start(self) -> None:
        await self.deps.db.open()
        await seed_territory(self.deps)
        rights = self.deps.settings.access
        if isinstance(rights, PeopleRights):
            await rights.load(self.deps.db)
        await self.sender.start()
        for service in self.deps.services.values():
            starter = getattr(service, "start", None)
            if starter is not None:
                await starter()

    async def stop(self) -> None:
        if self._polling is not None:
            self._polling.stop()
        if self._health is not None:
            await self._health.cleanup()
            self._health = None
        await self.dispatcher.drain()
        if self.max is not None:
            await self.max.dispatcher.drain()
        for service in self.deps.services.values():
            stopper = getattr(service, "stop", None)
            if stopper is not None:
                await stopper()
        await self.sender.stop()
        if self.vk_api is not None and self.bot is not None:
            await self.vk_api.close()
            await self.bot.api.http_client.close()
        if self.max is not None:
            await self.max.stop()
        await self.deps.db.close()

    async def poll_forever(self) -> None:
        settings = self.settings
        assert settings.vk is not None and self.bot is not None
        self._polling = StatePolling(
            self.bot.api, group_id=settings.vk.group_id, wait=settings.vk.long_poll_wait,
            skip_old_events=settings.vk.skip_old_events, db_path=Path(settings.storage.path))
        async for event in self._polling.listen():
            for update in event.get("updates", []):
                await self.dispatcher.feed(update)

    async def serve_callback_forever(self) -> None:
        extra = self._add_health_routes if self.settings.health.enabled else None
        runner = await serve_callback(self.settings.callback, self.settings.vk.group_id,
                                      self.dispatcher.feed, extra)
        self._callback_serving = True
        try:
            await asyncio.Event().wait()
        finally:
            self._callback_serving = False
            await runner.cleanup()

    async def idle(self) -> bool:
        """Nothing is being handled, queued or in flight: every update fed so far is answered.
        Tests wait on this fact instead of a quiet window; an operator may wait on it (GET
        /idle) before stopping the bot."""
        return (not self.dispatcher.busy
                and not (self.max is not None and self.max.dispatcher.busy)
                and await self.sender.idle()
                and not any(getattr(s, "busy", False) for s in self.deps.services.values()))

    def receiving(self) -> str | None:
        """None when updates are being received (from each messenger that is on); otherwise
        why not (for /healthz)."""
        if self.max is not None:
            problem = self.max.receiving(HEALTH_MARGIN)
            if problem is not None or self.settings.vk is None:
                return problem
        assert self.settings.vk is not None
        if self.settings.vk.transport == "callback":
            return None if self._callback_serving else "callback server is not serving"
        polling = self._polling
        if polling is None or polling.answered_at is None:
            return "not connected to VK's long poll"
        silent = time.monotonic() - polling.answered_at
        if silent > self.settings.vk.long_poll_wait + HEALTH_MARGIN:
            return f"long poll silent for {silent:.0f} s"
        return None

    def _add_health_routes(self, app: web.Application) -> None:
        add_health_routes(app, self.metrics, self.deps.db, self.receiving, self.idle)

    async def _start_health(self) -> None:
        health = self.settings.health
        vk = self.settings.vk
        if health.enabled and (vk is None or vk.transport != "callback"):
            self._health = await serve_health(health.host, health.port, self.metrics,
                                              self.deps.db, self.receiving, self.idle)

    async def listen(self) -> None:
        """The long poll. vkbottle retries a dropped poll itself, but not the request for a poll
        server: when that fails (VK gone again right after start), reach VK again and resume."""
        assert self.vk_api is not None
        while True:
            try:
                await self.poll_forever()
                return
            except VKAPIError as exc:
                if exc.code == 5:
                    raise FatalVkError(line("connect.token_refused", detail=exc.error_msg)) from None
                problem = f"VK error {exc.code}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            log.warning(line("connect.long_poll_lost", problem=problem))
            await reach_vk(self.settings, self.vk_api)

    async def run(self) -> None:
        try:
            await self.start()
            settle_memory()
            await self._start_health()
            receivers = []
            if self.settings.vk is not None:
                receivers.append(self._receive_vk())
            if self.max is not None:
                receivers.append(self.max.run())
            await _all_or_first_failure(receivers)
        finally:
            await self.stop()

    async def _receive_vk(self) -> None:
        assert self.settings.vk is not None and self.vk_api is not None
        await reach_vk(self.settings, self.vk_api)
        if self.settings.vk.transport == "callback":
            await self.serve_callback_forever()
        else:
            await self.listen()


async def _all_or_first_failure(coroutines: list[Any]) -> None:
    """Run the messengers' receivers side by side; one failing (a refused token) stops all."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def settle_memory() -> None:
    """Once the bot is built: what exists now (modules, models, indexes, texts) lives as long as
    the process, so it is moved out of the collector's sight (``gc.freeze``) and collection is
    turned back on (``bot/launch.py`` turned it off for the imports). Full collections then
    walk only what the running bot makes, not the half million objects of the libraries.
    In a process that did not turn collection off (tests) this does nothing."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


async def seed_territory(deps: Deps) -> None:
    """Municipalities come from config; they are upserted at every start."""
    async with deps.db.transaction() as tx:
        for m in deps.settings.region.municipalities:
            await tx.territory.upsert_municipality(m.name, m.timezone)


def load_labeler(bot: Bot, labeler: Any) -> None:
    """``bot.labeler.load(labeler)`` without its side effect (vkbottle re-points the labeler at
    this bot's views); the handler's rule-less filter is called directly."""
    target = bot.labeler
    target.message_view.handlers.extend(labeler.message_view.handlers)
    target.message_view.middlewares.extend(labeler.message_view.middlewares)


def build_bot(settings: Settings, *, clock: Clock | None = None) -> App:
    clock = clock or SystemClock()
    db = Database(settings.storage.path)
    texts = Texts.load(content_root(settings.content.dir) / "texts")
    zone = ZoneInfo(settings.region.timezone)
    metrics = BotMetrics(lambda: clock.now().astimezone(zone).date().isoformat(),
                         lambda: unix(clock))
    engines: dict[str, VkSender] = {}
    vk_api: VkApi | None = None
    if settings.vk is not None:
        vk_api = VkApi(settings.vk.api_url, settings.vk.token, settings.vk.api_version)
        engines["vk"] = VkSender(vk_api, settings.sender, db, clock, metrics)
    max_api: MaxApi | None = None
    if settings.max.enabled:
        max_api = MaxApi(settings.max.token, settings.max.api_url,
                         rate=settings.max.requests_per_second)
        engines["max"] = MaxSender(max_api, settings.max.requests_per_second, db, clock, metrics)
    messengers = Messengers(engines)
    # Coordinators and bot admins of both messengers, as internal person ids (bot/rights.py).
    rights = PeopleRights(settings.access.admins, settings.access.coordinators,
                          settings.max.admins, settings.max.coordinators)
    core_settings = settings.model_copy(update={"access": rights})
    deps = Deps(settings=core_settings, db=db, texts=texts, clock=clock, messenger=messengers,
                registry=registry())
    deps.services["metrics"] = metrics  # the bot admin's state screen reads it
    deps.services.update(build_services(deps))

    bot: Bot | None = None
    if settings.vk is not None:
        api = API(settings.vk.token)
        api.API_URL = settings.vk.api_url
        api.API_VERSION = settings.vk.api_version
        bot = Bot(api=api, error_handler=error_handler(deps))
        load_labeler(bot, vk_handlers.labeler(deps))
    max_side: MaxSide | None = None
    if max_api is not None:
        max_side = MaxSide(settings.max, deps, max_api, engines["max"], metrics)  # type: ignore[arg-type]
    deps.services["platform"] = Platforms(
        VkPlatform(messengers) if settings.vk is not None else None,  # type: ignore[arg-type]
        MaxPlatform(max_api, max_side.adapter.names) if max_side and max_api else None)
    return App(settings, deps, messengers, vk_api, bot, max_side)


async def run_bot(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT (docker stop, Ctrl+C), then shut down cleanly: the long poll stops,
    handlers in progress finish, queued replies are sent or left in the outbox."""
    app = build_bot(settings)
    task = asyncio.create_task(app.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("stopped")
