"""The main menu: the rows features register (``Feature.menu``), in their order; each entry
decides who sees it."""

from __future__ import annotations

from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.payloads import Menu, Payload
from core.kernel.ui import Button, Keyboard, Reply


class Help(Payload):
    cmd: str = "help"


ASK_ROLE = "ask_role"  # the continuation that shows the role choice (the onboarding feature's)


def menu_keyboard(conv: Conversation) -> Keyboard:
    rows: list[list[Button]] = []
    for entry in conv.deps.registry.menu:
        rows.extend(entry.rows(conv))
    return Keyboard.of(*rows)


def main_menu(conv: Conversation) -> Reply:
    return Reply(conv.deps.texts.render("menu.text"), menu_keyboard(conv), template="menu.text")


def menu_button(conv: Conversation) -> Button:
    return Button(conv.deps.texts.label("btn.menu"), Menu().dump())


async def open_menu(conv: Conversation) -> list[Reply]:
    """Leave whatever flow the person was in (its progress is kept) and show the menu."""
    if conv.person.role is None:
        return await conv.deps.registry.continuation(ASK_ROLE)(conv)
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, "menu", {}, unix(conv.deps.clock))
    return [main_menu(conv)]


def help_screen(conv: Conversation) -> Reply:
    return Reply(conv.deps.texts.render("help.text"), menu_keyboard(conv), template="help.text")


async def refused(conv: Conversation) -> list[Reply]:
    """The answer to a service that raised NotAllowed: rights were missing or were revoked in
    the middle of a coordinator's dialog, which is then left (nothing of it is shown again)."""
    privileged = conv.deps.registry.privileged_states
    if privileged and conv.person.state.startswith(privileged) and not conv.access.coordinator:
        async with conv.deps.db.transaction() as tx:
            await tx.users.update_state(conv.person.vk_id, "menu", {}, unix(conv.deps.clock))
        conv.person = conv.person.model_copy(update={"state": "menu", "state_data": {}})
    return [Reply(conv.deps.texts.render("input.not_allowed"), template="input.not_allowed"),
            main_menu(conv)]
