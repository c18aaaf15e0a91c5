"""Notices that wait until their recipient writes to the community (VK refused them: 901/902)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Tx


@dataclass(frozen=True)
class HeldNotice:
    id: int
    peer_id: int
    about: int | None
    key: str
    kind: str
    text: str
    keyboard: str | None  # VK keyboard JSON, as it will be sent
    attachments: tuple[str, ...]
    template: str


class HeldNoticesRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def upsert_notices(self, rows: Iterable[tuple[int, int | None, str, str, str,
                                                        str | None, str, str]],
                             now: int) -> None:
        """(peer_id, about_vk_id, key, kind, text, keyboard_json, attachments, template); the
        same notice refused twice is kept once."""
        await self.tx.executemany(
            "INSERT OR IGNORE INTO held_notices (peer_id, about_vk_id, key, kind, text, keyboard,"
            " attachments, template, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, now) for row in rows])

    async def list_notices(self, peer_id: int) -> list[HeldNotice]:
        rows = await self.tx.fetchall(
            "SELECT id, peer_id, about_vk_id, key, kind, text, keyboard, attachments, template"
            " FROM held_notices WHERE peer_id = ? ORDER BY id", (peer_id,))
        return [HeldNotice(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                           tuple(a for a in r[7].split(",") if a), r[8]) for r in rows]

    async def delete_notices(self, ids: list[int]) -> None:
        await self.tx.executemany("DELETE FROM held_notices WHERE id = ?", [(i,) for i in ids])

    async def count_notices(self) -> int:
        return int(await self.tx.scalar("SELECT COUNT(*) FROM held_notices"))
