"""The main menu and the help: opening them (button or typed), and the menu's last rows."""

from __future__ import annotations

from core.kernel.conversation import Conversation
from core.kernel.menu import Help, help_screen, open_menu
from core.kernel.payloads import Menu
from core.kernel.registry import CommandInfo, Feature, MenuEntry
from core.kernel.routes import Command, Press, Route
from core.kernel.ui import Button
from core.onboarding.payloads import AskRole


def _help_and_role(conv: Conversation) -> list[list[Button]]:
    texts = conv.deps.texts
    return [[Button(texts.label("btn.help"), Help().dump()),
             Button(texts.label("btn.change_role"), AskRole().dump())]]


FEATURE = Feature(
    name="menu",
    routes={"buttons": [
        Route(Command("cmd.menu"), open_menu, name="menu_typed"),
        Route(Press(Menu), open_menu, name="menu"),
        Route(Command("cmd.help"), help_screen, name="help_typed"),
        Route(Press(Help), help_screen, name="help"),
    ]},
    menu=[MenuEntry(50, _help_and_role)],
    commands=[CommandInfo("menu", 10, listed_only=True)],
)
