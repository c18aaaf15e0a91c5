"""The delivery engine: every message the bot sends goes through here.

Why it looks like this (see ../shared/VK_PROTOCOL.md):
- A community token may make 20 requests/s. One ``messages.send`` per message caps the bot at
  ~20 messages/s, so messages waiting at the same moment are packed into ``execute`` (<= 25 calls)
  and identical texts into ``peer_ids`` (<= 100 recipients): 500 personal or 50 000 identical
  messages/s at the ceiling.
- Results are read per call and per recipient; one failed recipient never fails or repeats others.
- Every message carries a ``random_id`` derived from its key, so a retry or a resume after a crash
  is de-duplicated by VK itself.
- Messages to one person leave in order: a person is never in two requests at once.
- Bulk jobs live in the SQLite outbox before the first request and resume after a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bot.config import SenderSettings
from bot.dispatch import current_received_at
from bot.metrics import BotMetrics
from bot.vk.api import VkApi, VkApiError, VkTransportError
from bot.vk.keyboards import keyboard_json
from core.kernel.clock import Clock, unix
from core.kernel.outgoing import BulkMessages, Delivery, Multicast, Outgoing, random_id_for
from core.kernel.ui import Keyboard, KeyboardError, Reply
from storage import Database
from storage.held import HeldNotice
from storage.outbox import OutboxText

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
NOT_ALLOWED = {901, 902}
SLOW_DOWN = {6, 9}
TRANSIENT = {6, 9, 10}
BULK_CHUNK = 10_000     # outbox rows loaded at a time (four requests at the ceiling)
# Rows of personalised texts loaded at a time: each brings its own text, so fewer are held
# (5 s of sending at 500 messages/s keeps memory flat).
PERSONAL_CHUNK = 2_500
ENQUEUE_CHUNK = 10_000  # recipients a producer queues per transaction
MAX_IN_FLIGHT = 10
# At shutdown, requests under way get this long to finish and record what they sent; then they
# are cancelled (a stuck one must not hold the process: Docker kills 10 s after SIGTERM). A
# cancelled request is like one in flight at a crash: VK drops the repeat by random_id, MAX may
# deliver it twice (README, «Нет ключа идемпотентности»).
STOP_GRACE = 8.0
# The subscription that «Присылать напоминания и опросы?» asks for (VK's newsletter intents).
SUBSCRIBE_ID = 1
DAY = 24 * 3600


@dataclass
class Contact:
    last_inbound_at: int | None
    newsletter_ok: bool
    reachable: bool


ProgressHook = Callable[[set[str]], Awaitable[None]]


def choose_intent(kind: str, contact: Contact | None, now: int) -> tuple[bool, str | None]:
    """(may send, intent) under VK's 24-hour rule."""
    if contact is not None and not contact.reachable and kind not in ("reply",):
        return False, None
    if kind == "reply" or (contact and contact.last_inbound_at and
                           now - contact.last_inbound_at < DAY):
        return True, None
    if kind == "notice":
        return True, "customer_support"
    if contact is not None and contact.newsletter_ok:
        return True, "non_promo_newsletter"
    return False, None


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at paragraph, then line, then word boundaries so no part exceeds the limit."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit))
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return parts


class Slot:
    __slots__ = ("end",)

    def __init__(self) -> None:
        self.end = math.inf  # in flight


class RateLimiter:
    """At most ``limit`` requests in any one-second window *as VK sees them*.

    VK counts a request when it arrives: after we sent it, before its answer came back. The
    answer is the only certain bound on that moment, so a request holds its slot until one
    window after its answer (a bound on the send plus a margin was measured and rejected:
    bench/jitter.py saw a busy server count requests 75–600 ms after they were sent, so no small
    margin would keep the limit). The cost of this bound is the round trip, and the round trip
    is short when the server is not flooded: requests leave evenly, one every window / limit,
    instead of twenty at once queueing at VK. Then slots come back after about 1 s + a few
    tens of ms: 0.9–0.95 of the limit, and no error 6 in bench/jitter.py or bench/scale.py."""

    def __init__(self, per_second: float, window: float = 1.0) -> None:
        self.limit = max(1, int(per_second))
        self.window = window
        self.spacing = window / self.limit
        self._slots: deque[Slot] = deque()
        self._paused_until = 0.0
        self._last = -math.inf  # when the last slot was given
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self) -> Slot:
        async with self._lock:
            while True:
                now = time.monotonic()
                ready = max(self._paused_until, self._last + self.spacing)
                if now < ready:
                    await asyncio.sleep(ready - now)
                    continue
                slots = self._slots
                if len(slots) >= self.limit:
                    self._slots = slots = deque(s for s in slots if s.end > now)
                if len(slots) < self.limit:
                    slot = Slot()
                    slots.append(slot)
                    self._last = now
                    return slot
                # A slot still in flight ends a window after its answer, so never before then.
                soonest = min(s.end for s in slots)
                await asyncio.sleep(soonest - now if soonest != math.inf else self.window)

    def release(self, slot: Slot) -> None:
        """The answer came back: the request reached VK no later than now."""
        slot.end = time.monotonic() + self.window

    def cancel(self, slot: Slot) -> None:
        """The slot was not used: nothing reached VK."""
        slot.end = 0.0
        self._last -= self.spacing

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        taken = await self.acquire()
        try:
            yield
        finally:
            self.release(taken)


