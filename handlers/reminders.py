"""Weekly reminders: the switch (buttons and typed commands), the consent after the role choice,
«Продолжить» under a reminder, the «Напоминания» screen."""

from __future__ import annotations

from typing import Any

from vkbottle.bot import BotLabeler, Message

from core.reminders import service as reminders
from core.kernel.conversation import Conversation
from handlers.rules import ConversationRule, PayloadIs

labeler = BotLabeler()


class ReminderCommand(ConversationRule):
    """«не напоминать» / «напоминать снова» / «напоминания» typed (words from the texts)."""

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        name = reminders.typed_command(conv)
        return {"name": name} if name else False


@labeler.private_message(PayloadIs(reminders.RemindOff))
async def on_reminders_off(message: Message, conv: Conversation) -> None:
    await conv.say(*await reminders.turn_off(conv))


@labeler.private_message(PayloadIs(reminders.RemindOn))
async def on_reminders_on(message: Message, conv: Conversation) -> None:
    await conv.say(*await reminders.turn_on(conv))


@labeler.private_message(PayloadIs(reminders.Subscribe))
async def on_reminders_subscribe(message: Message, conv: Conversation,
                                 payload: reminders.Subscribe) -> None:
    await conv.say(*await reminders.subscribe(conv, payload.yes))


@labeler.private_message(PayloadIs(reminders.RemindersOpen))
async def on_reminders_open(message: Message, conv: Conversation) -> None:
    await conv.say(*await reminders.settings_screen(conv))


@labeler.private_message(PayloadIs(reminders.RemindContinue))
async def on_reminders_continue(message: Message, conv: Conversation) -> None:
    await conv.say(*await reminders.continue_flow(conv))


@labeler.private_message(ReminderCommand())
async def on_reminders_command(message: Message, conv: Conversation, name: str) -> None:
    await conv.say(*await reminders.command(conv, name))
