"""Abuse limits kept in SQLite (a restart resets nothing): invitation-code guessing per person,
and the batched digest of confirmed staff for an organisation's administrator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Tx


@dataclass(frozen=True)
class DigestItem:
    admin_vk_id: int
    staff_vk_id: int
    org_id: int
    org_name: str
    first_name: str
    last_name: str
    confirmed_at: int


class LimitsRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # -- invitation codes ---------------------------------------------------------------------
    async def get_code_block(self, vk_id: int, now: int) -> int | None:
        """Until when this person may not try a code (None: they may)."""
        until = await self.tx.scalar(
            "SELECT blocked_until FROM code_attempts WHERE vk_id = ?", (vk_id,))
        return int(until) if until is not None and until > now else None

    async def upsert_code_failure(self, vk_id: int, now: int, window: int, attempts: int,
                                  block: int) -> int | None:
        """Count a wrong code; returns the end of the wait when this one used up the
        attempts of the window (the count starts again after the wait)."""
        await self.tx.execute(
            "INSERT INTO code_attempts (vk_id, failures, window_start) VALUES (?, 1, ?)"
            " ON CONFLICT(vk_id) DO UPDATE SET"
            " failures = CASE WHEN window_start <= ? THEN 1 ELSE failures + 1 END,"
            " window_start = CASE WHEN window_start <= ? THEN ? ELSE window_start END,"
            " blocked_until = NULL",
            (vk_id, now, now - window, now - window, now))
        failures = int(await self.tx.scalar(
            "SELECT failures FROM code_attempts WHERE vk_id = ?", (vk_id,)))
        if failures < attempts:
            return None
        await self.tx.execute(
            "UPDATE code_attempts SET blocked_until = ?, failures = 0, window_start = ?"
            " WHERE vk_id = ?", (now + block, now + block, vk_id))
        return now + block

    async def delete_code_attempts(self, vk_id: int) -> None:
        await self.tx.execute("DELETE FROM code_attempts WHERE vk_id = ?", (vk_id,))

    # -- the staff digest ---------------------------------------------------------------------
    async def upsert_digest_item(self, admin_vk_id: int, staff_vk_id: int, org_id: int,
                                 now: int) -> None:
        await self.tx.execute(
            "INSERT OR IGNORE INTO staff_digest (admin_vk_id, staff_vk_id, org_id, confirmed_at)"
            " VALUES (?, ?, ?, ?)", (admin_vk_id, staff_vk_id, org_id, now))

    async def list_due_digests(self, before: int) -> list[int]:
        """Admins with waiting items whose last digest was sent before ``before`` (or never)."""
        rows = await self.tx.fetchall(
            "SELECT DISTINCT d.admin_vk_id FROM staff_digest d"
            " LEFT JOIN admin_digests a ON a.admin_vk_id = d.admin_vk_id"
            " WHERE a.last_sent_at IS NULL OR a.last_sent_at <= ? ORDER BY d.admin_vk_id",
            (before,))
        return [r[0] for r in rows]

    async def list_digest_items(self, admin_vk_id: int) -> list[DigestItem]:
        rows = await self.tx.fetchall(
            "SELECT d.admin_vk_id, d.staff_vk_id, d.org_id, o.name AS org_name,"
            " COALESCE(u.first_name, '') AS first_name, COALESCE(u.last_name, '') AS last_name,"
            " d.confirmed_at FROM staff_digest d JOIN organisations o ON o.id = d.org_id"
            " LEFT JOIN users u ON u.vk_id = d.staff_vk_id"
            " WHERE d.admin_vk_id = ? ORDER BY d.confirmed_at, d.staff_vk_id", (admin_vk_id,))
        return [DigestItem(**dict(r)) for r in rows]

    async def delete_digest_items(self, admin_vk_id: int, staff: list[int], now: int) -> None:
        marks = ",".join("?" * len(staff))
        await self.tx.execute(
            f"DELETE FROM staff_digest WHERE admin_vk_id = ? AND staff_vk_id IN ({marks})",
            (admin_vk_id, *staff))
        await self.tx.execute(
            "INSERT INTO admin_digests (admin_vk_id, last_sent_at) VALUES (?, ?)"
            " ON CONFLICT(admin_vk_id) DO UPDATE SET last_sent_at = excluded.last_sent_at",
            (admin_vk_id, now))