@dataclass
class _Item:
    """One interactive message (a reply or a notice) that a caller awaits."""

    peer_id: int
    key: str
    kind: str
    text: str
    keyboard: str | None
    attachments: tuple[str, ...]
    template: str
    intent: str | None = None
    future: asyncio.Future[Delivery] | None = None
    about: int | None = None
    attempts: int = 0
    not_before: float = 0.0
    queued_at: float = field(default_factory=time.monotonic)

    @property
    def random_id(self) -> int:
        return random_id_for(self.key)

    def group(self) -> tuple[Any, ...]:
        return (self.text, self.keyboard, self.attachments, self.intent, self.random_id)


class _Text:
    """A text of a bulk job as loaded from the outbox, shared by all its recipients."""

    __slots__ = ("id", "job", "key", "kind", "text", "keyboard", "attachments", "template",
                 "random_id")

    def __init__(self, row: OutboxText) -> None:
        self.id = row.id
        self.job = row.job
        self.key = row.key
        self.kind = row.kind
        self.text = row.text
        self.keyboard = row.keyboard
        self.attachments = row.attachments
        self.template = row.template
        self.random_id = random_id_for(row.key)


class _Group:
    """Up to peer_ids_batch recipients of one bulk text: one call of a request. Built when the
    outbox is loaded, so the per-recipient work is two list appends."""

    __slots__ = ("text", "intent", "job_id", "peers", "ids", "attempts", "not_before")

    def __init__(self, text: _Text, intent: str | None, job_id: int, attempts: int = 0,
                 not_before: float = 0.0) -> None:
        self.text = text
        self.intent = intent
        self.job_id = job_id
        self.peers: list[int] = []
        self.ids: list[int] = []
        self.attempts = attempts
        self.not_before = not_before

    def params(self) -> dict[str, Any]:
        text = self.text
        params: dict[str, Any] = {"random_id": text.random_id,
                                  "peer_ids": ",".join(map(str, self.peers))}
        if text.text:
            params["message"] = text.text
        if text.keyboard is not None:
            params["keyboard"] = text.keyboard
        if text.attachments:
            params["attachment"] = ",".join(text.attachments)
        _intent_params(params, self.intent)
        params["dont_parse_links"] = 0
        return params


def _intent_params(params: dict[str, Any], intent: str | None) -> None:
    if intent:
        params["intent"] = intent
        if intent.endswith("newsletter"):
            params["subscribe_id"] = SUBSCRIBE_ID


def _params(items: list[_Item]) -> dict[str, Any]:
    first = items[0]
    params: dict[str, Any] = {"random_id": first.random_id}
    if len(items) == 1:
        params["peer_id"] = first.peer_id
    else:
        params["peer_ids"] = ",".join(str(i.peer_id) for i in items)
    if first.text:
        params["message"] = first.text
    if first.keyboard is not None:
        params["keyboard"] = first.keyboard
    if first.attachments:
        params["attachment"] = ",".join(first.attachments)
    _intent_params(params, first.intent)
    params["dont_parse_links"] = 0
    return params


Call = list[_Item] | _Group


def _call_params(call: Call) -> dict[str, Any]:
    return call.params() if isinstance(call, _Group) else _params(call)


def _call_peers(call: Call) -> list[int]:
    return call.peers if isinstance(call, _Group) else [i.peer_id for i in call]


