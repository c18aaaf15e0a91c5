"""The FAQ learns from its coordinators: «Добавить в справку» under an answered question.

When a coordinator has answered a forwarded question (core/tickets/service.py), they may add it to the
FAQ in one of two ways:

* as a new phrasing of an existing entry (they pick among the entries closest to the question):
  the phrasing is appended to ``phrasings.yaml`` in the learned folder and the index is rebuilt
  at once, so the next person asking the same way gets that entry's answer;
* as a draft entry (their answer becomes the answer): a file ``drafts/<id>.md`` is written,
  validated, and bot admins are told; an admin publishes it (moved to ``entries/``, loaded with
  the FAQ) or rejects it (deleted).

The learned folder (``content.learned_dir``, by default ``faq_learned`` next to the database) is
data, like the database: it survives restarts and updates of the packaged content. What people
type stays data: learned answers are shown as written, never rendered as templates. Rights are
checked here, in the service: only a coordinator who may see the ticket adds it; only a bot admin
publishes or rejects.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import yaml

from core.kernel.access import for_bot_admins, for_coordinators
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.faq.index import (BRIEF_MAX, LABEL_MAX, LEARNED_ENTRIES, LEARNED_PHRASINGS, TITLE_MAX,
                      FaqError, LearnedEntry, parse_entry)
from core.faq.dialog import service
from core.kernel.outgoing import Outgoing
from core.faq.payloads import DraftPublish, DraftReject, FaqShow, LearnDraft, LearnPhrase
from core.kernel.privacy import mask_contacts
from core.kernel.screens import current_screen
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from core.kernel.untrusted import unlinked
from core.kernel.yamltext import load_yaml

log = logging.getLogger(__name__)
DRAFTS = "drafts"
CHOICES = 3  # entries offered to attach the phrasing to


def learned_folder(conv: Conversation) -> Path:
    folder = service(conv).learned
    assert folder is not None, "the FAQ service is built with a learned folder"
    return folder


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, path)


def _not_allowed(conv: Conversation) -> list[Reply]:
    return [Reply(conv.deps.texts.render("input.not_allowed"), template="input.not_allowed")]


async def _answered_ticket(conv: Conversation, ticket_id: int):  # -> Ticket | None
    """The ticket if this coordinator may see it and it has an answer; None otherwise."""
    if not conv.access.coordinator:
        return None
    async with conv.deps.db.read() as tx:
        ticket = await tx.tickets.get_ticket(ticket_id)
    if ticket is None or ticket.erased or ticket.status == "open" or not ticket.answer:
        return None
    if not conv.access.scope.sees(ticket.municipality_id):
        return None
    return ticket


@for_coordinators
async def choose(conv: Conversation, ticket_id: int) -> list[Reply]:
    ticket = await _answered_ticket(conv, ticket_id)
    if ticket is None:
        return _not_allowed(conv)
    found = service(conv).index.match(ticket.question)
    candidates = ([found.entry] if found.entry else []) + [s.entry for s in found.alternatives]
    texts = conv.deps.texts
    rows = [[Button(e.short, LearnPhrase(t=ticket_id, id=e.id).dump())]
            for e in candidates[:CHOICES]]
    rows.append([Button(texts.label("btn.learn_draft"), LearnDraft(t=ticket_id).dump())])
    return [Reply(texts.render("learn.choose", question=ticket.question,
                               titles=[e.title for e in candidates[:CHOICES]]),
                  Keyboard.of(*rows, inline=True), template="learn.choose")]


def _reload(conv: Conversation) -> str | None:
    """Rebuild the FAQ with what was learned; the error text when the files do not load."""
    try:
        service(conv).reload()
    except FaqError as exc:
        log.warning("learned FAQ content refused: %s", exc.for_log())
        return str(exc)
    return None


@for_coordinators
async def add_phrasing(conv: Conversation, ticket_id: int, entry_id: str) -> list[Reply]:
    ticket = await _answered_ticket(conv, ticket_id)
    entry = service(conv).book.get(entry_id)
    if ticket is None or entry is None:
        return _not_allowed(conv)
    path = learned_folder(conv) / LEARNED_PHRASINGS
    data = load_yaml(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data = data if isinstance(data, dict) else {}
    question = _public(ticket.question)[:TITLE_MAX * 3]
    phrasings = [p for p in data.get(entry_id, []) if isinstance(p, str)]
    if question.casefold() not in {p.casefold() for p in (*phrasings, *entry.phrasings)}:
        phrasings.append(question)
    data[entry_id] = phrasings
    _write_atomically(path, yaml.safe_dump(data, allow_unicode=True, sort_keys=True))
    error = _reload(conv)
    if error is not None:
        return [Reply(conv.deps.texts.render("learn.failed", error=error[:1500]),
                      template="learn.failed")]
    async with conv.deps.db.transaction() as tx:
        await tx.audit.insert_entry(conv.person.vk_id, "faq.learn_phrasing",
                                    {"ticket": ticket_id, "entry": entry_id}, unix(conv.deps.clock))
    return prefixed(conv.deps.texts.render("learn.phrasing_added", title=entry.title),
                    await current_screen(conv))


def _public(question: str) -> str:
    """A person's question as it may stand in the FAQ that everyone reads: on one line, without
    their contacts or live VK markup (the asker's identity never reaches content files)."""
    return " ".join(unlinked(mask_contacts(question)).split())


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@for_coordinators
async def add_draft(conv: Conversation, ticket_id: int) -> list[Reply]:
    ticket = await _answered_ticket(conv, ticket_id)
    if ticket is None:
        return _not_allowed(conv)
    faq = service(conv)
    question = _public(ticket.question)
    found = faq.index.match(question)
    near = ([found.entry] if found.entry else []) + [s.entry for s in found.alternatives]
    topic = near[0].topic if near else faq.book.topics[0].id
    entry_id = f"learned-{ticket_id}"
    front = {
        "id": entry_id,
        "topic": topic,
        "title": _cut(question, TITLE_MAX),
        "short": _cut(question, LABEL_MAX),
        "brief": _cut(ticket.answer, BRIEF_MAX),
        "phrasings": [question],
        "related": [e.id for e in near[:2]],
    }
    text = "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---\n" \
        + ticket.answer.strip() + "\n"
    path = learned_folder(conv) / DRAFTS / f"{entry_id}.md"
    errors: list[str] = []
    _write_atomically(path, text)
    if parse_entry(path, errors, LearnedEntry) is None:
        path.unlink()
        return [Reply(conv.deps.texts.render("learn.failed", error="\n".join(errors)[:1500]),
                      template="learn.failed")]
    async with conv.deps.db.transaction() as tx:
        await tx.audit.insert_entry(conv.person.vk_id, "faq.learn_draft",
                                    {"ticket": ticket_id, "entry": entry_id}, unix(conv.deps.clock))
    notice = draft_reply(conv, entry_id, front["title"], ticket.answer)
    admins = sorted(set(conv.deps.settings.access.admins) - {conv.person.vk_id})
    await conv.deps.messenger.send(
        [Outgoing(a, notice, "notice", f"faq-draft:{entry_id}:new") for a in admins])
    return prefixed(conv.deps.texts.render("learn.draft_saved", title=front["title"]),
                    await current_screen(conv))


def draft_reply(conv: Conversation, entry_id: str, title: str, answer: str) -> Reply:
    texts = conv.deps.texts
    return Reply(texts.render("learn.draft", id=entry_id, title=title, answer=answer[:1500]),
                 Keyboard.of([Button(texts.label("btn.learn_publish"),
                                     DraftPublish(id=entry_id).dump(), "positive"),
                              Button(texts.label("btn.learn_reject"),
                                     DraftReject(id=entry_id).dump(), "negative")], inline=True),
                 template="learn.draft")


def _drafts(conv: Conversation) -> list[Path]:
    return sorted((learned_folder(conv) / DRAFTS).glob("learned-*.md"))


@for_bot_admins
async def list_drafts(conv: Conversation) -> list[Reply]:
    replies = []
    for path in _drafts(conv)[:10]:
        entry = parse_entry(path, [], LearnedEntry)
        if entry is not None:
            replies.append(draft_reply(conv, entry.id, entry.title, entry.answer))
    if not replies:
        return [Reply(conv.deps.texts.render("learn.no_drafts"), template="learn.no_drafts")]
    return replies


def _draft_path(conv: Conversation, entry_id: str) -> Path | None:
    path = learned_folder(conv) / DRAFTS / f"{entry_id}.md"
    # The id comes from a button: only a file of the drafts folder, by its exact name.
    return path if path in _drafts(conv) else None


@for_bot_admins
async def publish(conv: Conversation, entry_id: str) -> list[Reply]:
    path = _draft_path(conv, entry_id)
    if path is None:
        return [Reply(conv.deps.texts.render("learn.draft_gone"), template="learn.draft_gone")]
    target = learned_folder(conv) / LEARNED_ENTRIES / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    error = _reload(conv)
    if error is not None:
        os.replace(target, path)
        return [Reply(conv.deps.texts.render("learn.failed", error=error[:1500]),
                      template="learn.failed")]
    async with conv.deps.db.transaction() as tx:
        await tx.audit.insert_entry(conv.person.vk_id, "faq.publish", {"entry": entry_id},
                                    unix(conv.deps.clock))
    entry = service(conv).book.get(entry_id)
    rows = [[Button(entry.short, FaqShow(id=entry.id).dump())]] if entry else []
    return [Reply(conv.deps.texts.render("learn.published"), Keyboard.of(*rows, inline=True),
                  template="learn.published")]


@for_bot_admins
async def reject(conv: Conversation, entry_id: str) -> list[Reply]:
    path = _draft_path(conv, entry_id)
    if path is None:
        return [Reply(conv.deps.texts.render("learn.draft_gone"), template="learn.draft_gone")]
    path.unlink()
    async with conv.deps.db.transaction() as tx:
        await tx.audit.insert_entry(conv.person.vk_id, "faq.reject", {"entry": entry_id},
                                    unix(conv.deps.clock))
    return [Reply(conv.deps.texts.render("learn.rejected"), template="learn.rejected")]
