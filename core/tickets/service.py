"""Questions passed to a coordinator and their answers relayed back.

A person's question (from the FAQ fallback or «Не получается» in a step) becomes a ticket; every
coordinator who sees the person's municipality gets it with an «Ответить» button; the first
answer is relayed to the person and the others are told it is answered.

States: "ticket:write" (the person types the question), "ticket:answer" (a coordinator types
the answer; state_data["ticket"] = id).
"""

from __future__ import annotations

from core.faq.payloads import LearnOffer
from core.kernel.access import for_coordinators, territory
from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.outgoing import Outgoing
from core.kernel.people import who
from core.kernel.screens import current_screen
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from core.kernel.untrusted import relayed
from core.tickets.payloads import AnswerTicket, AskCoordinator, CancelTicket

QUESTION_MAX = 2000


def ask_button(conv: Conversation, src: str) -> Button:
    return Button(conv.deps.texts.label("btn.ask_coordinator"), AskCoordinator(src=src).dump(),
                  "primary")


async def remember_question(conv: Conversation, question: str) -> None:
    """Keep the last question a person asked, so «Спросить координатора» can send it as is."""
    data = dict(conv.person.state_data)
    data["question"] = question[:QUESTION_MAX]
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, conv.person.state, data, unix(conv.deps.clock))


async def ask(conv: Conversation, src: str) -> list[Reply]:
    question = conv.person.state_data.get("question")
    if question and src == "faq":
        return await open_ticket(conv, src, question)
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(
            conv.person.vk_id, "ticket:write",
            {"src": src, "back": conv.person.state, "back_data": conv.person.state_data},
            unix(conv.deps.clock))
    return [Reply(conv.deps.texts.render("tickets.write"), Keyboard.of(
        [Button(conv.deps.texts.label("btn.cancel"), CancelTicket().dump())]),
        template="tickets.write")]


async def _restore(conv: Conversation) -> None:
    """Return the person to the state they were in before writing to a coordinator."""
    data = conv.person.state_data
    back = data.get("back", "menu")
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, back, data.get("back_data", {}),
                                    unix(conv.deps.clock))
        person = await tx.users.get_user(conv.person.vk_id)
    assert person is not None
    conv.person = person


async def cancel(conv: Conversation) -> list[Reply]:
    await _restore(conv)
    return prefixed(conv.deps.texts.render("tickets.cancelled"), await current_screen(conv))


async def written(conv: Conversation, text: str) -> list[Reply]:
    """The person typed their question in state ticket:write."""
    src = conv.person.state_data.get("src", "faq")
    await _restore(conv)
    return await open_ticket(conv, src, text)


async def open_ticket(conv: Conversation, source: str, question: str) -> list[Reply]:
    deps = conv.deps
    question = question.strip()[:QUESTION_MAX]
    async with deps.db.transaction() as tx:
        municipality = await tx.tickets.get_municipality_of(conv.person.vk_id)
        ticket = await tx.tickets.insert_ticket(conv.person.vk_id, source, question, municipality,
                                                unix(deps.clock))
        coordinators = set(await tx.tickets.list_coordinators(municipality))
        if conv.person.state_data.get("question"):
            data = {k: v for k, v in conv.person.state_data.items() if k != "question"}
            await tx.users.update_state(conv.person.vk_id, conv.person.state, data,
                                        unix(deps.clock))
        place = ""
        if municipality is not None:
            found = await tx.territory.get_municipality(municipality)
            place = found.name if found else ""
    coordinators |= set(deps.settings.access.coordinators) | set(deps.settings.access.admins)
    coordinators.discard(conv.person.vk_id)
    author = await who(deps, conv.person.vk_id)
    notice = Reply(
        deps.texts.render("tickets.to_coordinator", id=ticket.id, question=relayed(question),
                          who=deps.texts.render("people.card", **author.values(deps.texts)),
                          has_org=bool(author.org), source=source, place=place),
        Keyboard.of([Button(deps.texts.label("btn.answer_ticket"),
                            AnswerTicket(id=ticket.id).dump(), "primary")], inline=True),
        template="tickets.to_coordinator")
    await deps.messenger.send([Outgoing(c, notice, "notice", f"ticket:{ticket.id}:new",
                                        about=conv.person.vk_id)
                               for c in sorted(coordinators)])
    text = deps.texts.render("tickets.sent", id=ticket.id)
    return prefixed(text, await current_screen(conv))


