"""Personal data: the consent buttons, «Мои данные», withdrawing consent and erasing."""

from vkbottle.bot import BotLabeler, Message

from core.personal_data import service as pd
from core.kernel.conversation import Conversation
from handlers.rules import PayloadIs, TextCommand

labeler = BotLabeler()


@labeler.private_message(PayloadIs(pd.GiveConsent))
async def on_personal_data_consent(message: Message, conv: Conversation,
                                   payload: pd.GiveConsent) -> None:
    await conv.say(*await pd.answer_consent(conv, payload.agree, payload.then))


@labeler.private_message(PayloadIs(pd.FullConsent))
async def on_personal_data_full_text(message: Message, conv: Conversation,
                                     payload: pd.FullConsent) -> None:
    await conv.say(*await pd.full_text(conv, payload.then))


@labeler.private_message(PayloadIs(pd.MyData))
async def on_personal_data_view(message: Message, conv: Conversation) -> None:
    await conv.say(*await pd.my_data(conv))


@labeler.private_message(PayloadIs(pd.EraseAsk))
async def on_personal_data_erase_ask(message: Message, conv: Conversation) -> None:
    await conv.say(*await pd.erase_ask(conv))


@labeler.private_message(PayloadIs(pd.EraseConfirm))
async def on_personal_data_erase(message: Message, conv: Conversation) -> None:
    await conv.say(*await pd.erase(conv))


@labeler.private_message(TextCommand("cmd.mydata"))
async def on_personal_data_view_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await pd.my_data(conv))


@labeler.private_message(TextCommand("cmd.forget"))
async def on_personal_data_erase_command(message: Message, conv: Conversation) -> None:
    await conv.say(*await pd.erase_ask(conv))
