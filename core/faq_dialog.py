"""The FAQ as a conversation: answers wherever a question arrives, topic menus, honest «не знаю».

FAQ answers are detours: they never change the person's state, so whatever flow they were in
continues with the next button press (the answer offers «Продолжить»). Navigation keyboards are
inline, attached to their message, so the flow's keyboard under the input field stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from core.access import NotAllowed, territory
from core.clock import unix
from core.privacy import mask_contacts
from core.conversation import Conversation
from core.faq import FaqBook, FaqError, FaqIndex, Match, load_faq, normalize
from core.payloads import Payload
from core.screens import current_screen
from core.ui import Button, Keyboard, Reply

log = logging.getLogger(__name__)
PAGE = 8  # questions per page: 8 + «Ещё» + «Все темы» = VK's 10 inline buttons
MISS_WINDOW_DAYS = 30


class FaqTopics(Payload):
    cmd: str = "faq.topics"


class FaqTopic(Payload):
    cmd: str = "faq.topic"
    t: str
    p: int = 0


class FaqShow(Payload):
    cmd: str = "faq.show"
    id: str


class Resume(Payload):
    """Back to where the person was before the detour."""
    cmd: str = "resume"


@dataclass
class FaqService:
    """The FAQ book and its index, built once at start and swapped whole on reload."""

    folder: Path
    book: FaqBook = field(init=False)
    index: FaqIndex = field(init=False)

    def __post_init__(self) -> None:
        self.book = load_faq(self.folder)
        self.index = FaqIndex.build(self.book)

    def reload(self) -> int:
        """Re-read the files; on an error the old FAQ stays and FaqError says what is wrong."""
        book = load_faq(self.folder)
        index = FaqIndex.build(book)
        self.book, self.index = book, index
        return len(book.entries)


def service(conv: Conversation) -> FaqService:
    return conv.deps.services["faq"]


def _in_flow(conv: Conversation) -> bool:
    return conv.person.state not in ("", "menu", "start:role")


def _nav_row(conv: Conversation) -> list[Button]:
    texts = conv.deps.texts
    row = [Button(texts.label("btn.faq_topics"), FaqTopics().dump())]
    if _in_flow(conv):
        row.append(Button(texts.label("btn.resume"), Resume().dump(), "primary"))
    return row


def _entry_button(conv: Conversation, entry_id: str) -> Button:
    entry = service(conv).book.get(entry_id)
    assert entry is not None
    return Button(entry.short, FaqShow(id=entry.id).dump())


def answer_entry(conv: Conversation, entry_id: str) -> list[Reply]:
    faq = service(conv)
    entry = faq.book.get(entry_id)
    if entry is None:  # an old button of an entry a methodist has since removed
        return [Reply(conv.deps.texts.render("faq.entry_gone"),
                      Keyboard.of(_nav_row(conv), inline=True), template="faq.entry_gone")]
    topic = faq.book.topic(entry.topic)
    text = conv.deps.texts.render("faq.answer", topic=topic.title if topic else "",
                                  title=entry.title, answer=faq.book.render(entry))
    related = [_entry_button(conv, rid) for rid in entry.related[:4] if faq.book.get(rid)]
    rows = [[b] for b in related] + [_nav_row(conv)]
    return [Reply(text, Keyboard.of(*rows, inline=True), template="faq.answer")]


async def after_answer(conv: Conversation, answer: list[Reply]) -> list[Reply]:
    """A newcomer who asked first is asked who they are in the same message."""
    from core.onboarding import with_role_choice

    return await with_role_choice(conv, answer)


def pairs(buttons: list[Button]) -> list[list[Button]]:
    """Two buttons a row: VK allows an inline keyboard only 6 rows."""
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


def topics_menu(conv: Conversation) -> list[Reply]:
    faq = service(conv)
    rows = pairs([Button(t.short, FaqTopic(t=t.id).dump()) for t in faq.book.topics[:9]])
    if _in_flow(conv):
        rows.append([Button(conv.deps.texts.label("btn.resume"), Resume().dump(), "primary")])
    return [Reply(conv.deps.texts.render("faq.topics"), Keyboard.of(*rows, inline=True),
                  template="faq.topics")]


def topic_page(conv: Conversation, topic_id: str, page: int) -> list[Reply]:
    faq = service(conv)
    topic = faq.book.topic(topic_id)
    if topic is None:
        return topics_menu(conv)
    entries = faq.book.by_topic(topic_id)
    pages = max(1, (len(entries) + PAGE - 1) // PAGE)
    page = min(max(page, 0), pages - 1)
    shown = entries[page * PAGE:(page + 1) * PAGE]
    rows = pairs([Button(e.short, FaqShow(id=e.id).dump()) for e in shown])
    nav = []
    if pages > 1:
        nav.append(Button(conv.deps.texts.label("btn.faq_more"),
                          FaqTopic(t=topic_id, p=(page + 1) % pages).dump()))
    nav.append(Button(conv.deps.texts.label("btn.faq_topics"), FaqTopics().dump()))
    rows.append(nav)
    return [Reply(conv.deps.texts.render("faq.topic", title=topic.title,
                                         questions=[e.title for e in shown]),
                  Keyboard.of(*rows, inline=True), template="faq.topic")]


def match(conv: Conversation, text: str) -> Match:
    return service(conv).index.match(text)


async def answer_question(conv: Conversation, found: Match) -> list[Reply]:
    """Free text: the answer when the match is confident, else an honest «не знаю»."""
    if found.entry is not None:
        return await after_answer(conv, answer_entry(conv, found.entry.id))
    return await dont_know(conv, found)


async def dont_know(conv: Conversation, found: Match) -> list[Reply]:
    from core.tickets import ask_button, remember_question

    async with conv.deps.db.transaction() as tx:
        municipality = await tx.tickets.get_municipality_of(conv.person.vk_id)
        await tx.tickets.upsert_miss(conv.incoming.text[:1000], " ".join(sorted(found.terms)),
                                     unix(conv.deps.clock), conv.person.vk_id, municipality)
    await remember_question(conv, conv.incoming.text)
    faq = service(conv)
    rows: list[list[Button]] = [[_entry_button(conv, s.entry.id)] for s in found.alternatives[:3]]
    rows.append([Button(t.short, FaqTopic(t=t.id).dump())
                 for t in (faq.book.topic(tid) for tid in found.topics[:2]) if t is not None])
    rows.append([ask_button(conv, "faq")])
    rows.append(_nav_row(conv))
    return [Reply(conv.deps.texts.render("faq.dont_know", suggestions=bool(found.alternatives)),
                  Keyboard.of(*rows, inline=True), template="faq.dont_know")]


async def resume(conv: Conversation) -> list[Reply]:
    return await current_screen(conv)


async def top_misses(conv: Conversation) -> list[Reply]:
    """Territory as everywhere (a municipal coordinator sees their municipality's questions);
    contact details people typed are masked: the list is for writing help entries."""
    scope = territory(conv.access).filter
    since = unix(conv.deps.clock) - MISS_WINDOW_DAYS * 24 * 3600
    async with conv.deps.db.read() as tx:
        misses = [(mask_contacts(q), n) for q, n in await tx.tickets.list_top_misses(since, scope)]
    return [Reply(conv.deps.texts.render("faq.misses", misses=misses, days=MISS_WINDOW_DAYS),
                  template="faq.misses")]


async def reload(conv: Conversation) -> list[Reply]:
    if not conv.access.bot_admin:
        raise NotAllowed("not a bot admin")
    try:
        count = service(conv).reload()
    except FaqError as exc:
        log.warning("FAQ reload refused: %s", exc)
        return [Reply(conv.deps.texts.render("faq.reload_failed", error=str(exc)[:3000]),
                      template="faq.reload_failed")]
    async with conv.deps.db.transaction() as tx:
        await tx.audit.upsert_entry(conv.person.vk_id, "faq.reload", {"entries": count},
                                    unix(conv.deps.clock))
    return [Reply(conv.deps.texts.render("faq.reloaded", count=count), template="faq.reloaded")]


def worth_matching(conv: Conversation, text: str) -> bool:
    """Words to look up (not emoji, digits or a lone letter)."""
    return any(len(w) > 1 and w.isalpha() for w in normalize(text).split())