@for_coordinators
async def start_answer(conv: Conversation, ticket_id: int) -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        ticket = await tx.tickets.get_ticket(ticket_id)
        if ticket is None or not _visible(conv, ticket.municipality_id):
            return [Reply(conv.deps.texts.render("input.not_allowed"), template="input.not_allowed")]
        if ticket.erased:
            return [_erased(conv, ticket.id)]
        if ticket.status != "open":
            return [Reply(conv.deps.texts.render("tickets.already_answered", id=ticket.id),
                          template="tickets.already_answered")]
        await tx.users.update_state(
            conv.person.vk_id, "ticket:answer",
            {"ticket": ticket.id, "back": conv.person.state, "back_data": conv.person.state_data},
            unix(conv.deps.clock))
    return [Reply(conv.deps.texts.render("tickets.answer_prompt", id=ticket.id,
                                         question=relayed(ticket.question)),
                  Keyboard.of([Button(conv.deps.texts.label("btn.cancel"), CancelTicket().dump())]),
                  template="tickets.answer_prompt")]


def _erased(conv: Conversation, ticket_id: int) -> Reply:
    return Reply(conv.deps.texts.render("tickets.erased", id=ticket_id), template="tickets.erased")


def _visible(conv: Conversation, municipality_id: int | None) -> bool:
    return territory(conv.access).sees(municipality_id)


@for_coordinators
async def answered(conv: Conversation, text: str) -> list[Reply]:
    """A coordinator typed the answer in state ticket:answer."""
    deps = conv.deps
    ticket_id = int(conv.person.state_data.get("ticket", 0))
    await _restore(conv)
    async with deps.db.transaction() as tx:
        ticket = await tx.tickets.get_ticket(ticket_id)
        if ticket is None or not _visible(conv, ticket.municipality_id):
            return [Reply(deps.texts.render("input.not_allowed"), template="input.not_allowed")]
        first = not ticket.erased and await tx.tickets.update_answer(
            ticket_id, text.strip()[:QUESTION_MAX], conv.person.vk_id, unix(deps.clock))
        if first:
            await tx.audit.insert_entry(
                conv.person.vk_id, "ticket.answer",
                {"ticket": ticket_id, "municipality_id": ticket.municipality_id}, unix(deps.clock))
    # Screens are shown after the transaction: they read, and the writer must not wait on them.
    if ticket.erased:
        return prefixed(_erased(conv, ticket_id).text, await current_screen(conv))
    if not first:
        return [Reply(deps.texts.render("tickets.already_answered", id=ticket_id),
                      template="tickets.already_answered")]
    relay = Reply(deps.texts.render("tickets.answer_to_person", question=relayed(ticket.question),
                                    answer=relayed(text, QUESTION_MAX, lines=True)),
                  template="tickets.answer_to_person")
    [delivery] = await deps.messenger.send(
        [Outgoing(ticket.vk_id, relay, "notice", f"ticket:{ticket_id}:answer")])
    key = "tickets.relayed" if delivery.status == "delivered" else "tickets.relay_failed"
    return [*prefixed(deps.texts.render(key, id=ticket_id), await current_screen(conv)),
            _learn_offer(conv, ticket_id)]


def _learn_offer(conv: Conversation, ticket_id: int) -> Reply:
    """«Добавить в справку»: the FAQ learns from the answer (core/faq/learning.py)."""
    texts = conv.deps.texts
    return Reply(texts.render("learn.offer"), Keyboard.of(
        [Button(texts.label("btn.learn_offer"), LearnOffer(t=ticket_id).dump(), "primary")],
        inline=True), template="learn.offer")


@for_coordinators
async def list_open(conv: Conversation) -> list[Reply]:
    deps = conv.deps
    async with deps.db.read() as tx:
        tickets = await tx.tickets.list_open(territory(conv.access).filter)
    if not tickets:
        return [Reply(deps.texts.render("tickets.none_open"), template="tickets.none_open")]
    buttons = [Button(deps.texts.label("btn.answer_ticket_n", id=t.id), AnswerTicket(id=t.id).dump())
               for t in tickets[:10]]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]  # VK: ≤ 6 inline rows, 10 buttons
    return [Reply(deps.texts.render("tickets.open_list", tickets=tickets),
                  Keyboard.of(*rows, inline=True), template="tickets.open_list")]
