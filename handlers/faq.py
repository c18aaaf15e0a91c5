"""Questions and answers: buttons, free-text questions anywhere, the admin reload."""

from typing import Any

from vkbottle.bot import BotLabeler, Message

from core.faq import dialog as faq_dialog
from core.faq import learning as faq_learning
from core.kernel.conversation import Conversation
from handlers.rules import ConversationRule, IsBotAdmin, IsCoordinator, PayloadIs, TextCommand

labeler = BotLabeler()
questions = BotLabeler()


class Question(ConversationRule):
    """Typed text worth looking up. Newcomers are answered only when a question is understood
    (their «здравствуйте» is the start of onboarding); others also get small talk, «did you
    mean» and the honest «не знаю»."""

    async def check(self, event: Message, conv: Conversation) -> dict[str, Any] | bool:
        incoming = conv.incoming
        if incoming.payload is not None or incoming.bad_payload:
            return False
        if not faq_dialog.worth_matching(conv, incoming.text):
            return False
        found = faq_dialog.understood(conv, incoming.text)
        if found.kind not in ("answer", "parts") and conv.person.role is None:
            return False
        return {"found": found}


@labeler.private_message(PayloadIs(faq_dialog.FaqTopics))
async def on_faq_topics(message: Message, conv: Conversation) -> None:
    await conv.say(*faq_dialog.topics_menu(conv))


@labeler.private_message(PayloadIs(faq_dialog.FaqTopic))
async def on_faq_topic(message: Message, conv: Conversation, payload: faq_dialog.FaqTopic) -> None:
    await conv.say(*faq_dialog.topic_page(conv, payload.t, payload.p))


@labeler.private_message(PayloadIs(faq_dialog.FaqShow))
async def on_faq_show(message: Message, conv: Conversation, payload: faq_dialog.FaqShow) -> None:
    await conv.say(*faq_dialog.answer_entry(conv, payload.id))


@labeler.private_message(PayloadIs(faq_dialog.FaqMore))
async def on_faq_more(message: Message, conv: Conversation, payload: faq_dialog.FaqMore) -> None:
    await conv.say(*faq_dialog.details(conv, payload.id))


@labeler.private_message(IsCoordinator(), PayloadIs(faq_learning.LearnOffer))
async def on_learn_offer(message: Message, conv: Conversation,
                         payload: faq_learning.LearnOffer) -> None:
    await conv.say(*await faq_learning.choose(conv, payload.t))


@labeler.private_message(IsCoordinator(), PayloadIs(faq_learning.LearnPhrase))
async def on_learn_phrase(message: Message, conv: Conversation,
                          payload: faq_learning.LearnPhrase) -> None:
    await conv.say(*await faq_learning.add_phrasing(conv, payload.t, payload.id))


@labeler.private_message(IsCoordinator(), PayloadIs(faq_learning.LearnDraft))
async def on_learn_draft(message: Message, conv: Conversation,
                         payload: faq_learning.LearnDraft) -> None:
    await conv.say(*await faq_learning.add_draft(conv, payload.t))


@labeler.private_message(IsBotAdmin(), PayloadIs(faq_learning.DraftPublish))
async def on_learn_publish(message: Message, conv: Conversation,
                           payload: faq_learning.DraftPublish) -> None:
    await conv.say(*await faq_learning.publish(conv, payload.id))


@labeler.private_message(IsBotAdmin(), PayloadIs(faq_learning.DraftReject))
async def on_learn_reject(message: Message, conv: Conversation,
                          payload: faq_learning.DraftReject) -> None:
    await conv.say(*await faq_learning.reject(conv, payload.id))


@labeler.private_message(IsBotAdmin(), TextCommand("cmd.faq_drafts"))
async def on_learn_drafts(message: Message, conv: Conversation) -> None:
    await conv.say(*await faq_learning.list_drafts(conv))


@labeler.private_message(PayloadIs(faq_dialog.Resume))
async def on_faq_resume(message: Message, conv: Conversation) -> None:
    await conv.say(*await faq_dialog.resume(conv))


@labeler.private_message(IsCoordinator(), TextCommand("cmd.faq_misses"))
async def on_faq_misses(message: Message, conv: Conversation) -> None:
    await conv.say(*await faq_dialog.top_misses(conv))


@labeler.private_message(IsCoordinator(), PayloadIs(faq_dialog.FaqMisses))
async def on_faq_misses_button(message: Message, conv: Conversation) -> None:
    await conv.say(*await faq_dialog.top_misses(conv))


@labeler.private_message(IsBotAdmin(), TextCommand("cmd.faq_reload"))
async def on_faq_reload(message: Message, conv: Conversation) -> None:
    await conv.say(*await faq_dialog.reload(conv))


@labeler.private_message(IsBotAdmin(), PayloadIs(faq_dialog.FaqReload))
async def on_faq_reload_button(message: Message, conv: Conversation) -> None:
    await conv.say(*await faq_dialog.reload(conv))


@questions.private_message(Question())
async def on_faq_question(message: Message, conv: Conversation, found: Any) -> None:
    await conv.say(*await faq_dialog.answer_question(conv, found))
