"""Weekly reminders: the switch (buttons and typed words), the consent after the role choice,
«Продолжить» under a reminder, the «Напоминания» screen and its row in the menu."""

from __future__ import annotations

from core.reminders.payloads import RemindContinue, RemindOff, RemindOn, RemindersOpen, Subscribe
from core.kernel.conversation import Conversation
from core.kernel.registry import Feature, MenuEntry
from core.kernel.routes import Press, Route, Test
from core.kernel.ui import Button, Reply
from core.reminders import service as reminders


async def _subscription_offer(conv: Conversation) -> list[Reply]:
    return reminders.subscription_offer(conv)


def _rows(conv: Conversation) -> list[list[Button]]:
    if conv.person.role not in reminders.weekly_roles(conv.deps.settings):
        return []
    return [[Button(conv.deps.texts.label("btn.reminders"), RemindersOpen().dump())]]


FEATURE = Feature(
    name="reminders",
    routes={"routes": [
        Route(Press(RemindOff), reminders.turn_off),
        Route(Press(RemindOn), reminders.turn_on),
        Route(Press(Subscribe),
              lambda conv, payload: reminders.subscribe(conv, payload.yes), name="subscribe"),
        Route(Press(RemindersOpen), reminders.settings_screen),
        Route(Press(RemindContinue), reminders.continue_flow),
        # «не напоминать» / «напоминать снова» / «напоминания» typed (words from the texts)
        Route(Test(reminders.typed_command, name="name"), reminders.command, name="typed"),
    ]},
    menu=[MenuEntry(30, _rows)],
    # «Присылать напоминания и опросы?», asked once: after the role choice, after joining
    continuations={"reminders.subscription_offer": _subscription_offer},
)
