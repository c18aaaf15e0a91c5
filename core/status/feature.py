"""«Состояние бота» for bot admins: the button in the menu and the typed command."""

from __future__ import annotations

from core.status.payloads import StatusOpen
from core.kernel.commands import Said
from core.kernel.registry import CommandInfo, Feature, MenuEntry
from core.kernel.routes import BOT_ADMIN, Press, Route
from core.status import service as status

FEATURE = Feature(
    name="status",
    routes={"routes": [
        Route(Said("status"), status.status, BOT_ADMIN, name="status_typed"),
        Route(Press(StatusOpen), status.status, BOT_ADMIN),
    ]},
    menu=[MenuEntry(40, status.menu_entries)],
    commands=[CommandInfo("status", 200, BOT_ADMIN)],
)
