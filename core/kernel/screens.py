"""What a person in a given state is looking at, to show again after a detour (an FAQ answer,
a bad input, an outdated button). Features register a screen per state prefix
(``Feature.screens``); a state no feature owns shows the main menu (the role choice for a
newcomer, whose screen is registered under the empty prefix)."""

from __future__ import annotations

import inspect

from core.kernel.conversation import Conversation
from core.kernel.menu import main_menu, menu_keyboard
from core.kernel.normalise import words
from core.kernel.payloads import BadPayload, Payload, parse_payload
from core.kernel.ui import LABEL_MAX, Keyboard, Reply

NEWCOMER = ""  # the screen of a person without a role (the role choice)


async def screen_of(conv: Conversation, prefix: str) -> list[Reply]:
    screen = conv.deps.registry.screens.get(prefix)
    if screen is None:
        return [main_menu(conv)]
    result = screen(conv)
    if inspect.isawaitable(result):
        result = await result
    return list(result)


async def current_screen(conv: Conversation) -> list[Reply]:
    prefix = conv.person.state.split(":", 1)[0]
    if prefix not in conv.deps.registry.screens and conv.person.role is None:
        prefix = NEWCOMER
    return await screen_of(conv, prefix)


async def typed_button(conv: Conversation) -> Payload | None:
    """Typed text that is, word for word, the label of a button the person has in front of
    them — on their current screen, or in the main menu (the role choice for a newcomer): that
    button's payload, so «Сменить роль» or «Кто зарегистрировался» typed does exactly what the
    press does, on every screen. Case, «ё», punctuation and emoji do not matter."""
    incoming = conv.incoming
    if incoming.payload is not None or incoming.bad_payload:
        return None
    typed = words(incoming.text)
    # A shown label is at most LABEL_MAX characters (Keyboard.validate) and its words no
    # longer, so longer typed words are no label: most questions skip building the screens.
    if not typed or len(typed) > LABEL_MAX:
        return None
    keyboards: list[Keyboard] = [reply.keyboard for reply in await current_screen(conv)
                                 if reply.keyboard]
    if conv.person.role:
        keyboards.append(menu_keyboard(conv))
    else:
        keyboards.extend(reply.keyboard for reply in await screen_of(conv, NEWCOMER)
                         if reply.keyboard)
    for keyboard in keyboards:
        for button in keyboard.buttons:
            if button.link is None and button.payload and words(button.label) == typed:
                try:
                    return parse_payload(button.payload)
                except BadPayload:
                    continue
    return None
