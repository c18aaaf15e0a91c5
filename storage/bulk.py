"""Loading a whole region at once (bench/scale.py builds 300 000 people this way): plain
executemany over the same tables the bot writes, without a round trip per person."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Tx


class BulkRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def upsert_municipalities(self, names: Sequence[str]) -> list[int]:
        await self.tx.executemany("INSERT OR IGNORE INTO municipalities (name) VALUES (?)",
                                  [(n,) for n in names])
        rows = await self.tx.fetchall("SELECT id FROM municipalities ORDER BY id")
        return [r[0] for r in rows]

    async def upsert_organisations(
            self, rows: Sequence[tuple[int, str, str, int, int, int | None, str, int]]) -> None:
        """(id, name, kind, municipality_id, step, admin_vk_id, invite_code, created_at)"""
        await self.tx.executemany(
            "INSERT OR IGNORE INTO organisations (id, name, kind, municipality_id, step,"
            " step_updated_at, admin_vk_id, invite_code, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?8, ?6, ?7, ?8)", rows)

    async def upsert_people(
            self, rows: Sequence[tuple[int, str, str, str, int | None, int, int]]) -> None:
        """(vk_id, first_name, last_name, role, org_id, newsletter_ok, last_inbound_at)"""
        await self.tx.executemany(
            "INSERT OR IGNORE INTO users (vk_id, first_name, last_name, role, state, org_id,"
            " newsletter_ok, last_inbound_at, created_at, updated_at)"
            " VALUES (?1, ?2, ?3, ?4, 'menu', ?5, ?6, ?7, ?7, ?7)", rows)

    async def upsert_staff(self, rows: Sequence[tuple[int, int, int, int | None]]) -> None:
        """(vk_id, org_id, joined_at, confirmed_at)"""
        await self.tx.executemany(
            "INSERT OR IGNORE INTO staff (vk_id, org_id, joined_at, confirmed_at)"
            " VALUES (?, ?, ?, ?)", rows)

    async def upsert_survey_answers(
            self, rows: Sequence[tuple[str, int, int, int, str, str, int, int]]) -> None:
        """(week, vk_id, org_id, municipality_id, role, difficulties, confidence, at)"""
        await self.tx.executemany(
            "INSERT OR IGNORE INTO survey_answers (week, vk_id, org_id, municipality_id, role,"
            " difficulties, confidence, completed, started_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?8, ?8)", rows)
