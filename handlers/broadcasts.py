"""Coordinator broadcasts: the compose dialog, cancel and history; «не присылать рассылки»
for everyone. Refusals of coordinator-only commands and buttons live in handlers/admin.py."""

from vkbottle.bot import BotLabeler, Message

from core.broadcasts import service as broadcasts
from core.kernel.conversation import Conversation
from core.kernel.platform import IncomingFile
from handlers.admin import Cmd, Typed
from handlers.rules import InState, IsCoordinator, PayloadIs

labeler = BotLabeler()


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


# -- everyone --------------------------------------------------------------------------------
@labeler.private_message(PayloadIs(broadcasts.BroadcastsOff))
async def on_broadcasts_off(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.set_broadcasts(conv, False))


@labeler.private_message(Cmd("broadcasts_off"))
async def on_broadcasts_off_typed(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.set_broadcasts(conv, False))


@labeler.private_message(PayloadIs(broadcasts.BroadcastsOn))
async def on_broadcasts_on(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.set_broadcasts(conv, True))


@labeler.private_message(Cmd("broadcasts_on"))
async def on_broadcasts_on_typed(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.set_broadcasts(conv, True))


# -- coordinators ----------------------------------------------------------------------------
@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.NewBroadcast))
async def on_broadcasts_new(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.start(conv))


@labeler.private_message(IsCoordinator(), Cmd("broadcast"))
async def on_broadcasts_new_typed(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.start(conv))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.PickKind))
async def on_broadcasts_kind(message: Message, conv: Conversation,
                             payload: broadcasts.PickKind) -> None:
    await conv.say(*await broadcasts.pick_kind(conv, payload.kind))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.PickValue))
async def on_broadcasts_pick(message: Message, conv: Conversation,
                             payload: broadcasts.PickValue) -> None:
    await conv.say(*await broadcasts.pick_value(conv, payload.v))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.DifficultyPage))
async def on_broadcasts_difficulty_page(message: Message, conv: Conversation,
                                        payload: broadcasts.DifficultyPage) -> None:
    await conv.say(*await broadcasts.difficulty_page(conv, payload.p))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.EditText))
async def on_broadcasts_edit(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.edit_text(conv))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.SendNow))
async def on_broadcasts_now(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.send_now(conv))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.Later))
async def on_broadcasts_later(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.later(conv))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.SendAt))
async def on_broadcasts_at(message: Message, conv: Conversation,
                           payload: broadcasts.SendAt) -> None:
    await conv.say(*await broadcasts.send_at(conv, payload.t))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.QuitDraft))
async def on_broadcasts_quit(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.quit_draft(conv))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.CancelBroadcast))
async def on_broadcasts_cancel(message: Message, conv: Conversation,
                               payload: broadcasts.CancelBroadcast) -> None:
    await conv.say(*await broadcasts.cancel(conv, payload.id))


@labeler.private_message(IsCoordinator(), Cmd("cancel"))
async def on_broadcasts_cancel_typed(message: Message, conv: Conversation, args: str) -> None:
    await conv.say(*await broadcasts.cancel_typed(conv, args))


@labeler.private_message(IsCoordinator(), PayloadIs(broadcasts.ListBroadcasts))
async def on_broadcasts_history(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.history(conv))


@labeler.private_message(IsCoordinator(), Cmd("history"))
async def on_broadcasts_history_typed(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.history(conv))


@labeler.private_message(IsCoordinator(), InState("broadcast:"), Typed())
async def on_broadcasts_typed(message: Message, conv: Conversation) -> None:
    await conv.say(*await broadcasts.typed(conv, files_of(message)))
