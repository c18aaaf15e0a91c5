"""The first conversation: greeting, who are you, the stored role.

States: "" (never talked) -> "start:role" (asked for a role) -> "menu".
"""

from __future__ import annotations

from typing import Literal

from core.clock import unix
from core.conversation import Conversation
from core.menu import main_menu
from core.payloads import Payload
from core.ui import Button, Keyboard, Reply, prefixed

ChosenRole = Literal["org_admin", "staff", "parent", "coordinator"]
ROLES: tuple[ChosenRole, ...] = ("org_admin", "staff", "parent", "coordinator")
ASK_ROLE = "start:role"


class PickRole(Payload):
    cmd: str = "role"
    role: ChosenRole


class AskRole(Payload):
    cmd: str = "role?"


def role_keyboard(conv: Conversation) -> Keyboard:
    texts = conv.deps.texts
    offered = [r for r in ROLES if r != "coordinator" or conv.access.coordinator]
    rows = [[Button(texts.label(f"btn.role_{r}"), PickRole(role=r).dump(), "primary")] for r in offered]
    return Keyboard.of(*rows)


def ask_role_screen(conv: Conversation, key: str = "start.ask_role") -> Reply:
    text = conv.deps.texts.render(key, region=conv.deps.settings.region.name)
    return Reply(text, role_keyboard(conv), template=key)


def role_typed(conv: Conversation, text: str) -> ChosenRole | None:
    """A role typed as words instead of pressed (e.g. «родитель»), while asked for one."""
    wanted = text.strip(" .!").lower()
    for role in ROLES:
        if wanted == conv.deps.texts.label(f"btn.role_{role}").lower():
            return role
    return None


async def greet(conv: Conversation) -> list[Reply]:
    """A newcomer's first message, whatever it says."""
    deps = conv.deps
    async with deps.db.transaction() as tx:
        await tx.users.upsert_state(conv.person.vk_id, ASK_ROLE, {}, unix(deps.clock))
    text = deps.texts.render("start.greeting", first_name=conv.person.first_name,
                             region=deps.settings.region.name)
    if conv.person.ref:
        text += "\n\n" + deps.texts.render("start.invite_saved")
    return [Reply(text, role_keyboard(conv), template="start.greeting")]


async def ask_role(conv: Conversation, key: str = "start.ask_role") -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        await tx.users.upsert_state(conv.person.vk_id, ASK_ROLE, {}, unix(conv.deps.clock))
    return [ask_role_screen(conv, key)]


async def choose_role(conv: Conversation, role: ChosenRole) -> list[Reply]:
    deps = conv.deps
    if role == "coordinator" and not conv.access.coordinator:
        return [ask_role_screen(conv, "start.coordinator_refused")]
    async with deps.db.transaction() as tx:
        now = unix(deps.clock)
        await tx.users.upsert_role(conv.person.vk_id, role, now)
        await tx.users.upsert_state(conv.person.vk_id, "menu", {}, now)
        person = await tx.users.get_user(conv.person.vk_id)
    assert person is not None
    conv.person = person
    from core.reminders import subscription_offer  # «Присылать напоминания и опросы?» (once)
    from core.staff_registration import invite_offer  # staff who came by an invite link

    offer = await invite_offer(conv) if role == "staff" else None
    return [*prefixed(deps.texts.render(f"start.role_saved_{role}"), [offer or main_menu(conv)]),
            *subscription_offer(conv)]


async def welcome_back(conv: Conversation) -> list[Reply]:
    """«Начать» pressed again by someone who already chose a role."""
    from core.screens import current_screen

    return await current_screen(conv)
