"""MAX's delivery engine: the VK engine (bot/vk/sender.py) with MAX's strategy.

What is the same, because it is the same code: the interactive queue that callers await, the
SQLite outbox for bulk jobs (read back after a restart; each engine reads only its own people's
rows: MAX people's internal ids are negative), per-person order (a person is never in two
requests at once, and nothing to them overtakes an earlier message), retries with backoff,
held notices and the unreachable flag.

What MAX changes (../shared/MAX_PROTOCOL.md §1, §4):
- No ``execute``, no ``peer_ids``: one ``POST /messages?user_id=`` per message (batches of one).
- No 24-hour rule: anyone who started the bot and did not stop it may be written to.
- Texts ≤ 4000 characters; keyboards are MAX inline keyboards (bot/max/keyboards.py); every
  keyboard, persistent ones included, goes as an inline keyboard with its message.
- ≤ 30 requests/s: the engine's window and the client's (bot/max/ratelimit.py); 429 pauses the
  engine for a second without using up the message's attempts; 5xx and lost connections are
  retried with backoff by the client and then by the engine.
- No idempotency key (no ``random_id``): a request whose answer was lost may have been
  delivered. The engine resends it (at least once, see the README for the window).
- Message ids are strings (``mid.…``): the engine hands the core a stable integer for each and
  remembers the string for edits (broadcast status messages).

The engine's error classes are VK's codes (901 not allowed, 6 too many requests, 10 transient,
100 a bad request = a bug); MAX's errors are mapped onto them here and nowhere else.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
import json
import logging
from collections import OrderedDict
from typing import Any

from bot.config import SenderSettings
from bot.max.api import MaxApi
from bot.max.errors import (
    MaxBadRequestError,
    MaxError,
    MaxForbiddenError,
    MaxNotFoundError,
    MaxRateLimitError,
    MaxServerError,
    MaxTransportError,
)
from bot.max.keyboards import KeyboardLimitError, from_keyboard
from bot.max.text import TEXT_MAX
from bot.metrics import BotMetrics
from bot.vk.sender import Call, Contact, VkSender, _Group, _Item
from core.kernel.clock import Clock
from core.kernel.outgoing import Outgoing
from core.kernel.ui import Button, Keyboard, KeyboardError, Reply
from storage import Database

log = logging.getLogger(__name__)

NOT_ALLOWED, SLOW_DOWN, TRANSIENT, BAD_REQUEST = 901, 6, 10, 100
MIDS_KEPT = 10_000
MENU_ROWS_MAX = 16  # an inline keyboard with the menu under it stays readable on a phone
# Attachment strings made by bot/max/platform.py: "max:image:<token>", "max:file:<token>".
ATTACHMENT_PREFIX = "max:"
FILE_PREFIX = "max:file:"


def attachment_of(value: str) -> dict[str, Any] | None:
    if not value.startswith(ATTACHMENT_PREFIX):
        return None  # another messenger's attachment (a VK doc id) means nothing in MAX
    kind, _, token = value[len(ATTACHMENT_PREFIX):].partition(":")
    if kind not in ("image", "file", "video", "audio") or not token:
        return None
    return {"type": kind, "payload": {"token": token}}


def message_id_of(mid: str) -> int:
    """A positive 53-bit integer for a MAX message id (stable: the same mid, the same int)."""
    return int.from_bytes(hashlib.blake2b(mid.encode(), digest_size=7).digest(), "big") >> 3


def engine_settings(requests_per_second: int, max_attempts: int = 6) -> SenderSettings:
    """The VK engine's settings shaped for MAX: one message per request, no gathering window.
    Built without validation: VK's settings cap the rate at VK's 20/s."""
    return SenderSettings.model_construct(
        requests_per_second=float(requests_per_second), gather_window_ms=0,
        max_attempts=max_attempts, execute_batch=1, peer_ids_batch=1)


class _WithMenu(Keyboard):
    """An inline keyboard with the person's menu rows under it: each part was checked against
    the core's limits on its own, the whole is checked against MAX's (bot/max/keyboards.py)."""

    def validate(self) -> None:
        pass


def menu_json(menu: Keyboard) -> str:
    """A menu as kept in max_menus: the core's keyboard, button by button."""
    return json.dumps({"one_time": menu.one_time, "rows": [
        [{"label": b.label, "payload": b.payload, "color": b.color, "link": b.link} for b in row]
        for row in menu.rows]}, ensure_ascii=False, separators=(",", ":"))


