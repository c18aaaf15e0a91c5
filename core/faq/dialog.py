"""The FAQ as a conversation: answers wherever a question arrives, topic menus, honest «не знаю».

FAQ answers are detours: they never change the person's state, so whatever flow they were in
continues with the next button press (the answer offers «Продолжить»). Navigation keyboards are
inline, attached to their message, so the flow's keyboard under the input field stays.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.kernel.access import for_bot_admins, for_coordinators, territory
from core.kernel.clock import unix
from core.kernel.privacy import mask_contacts
from core.kernel.conversation import Conversation
from core.faq.index import FaqBook, FaqError, FaqIndex, Match, load_faq, normalize
from core.faq.talk import SmallTalk, Understanding, load_smalltalk, understand
from core.faq.payloads import FaqMore, FaqShow, FaqTopic, FaqTopics, Resume
from core.kernel.screens import current_screen
from core.tickets.payloads import AskCoordinator
from core.kernel.ui import Button, Keyboard, Reply

log = logging.getLogger(__name__)
PAGE = 8  # questions per page: 8 + «Ещё» + «Все темы» = VK's 10 inline buttons
PARTS_ONE_MESSAGE = 1500  # several short answers go in one message up to this length
MISS_WINDOW_DAYS = 30
UNDERSTOOD_CACHE = 2048  # messages whose reading is kept (see FaqService.reload)
UNDERSTOOD_MAX_CHARS = 500  # longer messages are rare and read afresh
# Continuations of other features (core/kernel/registry.py):
REMEMBER_QUESTION = "tickets.remember_question"  # «Спросить координатора» sends it as asked
WITH_ROLE_CHOICE = "onboarding.with_role_choice"  # a newcomer's answer also asks «кто Вы?»


@dataclass
class FaqService:
    """The FAQ book, its index and the small-talk phrases, built once at start and swapped
    whole on reload. ``learned`` is the folder coordinators teach (core/faq/learning.py)."""

    folder: Path
    learned: Path | None = None
    book: FaqBook = field(init=False)
    index: FaqIndex = field(init=False)
    talk: SmallTalk = field(init=False)
    _remembered: Callable[[str], Understanding] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reload()

    def reload(self) -> int:
        """Re-read the files; on an error the old FAQ stays and FaqError says what is wrong."""
        book = load_faq(self.folder, self.learned)
        index = FaqIndex.build(book)
        talk = load_smalltalk(self.folder)
        # The same message gets the same reading while this index lives (a reload builds a
        # new cache): people ask the same few questions, newcomers after an invite all at once.
        remembered = functools.lru_cache(maxsize=UNDERSTOOD_CACHE)(
            functools.partial(understand, index, talk))
        self.book, self.index, self.talk, self._remembered = book, index, talk, remembered
        return len(book.entries)

    def understand(self, text: str) -> Understanding:
        if len(text) > UNDERSTOOD_MAX_CHARS:
            return understand(self.index, self.talk, text)
        return self._remembered(text)


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
    """An entry's button, labelled in the asker's role's words when it has them."""
    book = service(conv).book
    entry = book.get(entry_id)
    assert entry is not None
    return Button(book.label(entry, _asker(conv)), FaqShow(id=entry.id).dump())


def _gone(conv: Conversation) -> list[Reply]:
    """An old button of an entry a methodist has since removed."""
    return [Reply(conv.deps.texts.render("faq.entry_gone"),
                  Keyboard.of(_nav_row(conv), inline=True), template="faq.entry_gone")]


def _more_button(conv: Conversation, entry_id: str, label: str | None = None) -> Button:
    return Button(label or conv.deps.texts.label("btn.faq_details"), FaqMore(id=entry_id).dump())


def _ask_row(conv: Conversation) -> list[Button]:
    """«Спросить координатора»: the tickets feature takes the question from there."""
    return [Button(conv.deps.texts.label("btn.ask_coordinator"), AskCoordinator(src="faq").dump(),
                   "primary")]


def _asker(conv: Conversation) -> str | None:
    """Whose words the short answer is in: the person's role (none for a newcomer)."""
    return conv.person.role


def answer_entry(conv: Conversation, entry_id: str) -> list[Reply]:
    """The short direct answer first; details behind «Подробнее», sources in one line."""
    faq = service(conv)
    entry = faq.book.get(entry_id)
    if entry is None:
        return _gone(conv)
    text = conv.deps.texts.render("faq.answer", brief=faq.book.render_brief(entry, _asker(conv)),
                                  note=entry.note or "", sources=faq.book.sources_of(entry),
                                  learned=entry.learned)
    rows: list[list[Button]] = [[_more_button(conv, entry.id)]]
    if entry.offer_coordinator:
        rows.append(_ask_row(conv))
    rows += pairs([_entry_button(conv, e.id) for e in faq.book.related_of(entry, _asker(conv))])
    rows.append(_nav_row(conv))
    return [Reply(text, Keyboard.of(*rows, inline=True), template="faq.answer")]


