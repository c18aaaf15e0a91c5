"""The tests' language for a conversation: what the bot said to the last action, and people
brought to a point of the product the way a person gets there (by writing and pressing).

Every wait here is on a fact — the bot has taken every event and is idle, nothing queued or in
flight (``VKEmulator.settle``) — never on a quiet window.
"""

from __future__ import annotations

from typing import Any

from bot.vkemu import EmulatedUser
from bot.vkemu.keyboard import button_labels

TEACHER = "Педагог или сотрудник"
PARENT = "Родитель"
ORG_ADMIN = "Администратор школы"
COORDINATOR_ROLE = "Координатор"


async def said(user: EmulatedUser, timeout: float = 10.0) -> str:
    """Everything the bot answered to the last action, as one text; it must answer something."""
    got = await user.replies(timeout=timeout)
    assert got, f"user {user.uid}: no answer.\n{user.format_transcript()}"
    return "\n".join(m.text for m in got)


async def say(user: EmulatedUser, text: str, **kwargs: Any) -> str:
    await user.send(text, **kwargs)
    return await said(user)


async def press(user: EmulatedUser, label: str) -> str:
    await user.press(label)
    return await said(user)


def kb(user: EmulatedUser) -> list[str]:
    """The keyboard under the input field."""
    return button_labels(user.keyboard)


def inline(user: EmulatedUser) -> list[str]:
    """The buttons under the latest message that has them."""
    message = user.latest_inline()
    return button_labels(message.keyboard) if message else []


async def become(user: EmulatedUser, role_label: str) -> str:
    """A newcomer writes «Начать» and chooses a role; returns the answer to the choice."""
    await say(user, "Начать")
    return await press(user, role_label)


async def start_as(users: Any, uid: int, role_label: str, first: str = "Ольга",
                   last: str = "Петрова") -> EmulatedUser:
    """A new person (made by the ``users`` fixture) who has chosen a role."""
    person = users(uid, first, last)
    await become(person, role_label)
    return person


async def admin_with_consent(user: EmulatedUser) -> str:
    """A newcomer becomes a school's admin, opens «Активация профиля» and gives consent: the
    answer is the application's first question."""
    await become(user, ORG_ADMIN)
    await press(user, "Активация профиля")
    return await press(user, "Даю согласие")


async def teacher_asked_for_a_code(user: EmulatedUser) -> str:
    """A newcomer becomes a teacher, opens «Регистрация в Сферуме» and gives consent: the
    answer asks for the invitation code."""
    await become(user, TEACHER)
    await press(user, "Регистрация в Сферуме")
    return await press(user, "Даю согласие")
