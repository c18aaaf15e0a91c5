"""What a person in a given state is looking at, to show again after a detour
(an FAQ answer, a bad input, an outdated button). One table, by state prefix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core import onboarding
from core.conversation import Conversation
from core.menu import main_menu
from core.ui import Reply

Screen = Callable[[Conversation], Awaitable[list[Reply]] | list[Reply]]


def _role(conv: Conversation) -> list[Reply]:
    return [onboarding.ask_role_screen(conv)]


def _menu(conv: Conversation) -> list[Reply]:
    return [main_menu(conv)]


def _ticket(conv: Conversation) -> list[Reply]:
    from core.tickets import CancelTicket
    from core.ui import Button, Keyboard

    key = "tickets.write" if conv.person.state == "ticket:write" else "tickets.answer_prompt"
    values = {} if key == "tickets.write" else {"id": conv.person.state_data.get("ticket"),
                                                 "question": "…"}
    return [Reply(conv.deps.texts.render(key, **values), Keyboard.of(
        [Button(conv.deps.texts.label("btn.cancel"), CancelTicket().dump())]), template=key)]


SCREENS: dict[str, Screen] = {
    "ticket": _ticket,
    "": _role,
    "start": _role,
    "menu": _menu,
}


async def current_screen(conv: Conversation) -> list[Reply]:
    prefix = conv.person.state.split(":", 1)[0]
    screen = SCREENS.get(prefix, _menu if conv.person.role else _role)
    result = screen(conv)
    if not isinstance(result, list):
        result = await result
    return result
