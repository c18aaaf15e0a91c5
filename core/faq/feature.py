"""Questions and answers: topic buttons, free-text questions anywhere (late in the order, after
every flow had its chance), «Добавить в справку», the coordinators' misses and the reload."""

from __future__ import annotations

from core.faq import dialog as faq_dialog
from core.faq import learning as faq_learning
from core.faq.payloads import (DraftPublish, DraftReject, FaqMisses, FaqMore, FaqReload, FaqShow,
                               FaqTopic, FaqTopics, LearnDraft, LearnOffer, LearnPhrase, Resume)
from core.kernel.conversation import Conversation
from core.kernel.registry import CommandInfo, Feature, MenuEntry
from core.kernel.routes import BOT_ADMIN, COORDINATOR, Command, Press, Route, Test
from core.kernel.ui import Button

BUTTON = COORDINATOR.refusing("screen")
TYPED = COORDINATOR.refusing(None)       # «пропуски» from anyone else is a question
ADMIN_TYPED = BOT_ADMIN.refusing(None)


def question(conv: Conversation) -> object | None:
    """Typed text worth looking up. Newcomers are answered only when a question is understood
    (their «здравствуйте» is the start of onboarding); others also get small talk, «did you
    mean» and the honest «не знаю»."""
    incoming = conv.incoming
    if incoming.payload is not None or incoming.bad_payload:
        return None
    if not faq_dialog.worth_matching(conv, incoming.text):
        return None
    found = faq_dialog.understood(conv, incoming.text)
    if found.kind not in ("answer", "parts") and conv.person.role is None:
        return None
    return found


def _rows(conv: Conversation) -> list[list[Button]]:
    return [[Button(conv.deps.texts.label("btn.faq"), FaqTopics().dump(), "primary")]]


BUTTONS = [
    Route(Press(FaqTopics), faq_dialog.topics_menu, name="topics"),
    Route(Press(FaqTopic),
          lambda conv, payload: faq_dialog.topic_page(conv, payload.t, payload.p), name="topic"),
    Route(Press(FaqShow), lambda conv, payload: faq_dialog.answer_entry(conv, payload.id),
          name="show"),
    Route(Press(FaqMore), lambda conv, payload: faq_dialog.details(conv, payload.id),
          name="more"),
    Route(Press(LearnOffer),
          lambda conv, payload: faq_learning.choose(conv, payload.t), BUTTON, name="learn_offer"),
    Route(Press(LearnPhrase),
          lambda conv, payload: faq_learning.add_phrasing(conv, payload.t, payload.id), BUTTON,
          name="learn_phrase"),
    Route(Press(LearnDraft),
          lambda conv, payload: faq_learning.add_draft(conv, payload.t), BUTTON,
          name="learn_draft"),
    Route(Press(DraftPublish),
          lambda conv, payload: faq_learning.publish(conv, payload.id),
          BOT_ADMIN.refusing("screen"), name="draft_publish"),
    Route(Press(DraftReject),
          lambda conv, payload: faq_learning.reject(conv, payload.id),
          BOT_ADMIN.refusing("screen"), name="draft_reject"),
    Route(Command("cmd.faq_drafts"), faq_learning.list_drafts, ADMIN_TYPED, name="drafts_typed"),
    Route(Press(Resume), faq_dialog.resume, name="resume"),
    Route(Command("cmd.faq_misses"), faq_dialog.top_misses, TYPED, name="misses_typed"),
    Route(Press(FaqMisses), faq_dialog.top_misses, COORDINATOR, name="misses"),
    Route(Command("cmd.faq_reload"), faq_dialog.reload, ADMIN_TYPED, name="reload_typed"),
    Route(Press(FaqReload), faq_dialog.reload, BOT_ADMIN, name="reload"),
]

FEATURE = Feature(
    name="faq",
    routes={"buttons": BUTTONS,
            "questions": [Route(Test(question, name="found"), faq_dialog.answer_question,
                                name="question")]},
    menu=[MenuEntry(20, _rows)],
    commands=[CommandInfo("misses", 100, TYPED, listed_only=True),
              CommandInfo("reload_faq", 160, ADMIN_TYPED, listed_only=True),
              CommandInfo("faq_drafts", 170, ADMIN_TYPED, listed_only=True)],
)
