"""The main menu: what a person can do, by role."""

from __future__ import annotations

from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.payloads import Menu, Payload
from core.kernel.ui import Button, Keyboard, Reply


class Help(Payload):
    cmd: str = "help"


def menu_keyboard(conv: Conversation) -> Keyboard:
    texts = conv.deps.texts
    from core.onboarding.service import AskRole  # the role choice lives with the first conversation

    from core.faq.dialog import FaqTopics

    from core.activation.service import menu_entries, privacy_entries

    rows: list[list[Button]] = []
    rows.extend(menu_entries(conv))  # «Активация профиля» / «Регистрация в Сферуме» / «Координатору»
    rows.append([Button(texts.label("btn.faq"), FaqTopics().dump(), "primary")])
    from core.reminders.service import RemindersOpen, weekly_roles

    if conv.person.role in weekly_roles(conv.deps.settings):
        rows.append([Button(texts.label("btn.reminders"), RemindersOpen().dump())])
    from core.status.service import menu_entries as status_entries

    rows.extend(status_entries(conv))  # «Состояние бота» for bot admins
    rows.append([Button(texts.label("btn.help"), Help().dump()),
                 Button(texts.label("btn.change_role"), AskRole().dump())])
    rows.extend(privacy_entries(conv))  # «Мои данные»
    return Keyboard.of(*rows)


def main_menu(conv: Conversation) -> Reply:
    return Reply(conv.deps.texts.render("menu.text"), menu_keyboard(conv), template="menu.text")


def menu_button(conv: Conversation) -> Button:
    return Button(conv.deps.texts.label("btn.menu"), Menu().dump())


async def open_menu(conv: Conversation) -> list[Reply]:
    """Leave whatever flow the person was in (its progress is kept) and show the menu."""
    if conv.person.role is None:
        from core.onboarding.service import ask_role

        return await ask_role(conv)
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, "menu", {}, unix(conv.deps.clock))
    return [main_menu(conv)]


def help_screen(conv: Conversation) -> Reply:
    return Reply(conv.deps.texts.render("help.text"), menu_keyboard(conv), template="help.text")


COORDINATOR_STATES = ("broadcast:", "coord:", "ticket:answer")


async def refused(conv: Conversation) -> list[Reply]:
    """The answer to a service that raised NotAllowed: rights were missing or were revoked in
    the middle of a coordinator's dialog, which is then left (nothing of it is shown again)."""
    if conv.person.state.startswith(COORDINATOR_STATES) and not conv.access.coordinator:
        async with conv.deps.db.transaction() as tx:
            await tx.users.update_state(conv.person.vk_id, "menu", {}, unix(conv.deps.clock))
        conv.person = conv.person.model_copy(update={"state": "menu", "state_data": {}})
    return [Reply(conv.deps.texts.render("input.not_allowed"), template="input.not_allowed"),
            main_menu(conv)]
