"""Last in the chain: whatever no feature took. Garbage gets a polite answer and the current
screen again, so nothing a person did is lost and they always see what they can do next."""

from vkbottle.bot import BotLabeler, Message

from core.fallback import service as fallback
from core.kernel.conversation import Conversation

labeler = BotLabeler()


@labeler.private_message()
async def on_fallback_message(message: Message, conv: Conversation) -> None:
    await conv.say(*await fallback.answer(conv))
