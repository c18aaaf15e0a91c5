"""The MAX adapter: turns a MAX update into a core ``Conversation`` and hands it to the routes,
the same routes, rights and texts as VK's (handlers/vk.py); only the update's shape differs.

- ``message_created``: the text and attachments (image → photo, file → doc, as the core names
  them) of a message in the dialog.
- ``message_callback``: a callback button press; its payload is the core's button payload. It is
  answered through ``POST /answers`` as soon as it arrives (before it waits behind the person's
  earlier updates), so the client stops waiting.
- ``bot_started``: the person pressed «Начать», from the bot's page or a deep link
  ``https://max.ru/<bot>?start=<code>``: the start payload is the invitation code, exactly what
  VK's ``ref`` is, so staff joining by an organisation's link works the same way.
- ``bot_stopped``: the person stopped the bot: marked unreachable (like VK's 901), so bulk
  messages skip them until they start it again.

Updates are de-duplicated by ``bot.max.update_key`` in the same table as VK's event ids
(bot/dispatch.py) and serialised per person like VK's.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.max import MaxApi, MaxError, update_key, update_user_id
from core.kernel.access import NotAllowed
from core.kernel.conversation import Conversation, Incoming
from core.kernel.payloads import BadPayload, parse_payload
from core.kernel.platform import IncomingFile
from core.kernel.menu import refused
from core.kernel.refusals import refuse
from core.kernel.routes import dispatch
from core.kernel.ui import Reply
from handlers.common import conversation_for

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

TEXT_READ_LIMIT = 4096
HANDLED = ("message_created", "message_callback", "bot_started", "bot_stopped")
# MAX attachment types under the names the core gives VK's (fallback, files a person sent).
KINDS = {"image": "photo", "file": "doc"}


def event_of(update: dict[str, Any]) -> dict[str, Any]:
    """The dispatcher's envelope: a stable event id (a redelivered update has the same one)."""
    return {"event_id": f"max:{update_key(update)}", "type": update.get("update_type"),
            "max": update}


def peer_of(event: dict[str, Any]) -> int | None:
    update = event.get("max") or {}
    if update.get("update_type") not in HANDLED:
        return None
    return update_user_id(update)


def files_of(attachments: list[dict[str, Any]]) -> tuple[IncomingFile, ...]:
    found = []
    for n, attachment in enumerate(attachments):
        payload = attachment.get("payload") or {}
        url = payload.get("url") if isinstance(payload, dict) else None
        if not isinstance(url, str) or not url:
            continue
        if attachment.get("type") == "image":
            found.append(IncomingFile("photo", url, f"photo{payload.get('photo_id', n)}.jpg"))
        elif attachment.get("type") == "file":
            name = attachment.get("filename") or payload.get("filename") or f"file{n}"
            found.append(IncomingFile("doc", url, str(name)))
    return tuple(found)


def incoming_of(event: dict[str, Any]) -> Incoming:
    update = event["max"]
    kind = update.get("update_type")
    event_id = str(event["event_id"])
    peer = update_user_id(update) or 0
    if kind == "message_callback":
        raw = (update.get("callback") or {}).get("payload")
        try:
            payload, bad = parse_payload(raw), False
        except BadPayload:
            payload, bad = None, True
        return Incoming(peer, "", event_id, payload=payload, bad_payload=bad, messenger="max")
    if kind == "bot_started":
        start = update.get("payload")
        ref = start.strip() if isinstance(start, str) and start.strip() else None
        return Incoming(peer, "", event_id, ref=ref, messenger="max")
    body = (update.get("message") or {}).get("body") or {}
    text = body.get("text") or ""
    attachments = [a for a in (body.get("attachments") or []) if isinstance(a, dict)
                   and a.get("type") != "inline_keyboard"]
    return Incoming(peer, text[:TEXT_READ_LIMIT], event_id,
                    attachments=tuple(KINDS.get(str(a.get("type")), str(a.get("type")))
                                      for a in attachments),
                    files=files_of(attachments), length=len(text), messenger="max")


def user_of(update: dict[str, Any]) -> dict[str, Any]:
    kind = update.get("update_type")
    if kind == "message_created":
        return (update.get("message") or {}).get("sender") or {}
    if kind == "message_callback":
        return (update.get("callback") or {}).get("user") or {}
    return update.get("user") or {}


class MaxAdapter:
    """Routes MAX updates (already de-duplicated and serialised by bot/dispatch.py)."""

    def __init__(self, deps: "Deps", api: MaxApi) -> None:
        self.deps = deps
        self.api = api
        self.routes = deps.registry.routes
        # The names MAX gives in updates, by internal person id: MAX has no user lookup, so
        # the platform (bot/max_platform.py) answers from here.
        self.names: dict[int, tuple[str, str]] = {}

    async def acknowledge(self, event: dict[str, Any]) -> None:
        """Answer a button press at once (POST /answers needs a notice or a new message)."""
        callback = (event["max"].get("callback") or {})
        callback_id = callback.get("callback_id")
        if not callback_id:
            return
        try:
            await self.api.answer_callback(str(callback_id),
                                           notification=self.deps.texts.render("max.pressed"),
                                           user_id=update_user_id(event["max"]))
        except (MaxError, ValueError) as exc:  # the press is still handled
            log.warning("could not answer a MAX button press: %s", type(exc).__name__)

    async def route(self, event: dict[str, Any]) -> None:
        update = event["max"]
        kind = update.get("update_type")
        external = update_user_id(update)
        if external is None:
            return
        if kind == "bot_stopped":
            await self._stopped(external)
            return
        conv = await conversation_for(self.deps, "max", external, incoming_of(event))
        user = user_of(update)
        first, last = user.get("first_name"), user.get("last_name")
        if isinstance(first, str) and first:
            self.names[conv.person.vk_id] = (first, last if isinstance(last, str) else "")
        await self.handle(conv)

    async def handle(self, conv: Conversation) -> None:
        """As VK's handler and error handler (bot/app.py) do: a refused service gets the polite
        refusal, a failure the «busy» answer; never silence."""
        try:
            replies = await dispatch(conv, self.routes, refuse)
        except NotAllowed as exc:
            log.info("refused: %s", exc)
            replies = await refused(conv)
        except Exception:
            log.exception("handler failed")
            self.deps.services["metrics"].failed("handler", "reply")
            replies = [Reply(self.deps.texts.render("input.busy"), template="input.busy")]
        if replies:
            await conv.say(*replies)

    async def _stopped(self, external: int) -> None:
        async with self.deps.db.transaction() as tx:
            person = await tx.accounts.get_person("max", external)
            if person is not None:
                await tx.users.update_flags(int(person), reachable=False)
