"""First conversation: greeting and the role choice."""

from vkbottle.bot import BotLabeler, Message

from core import onboarding
from core.conversation import Conversation
from core.payloads import Start
from handlers.rules import InState, Newcomer, PayloadIs, RoleTyped, TextCommand

labeler = BotLabeler()
# Separate, so that the FAQ (which answers a question asked as the very first message) can
# stand between the buttons and this catch-all.
newcomers = BotLabeler()


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