def execute_code(calls: list[dict[str, Any]]) -> str:
    """VKScript (JavaScript-like) code sending the calls. Texts go in as JSON string literals;
    U+2028/U+2029 are line terminators inside a JavaScript string, so one person's text with
    them would break the whole batch: they are escaped."""
    body = ",".join(
        "API.messages.send(" + json.dumps(c, ensure_ascii=False) + ")" for c in calls
    )
    return f"return [{body}];".replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _digest(parts: tuple[Any, ...]) -> int:
    """A signed 64-bit id of a text's content (SQLite integers are signed)."""
    data = "\x00".join("" if p is None else str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


async def _chunks(messages: BulkMessages, size: int) -> AsyncIterator[list[Outgoing | Multicast]]:
    """The producer's messages in chunks of about ``size`` recipients; a Multicast is a page
    the producer already bounded, so it ends a chunk (queued while the next page is read)."""
    chunk: list[Outgoing | Multicast] = []
    count = 0
    stream = messages if isinstance(messages, AsyncIterable) else _aiter(messages)
    async for m in stream:
        chunk.append(m)
        many = isinstance(m, Multicast)
        count += len(m.peer_ids) if many else 1
        if many or count >= size:
            yield chunk
            chunk, count = [], 0
    if chunk:
        yield chunk


async def _aiter(messages: Iterable[Outgoing | Multicast]) -> AsyncIterator[Outgoing | Multicast]:
    for m in messages:
        yield m


_REFUSED = "refused"  # a marker: the 24-hour rule forbids this bulk message


class _Outcome:
    """What one request ended with: interactive deliveries, bulk rows by final status, retries."""

    __slots__ = ("finished", "retry_items", "retry_groups", "bulk_delivered", "bulk_other",
                 "unreachable", "jobs")

    def __init__(self) -> None:
        self.finished: list[tuple[_Item, Delivery]] = []
        self.retry_items: list[_Item] = []
        self.retry_groups: list[_Group] = []
        self.bulk_delivered: dict[int, list[int]] = {}
        self.bulk_other: list[tuple[str, str | None, int, int]] = []
        self.unreachable: list[int] = []
        self.jobs: set[str] = set()

    def delivered(self, job_id: int, ids: list[int], job: str) -> None:
        self.bulk_delivered.setdefault(job_id, []).extend(ids)
        self.jobs.add(job)

    def fail_group(self, group: _Group, peers: list[int], ids: list[int], status: str,
                   error: str) -> None:
        self.bulk_other.extend((status, error, oid, group.job_id) for oid in ids)
        if status == "not_allowed":
            self.unreachable.extend(peers)
        self.jobs.add(group.text.job)


class VkSender:
    # What differs per messenger (bot/max/sender.py overrides them): whose outbox rows this
    # engine reads, the longest text, and whether VK's 24-hour rule applies.
    messenger = "vk"
    text_limit = TEXT_LIMIT
    day_window = True

    def __init__(self, api: VkApi, settings: SenderSettings, db: Database, clock: Clock,
                 metrics: BotMetrics | None = None) -> None:
        self.api = api
        self.metrics = metrics
        self.settings = settings
        self.db = db
        self.clock = clock
        self.progress_hooks: list[ProgressHook] = []
        self.limiter = RateLimiter(settings.requests_per_second)
        self._interactive: deque[_Item] = deque()
        self._bulk: deque[_Group] = deque()
        self._bulk_queued = 0  # recipients in self._bulk
        self._bulk_cursor = 0
        self._bulk_exhausted = False
        self._enqueued = 0  # chunks committed to the outbox by enqueue_bulk, ever
        self._bulk_limit = BULK_CHUNK  # PERSONAL_CHUNK while the texts loaded are mostly distinct
        # A person is in at most one request at a time, so a set is enough.
        self._in_flight_peers: set[int] = set()
        self._wake = asyncio.Event()
        self._in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()
        # Bulk results of finished requests wait here for one writer (see _write_results).
        self._results_delivered: dict[int, list[int]] = defaultdict(list)
        self._results_other: list[tuple[str, str | None, int, int]] = []
        self._results_lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None
        self._refill_task: asyncio.Task[None] | None = None
        self._cancelled: set[str] = set()
        self.requests = 0  # for benches and logs

    # -- public API -------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="sender")

    async def stop(self) -> None:
        for task in (self._loop_task, self._refill_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._tasks:
            _, stuck = await asyncio.wait(set(self._tasks), timeout=STOP_GRACE)
            if stuck:
                log.warning("%d delivery request(s) still running at shutdown were cancelled",
                            len(stuck))
                for task in stuck:
                    task.cancel()
                await asyncio.gather(*stuck, return_exceptions=True)
        for item in list(self._interactive):
            if item.future and not item.future.done():
                item.future.set_result(Delivery(item.peer_id, item.key, "failed", error="stopped"))

    async def send(self, messages: Sequence[Outgoing]) -> list[Delivery]:
        now = unix(self.clock)
        need = [m.peer_id for m in messages if m.kind != "reply"]
        book = await self.contacts(sorted(set(need))) if need else {}
        items: list[tuple[Any, bool]] = []
        for message in messages:
            allowed, intent = self._choose_intent(message.kind, book.get(message.peer_id), now)
            items.extend((item, allowed) for item in self._items(message, intent))
        deliveries = await self._deliver(items)
        received_at = current_received_at.get()
        if self.metrics is not None and received_at is not None:
            for message, delivery in zip(messages, deliveries):
                if message.kind == "reply" and delivery.status == "delivered":
                    self.metrics.latency.observe(time.monotonic() - received_at)
        refused = [item for (item, _), delivery in zip(items, deliveries)
                   if isinstance(item, _Item) and item.kind == "notice"
                   and delivery.status == "not_allowed"]
        if refused:
            await self._hold(refused)
        return deliveries

    async def _deliver(self, items: list[tuple[Any, bool]]) -> list[Delivery]:
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Delivery]] = []
        for item, allowed in items:
            future: asyncio.Future[Delivery] = loop.create_future()
            if isinstance(item, Delivery):
                future.set_result(item)
            elif not allowed:
                future.set_result(Delivery(item.peer_id, item.key, "not_allowed",
                                           error="no 24h window and no subscription"))
            else:
                item.future = future
                self._interactive.append(item)
            futures.append(future)
        self._wake.set()
        return list(await asyncio.gather(*futures))

    # -- notices for people who have not written to the community yet ------------------------
    async def _hold(self, items: list[_Item]) -> None:
        """A notice VK refused (the person never wrote to the community, e.g. a coordinator
        named in the config) waits in ``held_notices`` until the person writes."""
        rows = [(i.peer_id, i.about, i.key, i.kind, i.text, i.keyboard, ",".join(i.attachments),
                 i.template) for i in items]
        try:
            async with self.db.transaction() as tx:
                await tx.held.upsert_notices(rows, unix(self.clock))
        except Exception:
            log.exception("could not keep %d refused notices", len(rows))
            return
        log.info("%d notice(s) wait until the recipient writes to the community", len(rows))

    async def deliver_held(self, held: Sequence[HeldNotice]) -> None:
        """The person wrote: what waited for them goes now (they are inside the 24 hours);
        a notice VK refuses again stays held."""
        items = [(_Item(peer_id=h.peer_id, key=h.key, kind=h.kind, text=h.text,
                        keyboard=h.keyboard, attachments=h.attachments, template=h.template,
                        about=h.about), True) for h in held]
        deliveries = await self._deliver(items)
        done = [h.id for h, d in zip(held, deliveries) if d.status in ("delivered", "failed")]
        if done:
            async with self.db.transaction() as tx:
                await tx.held.delete_notices(done)

    async def enqueue_bulk(self, job: str, messages: BulkMessages, complete: bool = True) -> int:
        """Queue a bulk job in the outbox, ENQUEUE_CHUNK recipients per transaction: the sender
        starts on the first chunk while the producer reads the next, and memory holds one
        chunk whatever the audience. Each distinct text is stored once per job."""
        async with self.db.transaction() as tx:
            job_id = await tx.outbox.upsert_job(job, unix(self.clock))
        added = 0
        known: dict[tuple[Any, ...], int] = {}  # content -> text id (bounded below)
        keyboards: dict[int, str | None] = {}   # a job shares one keyboard object
        async for chunk in _chunks(messages, ENQUEUE_CHUNK):
            added += await self._enqueue_chunk(job, job_id, chunk, known, keyboards)
            if len(known) > 1000:
                known.clear()
            if len(keyboards) > 100:
                keyboards.clear()
            self._enqueued += 1
            self._bulk_exhausted = False
            self._wake.set()
        if complete:
            async with self.db.transaction() as tx:
                await tx.outbox.upsert_job_complete(job_id, unix(self.clock))
            await self._notify({job})
        return added

    async def _enqueue_chunk(self, job: str, job_id: int, chunk: list[Outgoing | Multicast],
                             known: dict[tuple[Any, ...], int],
                             keyboards: dict[int, str | None]) -> int:
        rows: list[tuple[int, int, tuple[Any, ...]]] = []   # peer, part, content
        shared: list[tuple[Sequence[int], tuple[Any, ...]]] = []  # one part to many people
        new: dict[tuple[Any, ...], None] = {}
        for m in chunk:
            reply = m.reply
            keyboard = reply.keyboard
            if id(keyboard) not in keyboards:
                try:
                    keyboards[id(keyboard)] = (self._keyboard_json(keyboard)
                                               if keyboard is not None else None)
                except KeyboardError as exc:
                    log.error("keyboard of %s is invalid, job %s not queued: %s",
                              reply.template, job, exc)
                    raise
            kb = keyboards[id(keyboard)]
            attachments = ",".join(reply.attachments)
            parts = (split_text(reply.text, self.text_limit) if len(reply.text) > self.text_limit
                     else [reply.text])
            contents = []
            for n, text in enumerate(parts):
                last = n == len(parts) - 1
                content = (m.key if n == 0 else f"{m.key}#{n}", m.kind, text,
                           kb if last else None, attachments if last else "", reply.template)
                if content not in known:
                    new[content] = None
                contents.append(content)
            if isinstance(m, Multicast) and len(contents) == 1:
                shared.append((m.peer_ids, contents[0]))
                continue
            peers = m.peer_ids if isinstance(m, Multicast) else (m.peer_id,)
            for peer in peers:
                for n, content in enumerate(contents):
                    rows.append((peer, n, content))
        now = unix(self.clock)
        async with self.db.transaction() as tx:
            if new:
                by_digest = {_digest(c): c for c in new}
                ids = await tx.outbox.upsert_texts(
                    job_id, [(d, *c) for d, c in by_digest.items()])
                for d, c in by_digest.items():
                    known[c] = ids[d]
            added = 0
            for peer_ids, content in shared:
                added += await tx.outbox.upsert_recipients_of_text(job_id, peer_ids,
                                                                   known[content], now)
            if rows:
                added += await tx.outbox.upsert_recipients(
                    job_id, [(peer, n, known[c]) for peer, n, c in rows], now)
            return added

    async def cancel_bulk(self, job: str) -> int:
        async with self.db.transaction() as tx:
            cancelled = await tx.outbox.cancel_job(job, unix(self.clock))
        self._cancelled.add(job)  # a chunk being loaded right now must not bring it back
        self._bulk = deque(g for g in self._bulk if g.text.job != job)
        self._bulk_queued = sum(len(g.peers) for g in self._bulk)
        return cancelled

    def forget(self, peer_id: int) -> None:
        for group in self._bulk:
            if peer_id in group.peers:
                keep = [(p, i) for p, i in zip(group.peers, group.ids) if p != peer_id]
                group.peers = [p for p, _ in keep]
                group.ids = [i for _, i in keep]
        self._bulk = deque(g for g in self._bulk if g.peers)
        self._bulk_queued = sum(len(g.peers) for g in self._bulk)

    async def edit(self, peer_id: int, message_id: int, reply: Reply) -> bool:
        params: dict[str, Any] = {"peer_id": peer_id, "message_id": message_id,
                                  "message": reply.text[:TEXT_LIMIT]}
        if reply.keyboard is not None:
            params["keyboard"] = self._keyboard_json(reply.keyboard)
        try:
            return bool(await self.call("messages.edit", params))
        except (VkApiError, VkTransportError) as exc:
            log.warning("edit of message %s failed: %s", message_id, exc)
            return False

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Any other API call, under the same rate limit, with the same retries."""
        attempt = 0
        while True:
            self.requests += 1
            try:
                async with self.limiter.slot():
                    return await self.api.call(method, params)
            except VkApiError as exc:
                if exc.code not in TRANSIENT or attempt + 1 >= self.settings.max_attempts:
                    raise
                if exc.code in SLOW_DOWN:
                    self.limiter.pause(1.0)
            except VkTransportError:
                if attempt + 1 >= self.settings.max_attempts:
                    raise
            attempt += 1
            await asyncio.sleep(self._backoff(attempt))

    # -- who may be written to ---------------------------------------------------------------
    async def contacts(self, peer_ids: list[int]) -> dict[int, Contact]:
        async with self.db.read() as tx:
            rows = await tx.users.list_contacts(peer_ids)
        return {vk_id: Contact(last, ok, reachable) for vk_id, last, ok, reachable in rows}

    async def on_unreachable(self, peer_ids: list[int]) -> None:
        """901/902: the person does not allow messages; bulk sends skip them until they write."""
        async with self.db.transaction() as tx:
            for peer in peer_ids:
                await tx.users.update_flags(peer, reachable=False)

    # -- what differs per messenger ------------------------------------------------------------
    def _keyboard_json(self, keyboard: Keyboard) -> str | None:
        return keyboard_json(keyboard)

    def _choose_intent(self, kind: str, contact: Contact | None, now: int,
                       ) -> tuple[bool, str | None]:
        return choose_intent(kind, contact, now)

    # -- building items ---------------------------------------------------------------------
    def _items(self, message: Outgoing, intent: str | None) -> list[Any]:
        reply = message.reply
        try:
            kb = self._keyboard_json(reply.keyboard) if reply.keyboard is not None else None
        except KeyboardError as exc:
            log.error("BUG: keyboard of template %s is invalid: %s", reply.template, exc)
            return [Delivery(message.peer_id, message.key, "failed", error=f"keyboard: {exc}")]
        parts = split_text(reply.text, self.text_limit) if reply.text else [""]
        items = []
        for n, text in enumerate(parts):
            last = n == len(parts) - 1
            items.append(_Item(
                peer_id=message.peer_id, key=message.key if n == 0 else f"{message.key}#{n}",
                kind=message.kind, text=text, keyboard=kb if last else None,
                attachments=reply.attachments if last else (), template=reply.template,
                intent=intent, about=message.about,
            ))
        return items

    # -- the loop ---------------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        return min(0.2 * 2 ** attempt, 30.0)

    def _want_bulk(self) -> None:
        """Load the next chunk of the outbox in the background while requests go out."""
        if self._bulk_exhausted or self._bulk_queued >= self._bulk_limit:
            return
        if self._refill_task is None or self._refill_task.done():
            self._refill_task = asyncio.create_task(self._refill_guarded())

    async def _refill_guarded(self) -> None:
        try:
            await self._refill_bulk()
        except Exception:  # a broken row must not stop interactive replies
            log.exception("could not load the outbox")
        self._wake.set()

    async def _refill_bulk(self) -> None:
        # A chunk committed after this read began is not in it: "nothing pending" is then
        # stale, and believing it would leave that chunk unsent until something else woke the
        # loop (a lost wake-up, seen under load as a survey that never went out).
        enqueued = self._enqueued
        async with self.db.read() as tx:
            rows = await tx.outbox.list_pending(self._bulk_cursor, self._bulk_limit,
                                                self.messenger)
            if not rows:
                self._bulk_exhausted = self._enqueued == enqueued
                self._bulk_limit = BULK_CHUNK
                return
            text_ids = sorted({r[3] for r in rows})
            texts = {t.id: _Text(t) for t in await tx.outbox.list_texts(text_ids)}
        self._bulk_limit = PERSONAL_CHUNK if len(text_ids) > PERSONAL_CHUNK // 2 else BULK_CHUNK
        self._bulk_cursor = rows[-1][0]
        now = unix(self.clock)
        recent = now - DAY
        max_peers = self.settings.peer_ids_batch
        cancelled = self._cancelled
        skipped: list[tuple[str, str | None, int, int]] = []
        open_groups: dict[tuple[int, str | None], _Group] = {}
        seen: set[int] = set()
        bulk = self._bulk
        queued = 0
        day_window = self.day_window
        # This loop runs per recipient: the text, its group and the group's lists stay in
        # locals while consecutive rows share them (one text to everyone: every row).
        last_text_id = last_key = None
        text: _Text | None = None
        group: _Group | None = None
        peers: list[int] = []
        ids: list[int] = []
        for oid, job_id, peer, text_id, last, newsletter_ok, reachable in rows:
            if text_id != last_text_id:
                last_text_id = text_id
                text = texts.get(text_id)
                if text is not None and text.job in cancelled:
                    text = None
            if text is None:
                continue
            # VK's 24-hour rule (choose_intent, inlined).
            if reachable == 0:
                intent: str | None = _REFUSED
            elif not day_window or (last is not None and last > recent):
                intent = None
            elif text.kind == "notice":
                intent = "customer_support"
            elif newsletter_ok:
                intent = "non_promo_newsletter"
            else:
                intent = _REFUSED
            if intent is _REFUSED:
                skipped.append(("not_allowed", "no 24h window and no subscription", oid, job_id))
                continue
            if peer in seen:
                # A second message to one person (a long text's next part, another job): it
                # goes in a later call than the first, never beside or before it.
                open_groups.clear()
                seen.clear()
                last_key = None
            seen.add(peer)
            key = (text_id, intent)
            if key != last_key or len(peers) >= max_peers:
                group = open_groups.get(key)
                if group is None or len(group.peers) >= max_peers:
                    group = _Group(text, intent, job_id)
                    open_groups[key] = group
                    bulk.append(group)
                last_key, peers, ids = key, group.peers, group.ids
            peers.append(peer)
            ids.append(oid)
            queued += 1
        self._bulk_queued += queued
        if skipped:
            async with self.db.transaction() as tx:
                await tx.outbox.update_results({}, skipped, now)
            await self._notify({texts[r[3]].job for r in rows if r[3] in texts})

    def _take_batch(self, now: float) -> tuple[list[Call], float | None]:
        """Calls for one request, and when the earliest waiting item becomes ready.

        A person appears at most once per request and never while a request to them is in
        flight, and nothing to them overtakes an earlier message still waiting."""
        max_calls = self.settings.execute_batch
        max_peers = self.settings.peer_ids_batch
        calls: list[Call] = []
        open_groups: dict[tuple[Any, ...], list[_Item]] = {}
        blocked = set(self._in_flight_peers)
        next_ready: float | None = None
        source = self._interactive
        kept: deque[_Item] = deque()
        while source:
            if len(calls) >= max_calls and all(len(g) >= max_peers for g in open_groups.values()):
                break  # the request is full: leave the rest of the queue as it is
            item = source.popleft()
            take = item.peer_id not in blocked and item.not_before <= now
            if take:
                group = open_groups.get(item.group())
                if group is not None and len(group) < max_peers:
                    group.append(item)
                elif len(calls) < max_calls:
                    group = [item]
                    calls.append(group)
                    open_groups[item.group()] = group
                else:
                    take = False
            elif item.not_before > now:
                next_ready = item.not_before if next_ready is None else min(next_ready, item.not_before)
            if not take:
                kept.append(item)
            blocked.add(item.peer_id)
        kept.extend(source)
        self._interactive = kept
        # Bulk: whole groups (formed at load time); a group waits while any of its people is
        # busy, and its people then block later groups (their order is kept).
        bulk = self._bulk
        waiting: list[_Group] = []
        taken = 0
        while bulk and len(calls) < max_calls:
            group = bulk.popleft()
            if group.not_before <= now and blocked.isdisjoint(group.peers):
                calls.append(group)
                taken += len(group.peers)
            else:
                if group.not_before > now:
                    next_ready = (group.not_before if next_ready is None
                                  else min(next_ready, group.not_before))
                waiting.append(group)
            blocked.update(group.peers)
        if waiting:
            bulk.extendleft(reversed(waiting))
        self._bulk_queued -= taken
        return calls, next_ready

    async def _run(self) -> None:
        window = self.settings.gather_window_ms / 1000
        while True:
            self._want_bulk()
            if not (self._interactive or self._bulk):
                await self._sleep(None if self._bulk_exhausted else 0.5)
                continue
            oldest = self._interactive[0].queued_at if self._interactive else None
            if oldest is not None and time.monotonic() - oldest < window:
                # A short gathering window lets replies written at the same moment share a request.
                await asyncio.sleep(window - (time.monotonic() - oldest))
            await self._in_flight.acquire()
            slot = await self.limiter.acquire()
            calls, next_ready = self._take_batch(time.monotonic())
            if not calls:
                self._in_flight.release()
                self.limiter.cancel(slot)
                await self._sleep(None if next_ready is None else next_ready - time.monotonic())
                continue
            for call in calls:
                self._in_flight_peers.update(_call_peers(call))
            task = asyncio.create_task(self._request(calls, slot))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _sleep(self, timeout: float | None) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), None if timeout is None else max(0.0, timeout))
        except TimeoutError:
            pass

    async def _request(self, calls: list[Call], slot: Slot) -> None:
        out = _Outcome()
        try:
            self.requests += 1
            try:
                results, errors = await self._post(calls)
            except VkApiError as exc:
                self._whole_request_failed(calls, exc.code, str(exc), out)
            except VkTransportError as exc:
                self._whole_request_failed(calls, 10, str(exc), out)
            else:
                self._read_results(calls, results, errors, out)
                # The decoded answer (a dict per recipient: about 0.6 MB for 2 500) is not
                # kept while the results wait for their write below: with several requests
                # finishing during one write, their answers piled up in memory.
                del results, errors
        except asyncio.CancelledError:
            # Cancelled at shutdown (``stop``): a caller waiting for its reply hears «failed»;
            # bulk rows stay pending in the outbox and go out after the restart.
            for call in calls:
                if not isinstance(call, _Group):
                    for item in call:
                        if item.future is not None and not item.future.done():
                            item.future.set_result(
                                Delivery(item.peer_id, item.key, "failed", error="stopped"))
            raise
        except Exception as exc:  # never leave a caller waiting forever
            log.exception("delivery request crashed")
            out = _Outcome()
            for call in calls:
                if isinstance(call, _Group):
                    out.fail_group(call, call.peers, call.ids, "failed", str(exc))
                else:
                    for item in call:
                        out.finished.append(
                            (item, Delivery(item.peer_id, item.key, "failed", error=str(exc))))
        finally:
            self.limiter.release(slot)
            for call in calls:
                self._in_flight_peers.difference_update(_call_peers(call))
            self._in_flight.release()
        for item in out.retry_items:
            self._interactive.appendleft(item)
        for group in reversed(out.retry_groups):
            self._bulk.appendleft(group)
            self._bulk_queued += len(group.peers)
        await self._finish(out)
        self._wake.set()

    async def _post(self, calls: list[Call]) -> tuple[list[Any], list[dict[str, Any]]]:
        if len(calls) == 1:
            params = _call_params(calls[0])
            try:
                return [await self.api.call("messages.send", params)], []
            except VkApiError as exc:
                if exc.code in NOT_ALLOWED | {911, 914, 100}:
                    # A single call's own error: handled per call like inside execute.
                    return [False], [{"error_code": exc.code, "error_msg": exc.message}]
                raise
        code = execute_code([_call_params(c) for c in calls])
        envelope = await self.api.raw("execute", {"code": code})
        response = envelope.get("response")
        if not isinstance(response, list) or len(response) != len(calls):
            raise VkTransportError(f"execute returned {type(response).__name__}")
        return response, list(envelope.get("execute_errors") or [])

    def _whole_request_failed(self, calls: list[Call], code: int, text: str,
                              out: "_Outcome") -> None:
        if code in SLOW_DOWN:
            self.limiter.pause(1.0 if code == 6 else 2.0)
        for call in calls:
            self._call_failed(call, code, text, out)

    def _call_failed(self, call: Call, code: int, text: str, out: "_Outcome") -> None:
        if isinstance(call, _Group):
            self._group_failed(call, call.peers, call.ids, code, text, out)
        else:
            for item in call:
                self._retry_or_fail(item, code, text, out)

    def _retry_or_fail(self, item: _Item, code: int, text: str, out: "_Outcome") -> None:
        if code in NOT_ALLOWED:
            out.finished.append((item, Delivery(item.peer_id, item.key, "not_allowed", error=text)))
            if self.metrics is not None:
                self.metrics.failed(code, item.kind)
            return
        if code in TRANSIENT:
            # Error 6 is our own pacing being off: it does not use up the message's attempts.
            if code != 6:
                item.attempts += 1
            if item.attempts < self.settings.max_attempts:
                item.not_before = time.monotonic() + (self._backoff(item.attempts) if code != 6 else 1.0)
                out.retry_items.append(item)
                return
            log.warning("giving up on %s after %d attempts: %s", item.key, item.attempts, text)
        else:
            log.error("BUG: VK refused template %s (key %s): %s", item.template, item.key, text)
        if self.metrics is not None:
            self.metrics.failed(code, item.kind)
        out.finished.append((item, Delivery(item.peer_id, item.key, "failed", error=text)))

    def _group_failed(self, group: _Group, peers: list[int], ids: list[int], code: int,
                      text: str, out: "_Outcome") -> None:
        """Some recipients of a bulk call failed with one error: retried together or final."""
        if self.metrics is not None and (code in NOT_ALLOWED or code not in TRANSIENT
                                         or group.attempts + 1 >= self.settings.max_attempts):
            self.metrics.failed(code, group.text.kind, len(peers))
        if code in NOT_ALLOWED:
            out.fail_group(group, peers, ids, "not_allowed", text)
            return
        if code in TRANSIENT:
            attempts = group.attempts + (0 if code == 6 else 1)
            if attempts < self.settings.max_attempts:
                again = _Group(group.text, group.intent, group.job_id, attempts,
                               time.monotonic() + (self._backoff(attempts) if code != 6 else 1.0))
                again.peers, again.ids = list(peers), list(ids)
                out.retry_groups.append(again)
                return
            log.warning("giving up on %s to %d people after %d attempts: %s", group.text.key,
                        len(peers), attempts, text)
        else:
            log.error("BUG: VK refused template %s (key %s): %s", group.text.template,
                      group.text.key, text)
        out.fail_group(group, peers, ids, "failed", text)

    def _read_results(self, calls: list[Call], results: list[Any],
                      errors: list[dict[str, Any]], out: "_Outcome") -> None:
        error_iter = iter(errors)
        slowed = False
        for call, result in zip(calls, results):
            if result is False:
                err = next(error_iter, {"error_code": 10, "error_msg": "unknown execute error"})
                code = int(err.get("error_code", 10))
                if code in SLOW_DOWN and not slowed:
                    self.limiter.pause(1.0)
                    slowed = True
                self._call_failed(call, code, str(err.get("error_msg", "")), out)
                continue
            if isinstance(call, _Group):
                self._read_group(call, result, out)
                continue
            if isinstance(result, int):
                item = call[0]
                out.finished.append((item, Delivery(item.peer_id, item.key, "delivered",
                                                    message_id=result)))
                continue
            by_peer = {int(r.get("peer_id", 0)): r for r in result if isinstance(r, dict)}
            for item in call:
                entry = by_peer.get(item.peer_id)
                if entry is None:
                    self._retry_or_fail(item, 10, "recipient missing from the answer", out)
                elif "message_id" in entry:
                    out.finished.append((item, Delivery(item.peer_id, item.key, "delivered",
                                                        message_id=int(entry["message_id"]))))
                else:
                    error = entry.get("error") or {}
                    self._retry_or_fail(item, int(error.get("code", 10)),
                                        str(error.get("description", "")), out)

    def _read_group(self, group: _Group, result: Any, out: "_Outcome") -> None:
        if isinstance(result, int):  # VK answered a one-recipient call with the message id
            out.delivered(group.job_id, group.ids, group.text.job)
            self._count(group.text.kind, len(group.ids))
            return
        if isinstance(result, list) and len(result) == len(group.peers):
            try:  # the usual case, checked without a set: everyone, in the order asked
                if [r["peer_id"] for r in result if "message_id" in r] == group.peers:
                    out.delivered(group.job_id, group.ids, group.text.job)
                    self._count(group.text.kind, len(group.ids))
                    return
            except (KeyError, TypeError):
                pass
        entries = [r for r in result if isinstance(r, dict)] if isinstance(result, list) else []
        ok = {r.get("peer_id") for r in entries if "message_id" in r}
        if len(ok) == len(group.peers) and ok.issuperset(group.peers):
            out.delivered(group.job_id, group.ids, group.text.job)  # the usual case
            self._count(group.text.kind, len(group.ids))
            return
        errors = {r.get("peer_id"): r.get("error") or {} for r in entries if "message_id" not in r}
        done: list[int] = []
        failed: dict[tuple[int, str], tuple[list[int], list[int]]] = {}
        for peer, oid in zip(group.peers, group.ids):
            if peer in ok:
                done.append(oid)
                continue
            error = errors.get(peer)
            if error is None:
                code, text = 10, "recipient missing from the answer"
            else:
                code, text = int(error.get("code", 10)), str(error.get("description", ""))
            peers, ids = failed.setdefault((code, text), ([], []))
            peers.append(peer)
            ids.append(oid)
        if done:
            out.delivered(group.job_id, done, group.text.job)
            self._count(group.text.kind, len(done))
        for (code, text), (peers, ids) in failed.items():
            self._group_failed(group, peers, ids, code, text, out)

    def _count(self, kind: str, delivered: int) -> None:
        if self.metrics is not None:
            self.metrics.delivered(kind, delivered)

    async def _finish(self, out: "_Outcome") -> None:
        finished = out.finished
        for item, delivery in finished:
            if delivery.status == "delivered":
                self._count(item.kind, 1)
        unreachable = [d.peer_id for _, d in finished if d.status == "not_allowed"]
        unreachable += out.unreachable
        if out.bulk_delivered or out.bulk_other:
            for job_id, ids in out.bulk_delivered.items():
                self._results_delivered[job_id].extend(ids)
            self._results_other.extend(out.bulk_other)
            await self._write_results()
        if unreachable:
            try:
                await self.on_unreachable(unreachable)
            except Exception:
                log.exception("could not mark users unreachable")
        for item, delivery in finished:
            if item.future is not None and not item.future.done():
                item.future.set_result(delivery)
        if out.jobs:
            await self._notify(out.jobs)

    async def _write_results(self) -> None:
        """Write every bulk result gathered so far in one transaction. Requests finishing while
        one write is under way wait for the next, which takes all of theirs at once: ten
        requests in flight make one or two writes instead of ten transactions queued for the
        database ahead of the next chunk's load. When this returns, the caller's results are
        written (by this call or by one that started after they were added)."""
        async with self._results_lock:
            if not (self._results_delivered or self._results_other):
                return
            delivered, others = self._results_delivered, self._results_other
            self._results_delivered, self._results_other = defaultdict(list), []
            async with self.db.transaction() as tx:
                await tx.outbox.update_results(delivered, others, unix(self.clock))

    async def _notify(self, jobs: set[str]) -> None:
        for hook in self.progress_hooks:
            try:
                await hook(jobs)
            except Exception:
                log.exception("progress hook failed")

    async def idle(self) -> bool:
        """True when nothing is queued or in flight (tests and graceful shutdown)."""
        return (not (self._interactive or self._bulk or self._in_flight_peers or self._tasks)
                and self._bulk_exhausted)