def details(conv: Conversation, entry_id: str) -> list[Reply]:
    faq = service(conv)
    entry = faq.book.get(entry_id)
    if entry is None:
        return _gone(conv)
    topic = faq.book.topic(entry.topic)
    text = conv.deps.texts.render("faq.details",
                                  topic=faq.book.title_of(topic, _asker(conv)) if topic else "",
                                  title=faq.book.title_of(entry, _asker(conv)),
                                  answer=faq.book.render(entry),
                                  note=entry.note or "", sources=faq.book.sources_of(entry),
                                  learned=entry.learned)
    rows: list[list[Button]] = []
    if entry.offer_coordinator:
        rows.append(_ask_row(conv))
    rows += [[_entry_button(conv, e.id)] for e in faq.book.related_of(entry, _asker(conv))]
    rows.append(_nav_row(conv))
    return [Reply(text, Keyboard.of(*rows, inline=True), template="faq.details")]


def answer_parts(conv: Conversation, entry_ids: list[str]) -> list[Reply]:
    """Several questions in one message: one short answer each, in one message when it fits."""
    faq = service(conv)
    entries = [e for e in (faq.book.get(i) for i in entry_ids) if e is not None]
    role = _asker(conv)
    items = [{"title": faq.book.title_of(e, role), "brief": faq.book.render_brief(e, role),
              "learned": e.learned} for e in entries]
    sources = list(dict.fromkeys(t for e in entries for t in faq.book.sources_of(e)))
    text = conv.deps.texts.render("faq.parts", items=items, sources=sources)
    rows = pairs([_more_button(conv, e.id, faq.book.label(e, role)) for e in entries])
    rows.append(_nav_row(conv))
    if len(text) <= PARTS_ONE_MESSAGE:
        return [Reply(text, Keyboard.of(*rows, inline=True), template="faq.parts")]
    return [reply for e in entries for reply in answer_entry(conv, e.id)]


async def after_answer(conv: Conversation, answer: list[Reply]) -> list[Reply]:
    """A newcomer who asked first is asked who they are in the same message."""
    return await conv.deps.registry.continuation(WITH_ROLE_CHOICE)(conv, answer)


def pairs(buttons: list[Button]) -> list[list[Button]]:
    """Two buttons a row: VK allows an inline keyboard only 6 rows."""
    return [buttons[i:i + 2] for i in range(0, len(buttons), 2)]


def topics_menu(conv: Conversation) -> list[Reply]:
    faq = service(conv)
    rows = pairs([Button(faq.book.label(t, _asker(conv)), FaqTopic(t=t.id).dump())
                  for t in faq.book.topics[:9]])
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
    role = _asker(conv)
    rows = pairs([Button(faq.book.label(e, role), FaqShow(id=e.id).dump()) for e in shown])
    nav = []
    if pages > 1:
        nav.append(Button(conv.deps.texts.label("btn.faq_more"),
                          FaqTopic(t=topic_id, p=(page + 1) % pages).dump()))
    nav.append(Button(conv.deps.texts.label("btn.faq_topics"), FaqTopics().dump()))
    rows.append(nav)
    return [Reply(conv.deps.texts.render("faq.topic", title=faq.book.title_of(topic, role),
                                         questions=[faq.book.title_of(e, role)
                                                    for e in shown]),
                  Keyboard.of(*rows, inline=True), template="faq.topic")]


def match(conv: Conversation, text: str) -> Match:
    return service(conv).index.match(text)


def understood(conv: Conversation, text: str) -> Understanding:
    return service(conv).understand(text)


async def answer_question(conv: Conversation, found: Understanding) -> list[Reply]:
    """Free text: small talk, the answer(s), «did you mean» or the honest «не знаю»."""
    if found.kind == "talk":
        return await small_talk(conv, found.talk or "ask")
    if found.kind in ("answer", "parts"):
        # Read with the index of the moment; a reload since may have removed an entry.
        book = service(conv).book
        ids = [i for i in found.entry_ids if i in book.entries] or found.entry_ids[:1]
        if len(ids) > 1:
            replies = answer_parts(conv, ids)
        else:
            replies = answer_entry(conv, ids[0])
        if any(e.offer_coordinator for e in (book.get(i) for i in ids) if e is not None):
            await conv.deps.registry.continuation(REMEMBER_QUESTION)(conv, conv.incoming.text)
        return await after_answer(conv, replies)
    assert found.best is not None
    return await dont_know(conv, found.best, suggest=found.kind == "suggest", guess=found.guess)


