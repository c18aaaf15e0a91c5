"""Users: who wrote to the community, their chosen role and their conversation state."""

from __future__ import annotations

import json
from typing import Any, TYPE_CHECKING

from storage.models import Person

if TYPE_CHECKING:
    from storage.db import Tx


class UsersRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def get_user(self, vk_id: int) -> Person | None:
        row = await self.tx.fetchone("SELECT * FROM users WHERE vk_id = ?", (vk_id,))
        return None if row is None else Person.from_row(row)

    async def upsert_seen(self, vk_id: int, now: int, ref: str | None = None,
                          ref_source: str | None = None) -> Person:
        """Record an inbound message: create the user, keep the first deep-link ref, mark reachable."""
        # RETURNING: the row as written comes back with the write, one trip to the database
        # for every incoming message instead of two.
        row = await self.tx.fetchone(
            "INSERT INTO users (vk_id, ref, ref_source, last_inbound_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(vk_id) DO UPDATE SET"
            "  last_inbound_at = excluded.last_inbound_at, reachable = 1,"
            "  ref = COALESCE(excluded.ref, users.ref),"
            "  ref_source = COALESCE(excluded.ref_source, users.ref_source)"
            " RETURNING *",
            (vk_id, ref, ref_source, now, now, now),
        )
        assert row is not None
        return Person.from_row(row)

    async def update_name(self, vk_id: int, first_name: str, last_name: str,
                          sex: int | None = None) -> None:
        """The VK name (and sex, when the platform gave it), unless the person erased their
        data (then it is never written back)."""
        await self.tx.execute(
            "UPDATE users SET first_name = ?, last_name = ?, sex = COALESCE(?, sex)"
            " WHERE vk_id = ? AND erased_at IS NULL",
            (first_name, last_name, sex, vk_id),
        )

    async def update_role(self, vk_id: int, role: str | None, now: int) -> None:
        await self.tx.execute(
            "UPDATE users SET role = ?, updated_at = ? WHERE vk_id = ?", (role, now, vk_id)
        )

    async def update_state(self, vk_id: int, state: str, data: dict[str, Any], now: int) -> None:
        await self.tx.execute(
            "UPDATE users SET state = ?, state_data = ?, updated_at = ? WHERE vk_id = ?",
            (state, json.dumps(data, ensure_ascii=False, sort_keys=True), now, vk_id),
        )

    async def update_org(self, vk_id: int, org_id: int | None, now: int) -> None:
        await self.tx.execute(
            "UPDATE users SET org_id = ?, updated_at = ? WHERE vk_id = ?", (org_id, now, vk_id)
        )

    async def update_flags(self, vk_id: int, **flags: bool) -> None:
        allowed = {"reminders_on", "broadcasts_on", "newsletter_ok", "reachable"}
        for name, value in flags.items():
            if name not in allowed:
                raise ValueError(f"unknown flag {name}")
            await self.tx.execute(
                f"UPDATE users SET {name} = ? WHERE vk_id = ?", (int(value), vk_id)
            )

    async def list_users(self, vk_ids: list[int]) -> list[Person]:
        if not vk_ids:
            return []
        marks = ",".join("?" * len(vk_ids))
        rows = await self.tx.fetchall(f"SELECT * FROM users WHERE vk_id IN ({marks})", vk_ids)
        return [Person.from_row(r) for r in rows]

    async def list_contacts(self, vk_ids: list[int]) -> list[tuple[int, int | None, bool, bool]]:
        """(vk_id, last_inbound_at, newsletter_ok, reachable): what the sender needs, fast."""
        out: list[tuple[int, int | None, bool, bool]] = []
        for start in range(0, len(vk_ids), 30_000):  # SQLite's limit of bound parameters
            chunk = vk_ids[start:start + 30_000]
            marks = ",".join("?" * len(chunk))
            rows = await self.tx.fetchall(
                "SELECT vk_id, last_inbound_at, newsletter_ok, reachable FROM users"
                f" WHERE vk_id IN ({marks})", chunk)
            out.extend((r[0], r[1], bool(r[2]), bool(r[3])) for r in rows)
        return out

    async def count_users(self) -> int:
        return int(await self.tx.scalar("SELECT COUNT(*) FROM users"))

    async def delete_user(self, vk_id: int) -> None:
        await self.tx.execute("DELETE FROM users WHERE vk_id = ?", (vk_id,))
