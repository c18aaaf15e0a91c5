"""Who may do what: bot admins and coordinators come from config, plus grants stored in the bot."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from storage import Tx


@dataclass(frozen=True)
class Access:
    vk_id: int
    bot_admin: bool = False
    coordinator: bool = False
    # None = the whole region; otherwise the only municipality this coordinator sees.
    municipality_id: int | None = None

    @property
    def regional(self) -> bool:
        return self.coordinator and self.municipality_id is None


async def access_of(tx: Tx, settings: Settings, vk_id: int) -> Access:
    admin = vk_id in settings.access.admins
    if admin or vk_id in settings.access.coordinators:
        return Access(vk_id, bot_admin=admin, coordinator=True)
    grant = await tx.territory.get_grant(vk_id)
    if grant is not None:
        return Access(vk_id, coordinator=True, municipality_id=grant.municipality_id)
    return Access(vk_id)
