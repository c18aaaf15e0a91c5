"""The VK adapter: turns a vkbottle ``Message`` into a core ``Conversation`` and hands it to the
routes (``core/features.py``), which enforce each route's ``need`` before a feature runs.

Nothing here knows a feature: one vkbottle handler takes every private message; the order and
the rights are the routes' (``core.kernel.routes.dispatch``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vkbottle.bot import BotLabeler, Message
from vkbottle.dispatch.middlewares import BaseMiddleware

from bot.dispatch import current_event_id
from handlers.common import conversation_for
from core.kernel.conversation import Conversation, Incoming
from core.kernel.payloads import BadPayload, parse_payload
from core.kernel.platform import IncomingFile
from core.kernel.refusals import refuse
from core.kernel.routes import dispatch

if TYPE_CHECKING:
    from bot.deps import Deps

TEXT_READ_LIMIT = 4096


def files_of(message: Message) -> tuple[IncomingFile, ...]:
    """Photos and documents the person attached, with the URLs to fetch them from."""
    found = []
    for attachment in message.attachments or []:
        photo, doc = getattr(attachment, "photo", None), getattr(attachment, "doc", None)
        if photo is not None and photo.sizes:
            best = max(photo.sizes, key=lambda s: (s.width or 0) * (s.height or 0))
            if best.url:
                found.append(IncomingFile("photo", best.url, f"photo{photo.id}.jpg"))
        elif doc is not None and doc.url:
            found.append(IncomingFile("doc", doc.url, doc.title or f"doc{doc.id}"))
    return tuple(found)


def incoming_of(message: Message) -> Incoming:
    bad = False
    try:
        payload = parse_payload(message.payload)
    except BadPayload:
        payload, bad = None, True
    kinds = tuple(str(getattr(a.type, "value", a.type)) for a in (message.attachments or []))
    return Incoming(
        peer_id=message.peer_id,
        text=(message.text or "")[:TEXT_READ_LIMIT],
        event_id=current_event_id.get() or f"m{message.id}:{message.conversation_message_id}",
        payload=payload,
        bad_payload=bad,
        attachments=kinds,
        files=files_of(message) if message.attachments else (),
        ref=message.ref,
        length=len(message.text or ""),
    )


def conversation_middleware(deps: "Deps") -> type[BaseMiddleware[Message]]:
    class ConversationMiddleware(BaseMiddleware[Message]):
        """Loads the person (creating a newcomer) and hands the handler a core Conversation."""

        async def pre(self) -> None:
            message = self.event
            if message.peer_id != message.from_id:
                self.stop("group chats are not served")
            conv = await conversation_for(deps, "vk", message.from_id, incoming_of(message),
                                          message.ref_source)
            self.send({"conv": conv})

    return ConversationMiddleware


def labeler(deps: "Deps") -> BotLabeler:
    """One handler for every private message: the routes decide."""
    routes = deps.registry.routes
    labeler = BotLabeler()

    @labeler.private_message()
    async def on_message(message: Message, conv: Conversation, **_: Any) -> None:
        replies = await dispatch(conv, routes, refuse)
        if replies:
            await conv.say(*replies)

    labeler.message_view.register_middleware(conversation_middleware(deps))
    return labeler
