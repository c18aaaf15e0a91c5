"""Municipalities, organisations and coordinator grants."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.models import CoordinatorGrant, Municipality, Organisation

if TYPE_CHECKING:
    from storage.db import Tx


class TerritoryRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def upsert_municipality(self, name: str, timezone: str | None) -> Municipality:
        await self.tx.execute(
            "INSERT INTO municipalities (name, timezone) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET timezone = excluded.timezone",
            (name, timezone),
        )
        row = await self.tx.fetchone("SELECT * FROM municipalities WHERE name = ?", (name,))
        return Municipality.model_validate(dict(row))

    async def list_municipalities(self) -> list[Municipality]:
        rows = await self.tx.fetchall("SELECT * FROM municipalities ORDER BY name")
        return [Municipality.model_validate(dict(r)) for r in rows]

    async def get_municipality(self, municipality_id: int) -> Municipality | None:
        row = await self.tx.fetchone("SELECT * FROM municipalities WHERE id = ?", (municipality_id,))
        return None if row is None else Municipality.model_validate(dict(row))

    async def insert_organisation(self, name: str, kind: str, municipality_id: int,
                                  invite_code: str | None, now: int) -> Organisation:
        cur = await self.tx.execute(
            "INSERT INTO organisations (name, kind, municipality_id, invite_code, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, kind, municipality_id, invite_code, now),
        )
        org = await self.get_organisation(cur.lastrowid)
        assert org is not None
        return org

    async def get_organisation(self, org_id: int) -> Organisation | None:
        row = await self.tx.fetchone("SELECT * FROM organisations WHERE id = ?", (org_id,))
        return None if row is None else Organisation.model_validate(dict(row))

    async def get_organisation_by_code(self, code: str) -> Organisation | None:
        row = await self.tx.fetchone(
            "SELECT * FROM organisations WHERE invite_code = ?", (code,)
        )
        return None if row is None else Organisation.model_validate(dict(row))

    async def update_invite_code(self, org_id: int, code: str) -> None:
        await self.tx.execute(
            "UPDATE organisations SET invite_code = ? WHERE id = ?", (code, org_id)
        )

    async def list_organisations(self, municipality_id: int | None = None) -> list[Organisation]:
        if municipality_id is None:
            rows = await self.tx.fetchall("SELECT * FROM organisations ORDER BY name")
        else:
            rows = await self.tx.fetchall(
                "SELECT * FROM organisations WHERE municipality_id = ? ORDER BY name",
                (municipality_id,),
            )
        return [Organisation.model_validate(dict(r)) for r in rows]

    async def get_grant(self, vk_id: int) -> CoordinatorGrant | None:
        row = await self.tx.fetchone("SELECT * FROM coordinator_grants WHERE vk_id = ?", (vk_id,))
        return None if row is None else CoordinatorGrant.model_validate(dict(row))

    async def upsert_grant(self, vk_id: int, municipality_id: int | None, granted_by: int,
                           now: int) -> None:
        await self.tx.execute(
            "INSERT INTO coordinator_grants (vk_id, municipality_id, granted_by, granted_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(vk_id) DO UPDATE SET"
            " municipality_id = excluded.municipality_id, granted_by = excluded.granted_by,"
            " granted_at = excluded.granted_at",
            (vk_id, municipality_id, granted_by, now),
        )

    async def delete_grant(self, vk_id: int) -> bool:
        cur = await self.tx.execute("DELETE FROM coordinator_grants WHERE vk_id = ?", (vk_id,))
        return cur.rowcount > 0

    async def list_grants(self) -> list[CoordinatorGrant]:
        rows = await self.tx.fetchall("SELECT * FROM coordinator_grants ORDER BY vk_id")
        return [CoordinatorGrant.model_validate(dict(r)) for r in rows]
