"""The weekly difficulty survey: its buttons, and text typed while a question is open."""

from __future__ import annotations

from vkbottle.bot import BotLabeler, Message

from core.surveys import service as surveys
from core.kernel.conversation import Conversation
from handlers.rules import FreeText, InState, PayloadIs

labeler = BotLabeler()


@labeler.private_message(PayloadIs(surveys.SurveyOpen))
async def on_surveys_open(message: Message, conv: Conversation,
                          payload: surveys.SurveyOpen) -> None:
    await conv.say(*await surveys.open_survey(conv, payload.w, payload.again))


@labeler.private_message(PayloadIs(surveys.SurveyPick))
async def on_surveys_pick(message: Message, conv: Conversation,
                          payload: surveys.SurveyPick) -> None:
    await conv.say(*await surveys.pick(conv, payload.q, payload.opt))


@labeler.private_message(PayloadIs(surveys.SurveyNext))
async def on_surveys_next(message: Message, conv: Conversation) -> None:
    await conv.say(*await surveys.next_step(conv))


@labeler.private_message(PayloadIs(surveys.SurveySkip))
async def on_surveys_skip(message: Message, conv: Conversation) -> None:
    await conv.say(*await surveys.skip(conv))


@labeler.private_message(PayloadIs(surveys.SurveyLater))
async def on_surveys_later(message: Message, conv: Conversation) -> None:
    await conv.say(*await surveys.later(conv))


@labeler.private_message(InState(surveys.STATE + ":"), FreeText())
async def on_surveys_text(message: Message, conv: Conversation) -> None:
    await conv.say(*await surveys.typed(conv, conv.incoming.text))