def menu_from_json(text: str) -> Keyboard:
    data = json.loads(text)
    return Keyboard(tuple(tuple(Button(b["label"], b["payload"], b["color"], b.get("link"))
                                for b in row) for row in data["rows"]),
                    one_time=bool(data.get("one_time")))


class MaxSender(VkSender):
    messenger = "max"
    text_limit = TEXT_MAX
    day_window = False

    def __init__(self, api: MaxApi, requests_per_second: int, db: Database, clock: Clock,
                 metrics: BotMetrics | None = None) -> None:
        super().__init__(api, engine_settings(requests_per_second), db, clock, metrics)  # type: ignore[arg-type]
        self.max_api = api
        self._external: dict[int, int] = {}  # internal person id -> MAX user id
        self._mids: OrderedDict[int, str] = OrderedDict()
        # The keyboard VK would keep under the input field for each person (the last
        # persistent one sent), which MAX can only show with a message.
        self._menus: dict[int, Keyboard] = {}
        # Kept in SQLite too (max_menus), so a restart does not strip the menu from messages:
        # changes are written by a background task (sending never waits on them), and the
        # table is read once at start.
        self._menu_changes: dict[int, Keyboard | None] = {}
        self._menu_writer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        async with self.db.read() as tx:
            rows = await tx.accounts.list_menus()
        shared: dict[str, Keyboard] = {}  # a few menus (one per role), shared by everyone
        for person, text in rows:
            if text not in shared:
                shared[text] = menu_from_json(text)
            self._menus.setdefault(person, shared[text])
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        if self._menu_writer is not None:
            await asyncio.gather(self._menu_writer, return_exceptions=True)
        await self._write_menus()  # what changed last

    def _set_menu(self, peer: int, menu: Keyboard | None) -> None:
        if self._menus.get(peer) == menu:
            return
        if menu is None:
            self._menus.pop(peer, None)
        else:
            self._menus[peer] = menu
        self._menu_changes[peer] = menu
        if self._menu_writer is None or self._menu_writer.done():
            self._menu_writer = asyncio.get_running_loop().create_task(self._write_menus())

    async def _write_menus(self) -> None:
        while self._menu_changes:
            changes, self._menu_changes = self._menu_changes, {}
            try:
                async with self.db.transaction() as tx:
                    for peer, menu in changes.items():
                        if menu is None:
                            await tx.accounts.delete_menu(peer)
                        else:
                            await tx.accounts.upsert_menu(peer, menu_json(menu))
            except Exception as exc:  # the menu is shown anyway; only a restart would lose it
                log.warning("could not keep MAX menus: %s", type(exc).__name__)
                return

    # -- what differs from VK -------------------------------------------------------------------
    def _keyboard_json(self, keyboard: Keyboard) -> str | None:
        keyboard.validate()  # the core's own limits first (a bad keyboard is a bug in tests)
        try:
            built = from_keyboard(keyboard)
        except KeyboardLimitError as exc:
            raise KeyboardError(str(exc)) from exc
        return None if built is None else json.dumps(built, ensure_ascii=False,
                                                     separators=(",", ":"))

    def _items(self, message: Outgoing, intent: str | None) -> list[Any]:
        """MAX has no keyboard under the input field: a message carries the person's menu
        itself. A persistent keyboard becomes the person's menu (an empty one removes it);
        a message without a keyboard carries the menu; an inline keyboard gets the menu's rows
        under its own, as VK shows both."""
        reply = message.reply
        keyboard = reply.keyboard
        peer = message.peer_id
        try:
            if keyboard is not None:
                keyboard.validate()
        except KeyboardError:
            return super()._items(message, intent)  # reported as the bug it is
        if keyboard is not None and not keyboard.inline:
            self._set_menu(peer, keyboard if keyboard.rows else None)
        menu = self._menus.get(peer)
        if menu is not None and keyboard is None:
            keyboard = menu
        elif menu is not None and keyboard is not None and keyboard.inline and keyboard.rows:
            labels = {b.label for b in keyboard.buttons}
            rows = keyboard.rows + tuple(r for r in menu.rows
                                         if not {b.label for b in r} & labels)
            if len(rows) <= MENU_ROWS_MAX:
                keyboard = _WithMenu(rows, inline=True)
        files = tuple(a for a in reply.attachments if a.startswith(FILE_PREFIX))
        if keyboard is not reply.keyboard or files:
            message = replace(message, reply=replace(
                reply, keyboard=keyboard,
                attachments=tuple(a for a in reply.attachments if a not in files)))
        rest = message.reply
        items = (super()._items(message, intent)
                 if rest.text or rest.attachments or (rest.keyboard and rest.keyboard.rows)
                 else [])
        # A file (a spreadsheet) must be a message's only attachment in MAX [S]: it follows
        # the text, keyboard and pictures as a message of its own.
        for n, file in enumerate(files):
            items.append(_Item(peer_id=peer, key=f"{message.key}#file{n}", kind=message.kind,
                               text="", keyboard=None, attachments=(file,),
                               template=reply.template, intent=intent, about=message.about))
        return items

    def forget(self, peer_id: int) -> None:
        super().forget(peer_id)
        self._set_menu(peer_id, None)

    def _choose_intent(self, kind: str, contact: Contact | None, now: int,
                       ) -> tuple[bool, str | None]:
        if contact is not None and not contact.reachable and kind != "reply":
            return False, None
        return True, None

    async def user_id_of(self, person: int) -> int | None:
        found = self._external.get(person)
        if found is None:
            async with self.db.read() as tx:
                account = await tx.accounts.get_external(person)
            if account is None or account[0] != "max":
                return None
            found = self._external[person] = account[1]
        return found

    async def _post(self, calls: list[Call]) -> tuple[list[Any], list[dict[str, Any]]]:
        [call] = calls  # batches of one (engine_settings)
        if isinstance(call, _Group):
            peer, text = call.peers[0], call.text
            body, keyboard, attachments = text.text, text.keyboard, text.attachments
        else:
            item = call[0]
            peer, body, keyboard, attachments = (item.peer_id, item.text, item.keyboard,
                                                 item.attachments)
        user_id = await self.user_id_of(peer)
        if user_id is None:
            return [False], [{"error_code": NOT_ALLOWED, "error_msg": "no MAX account"}]
        items = [a for a in (attachment_of(x) for x in attachments) if a is not None]
        if keyboard:
            items.append(json.loads(keyboard))
        try:
            message = await self.max_api.send_message(user_id, body or None,
                                                       attachments=items or None)
        except (MaxForbiddenError, MaxNotFoundError) as exc:
            # stopped the bot, removed the dialog, or never started it
            return [False], [{"error_code": NOT_ALLOWED, "error_msg": exc.code}]
        except MaxRateLimitError as exc:
            return [False], [{"error_code": SLOW_DOWN, "error_msg": exc.code}]
        except (MaxServerError, MaxTransportError) as exc:
            return [False], [{"error_code": TRANSIENT, "error_msg": type(exc).__name__}]
        except (MaxBadRequestError, ValueError) as exc:
            return [False], [{"error_code": BAD_REQUEST, "error_msg": str(exc)[:200]}]
        except MaxError as exc:
            return [False], [{"error_code": TRANSIENT, "error_msg": type(exc).__name__}]
        mid = str((message.get("body") or {}).get("mid") or "")
        if not mid:
            return [0], []
        number = message_id_of(mid)
        self._mids[number] = mid
        if len(self._mids) > MIDS_KEPT:
            self._mids.popitem(last=False)
        return [number], []

    async def edit(self, peer_id: int, message_id: int, reply: Reply) -> bool:
        mid = self._mids.get(message_id)
        if mid is None:
            return False  # sent before a restart: MAX's string id is not kept
        try:
            keyboard = (self._keyboard_json(reply.keyboard) if reply.keyboard is not None
                        else None)
            await self.max_api.edit_message(
                mid, reply.text[:TEXT_MAX],
                attachments=[json.loads(keyboard)] if keyboard else [])
            return True
        except (MaxError, KeyboardError, ValueError) as exc:
            log.warning("edit of a MAX message failed: %s", type(exc).__name__)
            return False

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        raise NotImplementedError("VK API methods do not exist in MAX")
