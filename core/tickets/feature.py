"""Questions to coordinators and the relayed answers."""

from __future__ import annotations

from core.tickets.payloads import AnswerTicket, AskCoordinator, CancelTicket, ListTickets
from core.kernel.conversation import Conversation
from core.kernel.menu import main_menu
from core.kernel.registry import CommandInfo, Feature
from core.kernel.routes import COORDINATOR, Command, FreeText, InState, Press, Route
from core.kernel.ui import Button, Keyboard, Reply
from core.tickets import service as tickets

BUTTON = COORDINATOR.refusing("screen")
TYPED = COORDINATOR.refusing(None)


async def _ask_button(conv: Conversation, src: str) -> Button:
    return tickets.ask_button(conv, src)


def screen(conv: Conversation) -> list[Reply]:
    if conv.person.state != "ticket:write" and not conv.access.coordinator:
        return [main_menu(conv)]  # no longer a coordinator: nothing of the question is shown
    key = "tickets.write" if conv.person.state == "ticket:write" else "tickets.answer_prompt"
    values = {} if key == "tickets.write" else {"id": conv.person.state_data.get("ticket"),
                                                 "question": "…"}
    return [Reply(conv.deps.texts.render(key, **values), Keyboard.of(
        [Button(conv.deps.texts.label("btn.cancel"), CancelTicket().dump())]),
        template=key)]


FEATURE = Feature(
    name="tickets",
    routes={"routes": [
        Route(Press(AskCoordinator), lambda conv, payload: tickets.ask(conv, payload.src),
              name="ask"),
        Route(Press(CancelTicket), tickets.cancel),
        Route((InState("ticket:write"), FreeText()),
              lambda conv: tickets.written(conv, conv.incoming.text), name="written"),
        Route(Press(AnswerTicket),
              lambda conv, payload: tickets.start_answer(conv, payload.id), BUTTON,
              name="start_answer"),
        Route((InState("ticket:answer"), FreeText()),
              lambda conv: tickets.answered(conv, conv.incoming.text), TYPED, name="answered"),
        Route(Press(ListTickets), tickets.list_open, BUTTON),
        Route(Command("cmd.tickets"), tickets.list_open, TYPED, name="list_typed"),
    ]},
    screens={"ticket": screen},
    privileged_states=("ticket:answer",),
    commands=[CommandInfo("questions", 90, TYPED, listed_only=True)],
    # the FAQ keeps the last question asked, so «Спросить координатора» sends it as is;
    # «Не получается» on an activation step: the button, the question asked, a problem passed on
    continuations={"tickets.remember_question": tickets.remember_question,
                   "tickets.ask_button": _ask_button, "tickets.ask": tickets.ask,
                   "tickets.open_ticket": tickets.open_ticket},
)
