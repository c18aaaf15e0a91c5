"""The first conversation: greeting, who are you, the stored role.

States: "" (never talked) -> "start:role" (asked for a role) -> "menu".
"""

from __future__ import annotations

from core.kernel.clock import unix
from core.kernel.conversation import Conversation
from core.kernel.domain import ROLES
from core.kernel.menu import main_menu
from core.kernel.screens import current_screen
from core.kernel.ui import Button, Keyboard, Reply, prefixed
from core.onboarding.payloads import ChosenRole, PickRole

ASK_ROLE = "start:role"


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
        await tx.users.update_state(conv.person.vk_id, ASK_ROLE, {}, unix(deps.clock))
    text = deps.texts.render("start.greeting", first_name=conv.person.first_name,
                             region=deps.settings.region.name)
    if conv.person.ref:
        text += "\n\n" + deps.texts.render("start.invite_saved")
    return [Reply(text, role_keyboard(conv), template="start.greeting")]


async def ask_role(conv: Conversation, key: str = "start.ask_role") -> list[Reply]:
    async with conv.deps.db.transaction() as tx:
        await tx.users.update_state(conv.person.vk_id, ASK_ROLE, {}, unix(conv.deps.clock))
    return [ask_role_screen(conv, key)]


INLINE_ROWS, INLINE_BUTTONS = 6, 10  # VK's limits for a keyboard attached to a message


async def with_role_choice(conv: Conversation, answer: list[Reply]) -> list[Reply]:
    """A newcomer whose first message was a question gets the answer and «кто Вы?» in ONE
    message: one request instead of two against the same 20 requests/s (a burst of newcomers is
    answered twice as fast), and the role buttons sit under the answer they have just read.
    The message has one keyboard: the role buttons first, then the answer's own buttons (its
    last row, navigation, kept; related questions as far as VK's inline limits allow)."""
    if conv.person.role is not None or not answer:
        return answer
    deps = conv.deps
    async with deps.db.statement() as tx:  # one UPDATE: one trip to the database
        await tx.users.update_state(conv.person.vk_id, ASK_ROLE, {}, unix(deps.clock))
    first = answer[0]
    question = deps.texts.render("start.ask_role_after_answer", region=deps.settings.region.name)
    rows = [list(r) for r in role_keyboard(conv).rows]
    own = [list(r) for r in first.keyboard.rows] if first.keyboard is not None else []
    tail = own[-1:]
    for row in own[:-1]:
        if len(rows) + len(tail) + 1 > INLINE_ROWS:
            break
        if sum(map(len, rows + tail)) + len(row) <= INLINE_BUTTONS:
            rows.append(row)
    if tail and len(rows) < INLINE_ROWS and sum(map(len, rows + tail)) <= INLINE_BUTTONS:
        rows += tail
    combined = Reply(f"{first.text}\n\n{question}", Keyboard.of(*rows, inline=True),
                     first.attachments, first.template)
    return [combined, *answer[1:]]


async def choose_role(conv: Conversation, role: ChosenRole) -> list[Reply]:
    deps = conv.deps
    if role == "coordinator" and not conv.access.coordinator:
        return [ask_role_screen(conv, "start.coordinator_refused")]
    async with deps.db.transaction() as tx:
        now = unix(deps.clock)
        await tx.users.update_role(conv.person.vk_id, role, now)
        await tx.users.update_state(conv.person.vk_id, "menu", {}, now)
        person = await tx.users.get_user(conv.person.vk_id)
    assert person is not None
    conv.person = person
    registry = deps.registry
    # staff who came by an invite link: «Присоединиться» to that organisation (activation)
    offer = await registry.continuation("activation.invite_offer")(conv) if role == "staff" else None
    return [*prefixed(deps.texts.render(f"start.role_saved_{role}"), [offer or main_menu(conv)]),
            # «Присылать напоминания и опросы?» (reminders; asked once)
            *await registry.continuation("reminders.subscription_offer")(conv)]


async def welcome_back(conv: Conversation) -> list[Reply]:
    """«Начать» pressed again by someone who already chose a role."""
    return await current_screen(conv)
