"""First conversation: greeting and the role choice."""

from typing import Any

from vkbottle.bot import BotLabeler, Message

from core.onboarding import service as onboarding
from core.activation import staff as stf
from core.kernel.conversation import Conversation
from core.kernel.payloads import Start
from handlers.rules import ConversationRule, InState, Newcomer, PayloadIs, RoleTyped, TextCommand

labeler = BotLabeler()
# Separate, so that the FAQ (which answers a question asked as the very first message) can
# stand between the buttons and this catch-all.
newcomers = BotLabeler()


class InviteCodeTyped(ConversationRule):
    """An invitation code typed anywhere but inside someone's content (core.staff_registration)."""

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        found = await stf.typed_code(conv)
        return {"code": found} if found is not None else False


@labeler.private_message(InviteCodeTyped())
async def on_start_invite_code(message: Message, conv: Conversation,
                               code: tuple[str, Any]) -> None:
    """«C46E3KC» as the very first message, «мне дали код M5567AH» in the menu: join."""
    await conv.say(*await stf.code_typed(conv, *code))


@labeler.private_message(PayloadIs(onboarding.PickRole))
async def on_start_role(message: Message, conv: Conversation, payload: onboarding.PickRole) -> None:
    await conv.say(*await onboarding.choose_role(conv, payload.role))


@labeler.private_message(InState(onboarding.ASK_ROLE), RoleTyped())
async def on_start_role_typed(message: Message, conv: Conversation, role: str) -> None:
    await conv.say(*await onboarding.choose_role(conv, role))  # type: ignore[arg-type]


@labeler.private_message(PayloadIs(onboarding.AskRole))
async def on_start_change_role(message: Message, conv: Conversation) -> None:
    await conv.say(*await onboarding.ask_role(conv))


@labeler.private_message(TextCommand("cmd.start"))
@labeler.private_message(PayloadIs(Start))
async def on_start_button(message: Message, conv: Conversation) -> None:
    if conv.person.role is None:
        await conv.say(*await onboarding.greet(conv))
    else:
        await conv.say(*await onboarding.welcome_back(conv))


@newcomers.private_message(Newcomer())
async def on_start_newcomer(message: Message, conv: Conversation) -> None:
    """Anything a newcomer writes first is answered with the greeting (FAQ comes first if
    the FAQ feature recognised a question; its labeler stands before this one)."""
    await conv.say(*await onboarding.greet(conv))
