"""What a person in a given state is looking at, to show again after a detour
(an FAQ answer, a bad input, an outdated button). One table, by state prefix."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from core.onboarding import service as onboarding
from core.kernel.conversation import Conversation
from core.kernel.menu import main_menu, menu_keyboard
from core.kernel.payloads import BadPayload, Payload, parse_payload
from core.kernel.ui import LABEL_MAX, Reply

Screen = Callable[[Conversation], Awaitable[list[Reply]] | list[Reply]]


def _role(conv: Conversation) -> list[Reply]:
    return [onboarding.ask_role_screen(conv)]


def _menu(conv: Conversation) -> list[Reply]:
    return [main_menu(conv)]


def _ticket(conv: Conversation) -> list[Reply]:
    from core.tickets.service import CancelTicket
    from core.kernel.ui import Button, Keyboard

    if conv.person.state != "ticket:write" and not conv.access.coordinator:
        return [main_menu(conv)]  # no longer a coordinator: nothing of the question is shown
    key = "tickets.write" if conv.person.state == "ticket:write" else "tickets.answer_prompt"
    values = {} if key == "tickets.write" else {"id": conv.person.state_data.get("ticket"),
                                                 "question": "…"}
    return [Reply(conv.deps.texts.render(key, **values), Keyboard.of(
        [Button(conv.deps.texts.label("btn.cancel"), CancelTicket().dump())]), template=key)]


def _broadcast(conv: Conversation) -> Awaitable[list[Reply]]:
    from core.broadcasts.service import screen

    return screen(conv)


def _survey(conv: Conversation) -> Awaitable[list[Reply]]:
    from core.surveys.service import screen

    return screen(conv)


def _activation(conv: Conversation) -> Awaitable[list[Reply]]:
    from core.activation.service import screen

    return screen(conv)


def _staff(conv: Conversation) -> Awaitable[list[Reply]]:
    from core.activation.staff import screen

    return screen(conv)


def _coordination(conv: Conversation) -> Awaitable[list[Reply]]:
    from core.coordination.service import screen

    return screen(conv)


def _personal_data(conv: Conversation) -> Awaitable[list[Reply]]:
    from core.personal_data.service import screen

    return screen(conv)


SCREENS: dict[str, Screen] = {
    "survey": _survey,
    "broadcast": _broadcast,
    "ticket": _ticket,
    "activation": _activation,
    "staff": _staff,
    "coord": _coordination,
    "mydata": _personal_data,
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


def _label_words(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower().replace("ё", "е")).split())


async def typed_button(conv: Conversation) -> Payload | None:
    """Typed text that is, word for word, the label of a button the person has in front of
    them — on their current screen, or in the main menu (the role choice for a newcomer): that
    button's payload, so «Сменить роль» or «Кто зарегистрировался» typed does exactly what the
    press does, on every screen. Case, «ё», punctuation and emoji do not matter."""
    incoming = conv.incoming
    if incoming.payload is not None or incoming.bad_payload:
        return None
    typed = _label_words(incoming.text)
    if not typed or len(incoming.text) > LABEL_MAX * 2:
        return None
    keyboards = [reply.keyboard for reply in await current_screen(conv) if reply.keyboard]
    keyboards.append(menu_keyboard(conv) if conv.person.role else onboarding.role_keyboard(conv))
    for keyboard in keyboards:
        for button in keyboard.buttons:
            if button.link is None and button.payload and _label_words(button.label) == typed:
                try:
                    return parse_payload(button.payload)
                except BadPayload:
                    continue
    return None
