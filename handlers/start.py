"""First conversation: greeting and the role choice."""

from vkbottle.bot import BotLabeler, Message

from core import onboarding
from core.conversation import Conversation
from core.payloads import Start
from handlers.rules import Newcomer, PayloadIs

labeler = BotLabeler()


@labeler.private_message(PayloadIs(onboarding.PickRole))
async def on_start_role(message: Message, conv: Conversation, payload: onboarding.PickRole) -> None:
    await conv.say(*await onboarding.choose_role(conv, payload.role))


@labeler.private_message(PayloadIs(onboarding.AskRole))
async def on_start_change_role(message: Message, conv: Conversation) -> None:
    await conv.say(*await onboarding.ask_role(conv))


@labeler.private_message(PayloadIs(Start))
async def on_start_button(message: Message, conv: Conversation) -> None:
    if conv.person.role is None:
        await conv.say(*await onboarding.greet(conv))
    else:
        await conv.say(*await onboarding.welcome_back(conv))


@labeler.private_message(Newcomer(), blocking=True)
async def on_start_newcomer(message: Message, conv: Conversation) -> None:
    """Anything a newcomer writes first is answered with the greeting (FAQ comes first if
    the FAQ feature recognised a question; its labeler stands before this one)."""
    await conv.say(*await onboarding.greet(conv))
