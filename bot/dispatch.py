"""From long poll to handlers: de-duplicate, serialise per person, route.

vkbottle runs every update in its own task, so two quick button presses of one person would race
on that person's state. Here each person's updates run one after another (in arrival order),
different people's in parallel, and an event_id seen before (a long-poll replay) is dropped.
Callback-button presses (message_event) are acknowledged and routed like text buttons.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.metrics import BotMetrics
from core.kernel.clock import Clock, unix
from storage import Database

log = logging.getLogger(__name__)

Route = Callable[[dict[str, Any]], Awaitable[None]]
Acknowledge = Callable[[dict[str, Any]], Awaitable[None]]
MAX_CONCURRENT = 256
# The event being handled: replies derive their idempotency keys from it.
current_event_id: contextvars.ContextVar[str] = contextvars.ContextVar("event_id", default="")
# When the update being handled arrived (monotonic): the reply latency is measured from it.
current_received_at: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "received_at", default=None)


def peer_of(update: dict[str, Any]) -> int | None:
    obj = update.get("object") or {}
    if update.get("type") == "message_new":
        return (obj.get("message") or {}).get("peer_id")
    if update.get("type") == "message_event":
        return obj.get("peer_id")
    return None


def callback_as_message(update: dict[str, Any], now: int) -> dict[str, Any]:
    """A callback press, reshaped as the text-button message_new it stands for."""
    obj = update["object"]
    payload = obj.get("payload")
    message = {
        "id": 0, "date": now, "peer_id": obj["peer_id"], "from_id": obj["user_id"], "text": "",
        "conversation_message_id": obj.get("conversation_message_id") or 0, "version": 0,
        "out": 0, "attachments": [], "fwd_messages": [], "important": False,
        "is_hidden": False, "random_id": 0,
        "payload": payload if isinstance(payload, str) else json.dumps(payload or {}),
    }
    return {**update, "type": "message_new",
            "object": {"message": message, "client_info": {"button_actions": ["text", "callback"]}}}


class Dispatcher:
    def __init__(self, db: Database, clock: Clock, route: Route, acknowledge: Acknowledge,
                 metrics: BotMetrics | None = None, *,
                 peer: Callable[[dict[str, Any]], int | None] = peer_of,
                 acknowledged: tuple[str, ...] = ("message_event",)) -> None:
        """``peer``: whose update it is (its chain); ``acknowledged``: update types answered at
        once, before they wait in their person's chain (button presses). The MAX adapter
        passes its own (handlers/max.py); event ids of both messengers share one table."""
        self.peer = peer
        self.acknowledged = acknowledged
        self.db = db
        self.metrics = metrics
        self.clock = clock
        self.route = route
        self.acknowledge = acknowledge
        self._chains: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self._tasks: set[asyncio.Task[None]] = set()
        self._feeding = 0  # updates inside feed() now
        self.handled = 0
        self.received = 0  # updates fed in, replays included (the sandbox waits on it)

    async def feed(self, update: dict[str, Any]) -> None:
        self.received += 1
        # Busy from the moment an update arrives: claiming it awaits the database before its
        # task exists, and "received and not busy" must not read as "handled".
        self._feeding += 1
        try:
            await self._feed(update)
        finally:
            self._feeding -= 1

    async def _feed(self, update: dict[str, Any]) -> None:
        received_at = time.monotonic()
        event_id = str(update.get("event_id") or "")
        if event_id:
            async with self.db.statement() as tx:  # one INSERT: one trip to the database
                if not await tx.events.claim_event(event_id, unix(self.clock)):
                    log.info("dropping replayed event %s", event_id)
                    return
        peer = self.peer(update)
        if peer is None:
            return
        if update.get("type") in self.acknowledged:
            await self.acknowledge(update)
        if update.get("type") == "message_event":
            update = callback_as_message(update, unix(self.clock))
        kind = str(update.get("type"))
        previous = self._chains.get(peer)
        task = asyncio.create_task(self._handle(peer, update, previous, received_at, kind))
        self._chains[peer] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, peer: int, update: dict[str, Any],
                      previous: asyncio.Task[None] | None, received_at: float,
                      kind: str) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        current_event_id.set(str(update.get("event_id") or ""))
        current_received_at.set(received_at)
        try:
            async with self._slots:
                await self.route(update)
                self.handled += 1
                if self.metrics is not None:
                    self.metrics.updates.labels(kind).inc()
        except Exception:
            log.exception("update for a person failed")
            if self.metrics is not None:
                self.metrics.failed("handler", kind)
        finally:
            if self._chains.get(peer) is asyncio.current_task():
                del self._chains[peer]

    @property
    def busy(self) -> bool:
        return bool(self._tasks) or self._feeding > 0

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