async def small_talk(conv: Conversation, kind: str) -> list[Reply]:
    """A brief polite reply from content; never logged as an unanswered question."""
    rows: list[list[Button]] = []
    if kind in ("human", "wrong"):
        rows.append(_ask_row(conv))
    rows.append(_nav_row(conv))
    key = f"talk.{kind}"
    return [Reply(conv.deps.texts.render(key), Keyboard.of(*rows, inline=True), template=key)]


async def dont_know(conv: Conversation, found: Match, suggest: bool = False,
                    guess: str | None = None) -> list[Reply]:
    question = conv.incoming.text.strip()
    async with conv.deps.db.transaction() as tx:
        municipality = await tx.tickets.get_municipality_of(conv.person.vk_id)
        await tx.tickets.insert_miss(question[:1000], " ".join(sorted(found.terms)),
                                     unix(conv.deps.clock), conv.person.vk_id, municipality)
    await conv.deps.registry.continuation(REMEMBER_QUESTION)(conv, question)
    faq = service(conv)
    # The candidates were found before the awaits above: a reload meanwhile may have removed one.
    shown = tuple(s for s in found.alternatives[:3] if faq.book.get(s.entry.id) is not None
                  ) if suggest else ()
    # Not sure, but a fair guess (core/faq/talk.py ``fair_guess``): its short answer comes
    # first, plainly marked as a guess, so a person whose question it is needs no tap; the
    # other candidates stay as buttons.
    guessed = faq.book.get(guess) if guess and shown and shown[0].entry.id == guess else None
    rows: list[list[Button]] = [[_more_button(conv, guessed.id)]] if guessed else []
    rows += [[_entry_button(conv, s.entry.id)] for s in (shown[1:] if guessed else shown)]
    rows.append([Button(faq.book.label(t, _asker(conv)), FaqTopic(t=t.id).dump())
                 for t in (faq.book.topic(tid) for tid in found.topics[:2]) if t is not None])
    rows = [r for r in rows if r]
    rows.append(_ask_row(conv))
    rows.append(_nav_row(conv))
    keyboard = Keyboard.of(*rows, inline=True)
    if guessed is not None:
        role = _asker(conv)
        text = conv.deps.texts.render("faq.best_guess", title=faq.book.title_of(guessed, role),
                                      brief=faq.book.render_brief(guessed, role),
                                      sources=faq.book.sources_of(guessed),
                                      learned=guessed.learned)
        return [Reply(text, keyboard, template="faq.best_guess")]
    key = "faq.did_you_mean" if shown else "faq.dont_know"
    return [Reply(conv.deps.texts.render(key), keyboard, template=key)]


async def resume(conv: Conversation) -> list[Reply]:
    return await current_screen(conv)


@for_coordinators
async def top_misses(conv: Conversation) -> list[Reply]:
    """Territory as everywhere (a municipal coordinator sees their municipality's questions);
    contact details people typed are masked: the list is for writing help entries."""
    scope = territory(conv.access).filter
    since = unix(conv.deps.clock) - MISS_WINDOW_DAYS * 24 * 3600
    async with conv.deps.db.read() as tx:
        misses = [(mask_contacts(q), n) for q, n in await tx.tickets.list_top_misses(since, scope)]
    return [Reply(conv.deps.texts.render("faq.misses", misses=misses, days=MISS_WINDOW_DAYS),
                  template="faq.misses")]


@for_bot_admins
async def reload(conv: Conversation) -> list[Reply]:
    try:
        count = service(conv).reload()
    except FaqError as exc:
        log.warning("FAQ reload refused: %s", exc.for_log())
        return [Reply(conv.deps.texts.render("faq.reload_failed", error=str(exc)[:3000]),
                      template="faq.reload_failed")]
    async with conv.deps.db.transaction() as tx:
        await tx.audit.insert_entry(conv.person.vk_id, "faq.reload", {"entries": count},
                                    unix(conv.deps.clock))
    return [Reply(conv.deps.texts.render("faq.reloaded", count=count), template="faq.reloaded")]


def worth_matching(conv: Conversation, text: str) -> bool:
    """Words to look up (not emoji, digits or a lone letter)."""
    return any(len(w) > 1 and w.isalpha() for w in normalize(text).split())
