"""Personal data (152-ФЗ): consents, what is stored about a person, and erasing it."""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from storage.personal_registry import PLACES, Place

if TYPE_CHECKING:
    from storage.db import Tx


class Consent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    vk_id: int
    version: str
    given_at: int
    withdrawn_at: int | None = None


class PersonalDataRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def get_consent(self, vk_id: int) -> Consent | None:
        """The consent in force (given and not withdrawn), the latest one."""
        row = await self.tx.fetchone(
            "SELECT * FROM consents WHERE vk_id = ? AND withdrawn_at IS NULL"
            " ORDER BY given_at DESC, id DESC LIMIT 1", (vk_id,))
        return None if row is None else Consent.model_validate(dict(row))

    async def upsert_consent(self, vk_id: int, version: str, now: int) -> Consent:
        current = await self.get_consent(vk_id)
        if current is not None and current.version == version:
            return current
        await self.tx.execute(
            "INSERT INTO consents (vk_id, version, given_at) VALUES (?, ?, ?)",
            (vk_id, version, now))
        await self.tx.execute("UPDATE users SET erased_at = NULL WHERE vk_id = ?", (vk_id,))
        consent = await self.get_consent(vk_id)
        assert consent is not None
        return consent

    async def count_survey_answers(self, vk_id: int) -> int:
        return int(await self.tx.scalar(
            "SELECT COUNT(*) FROM survey_answers WHERE vk_id = ?", (vk_id,)))

    async def count_tickets(self, vk_id: int) -> int:
        return int(await self.tx.scalar("SELECT COUNT(*) FROM tickets WHERE vk_id = ?", (vk_id,)))

    async def list_application_ids(self, vk_id: int) -> list[int]:
        rows = await self.tx.fetchall(
            "SELECT id FROM applications WHERE applicant_vk_id = ? ORDER BY id", (vk_id,))
        return [r["id"] for r in rows]

    async def list_stored(self, vk_id: int, limit: int = 20) -> list[tuple[Place, int, list[dict[str, Any]]]]:
        """Everything stored about the person, place by place of the registry: (place, how
        many rows, the first ``limit`` rows with the registry's columns)."""
        out = []
        for place in PLACES:
            rows = await self.tx.fetchall(place.shown(), (vk_id,))
            if rows:
                out.append((place, len(rows), [dict(r) for r in rows[:limit]]))
        return out

    async def delete_person(self, vk_id: int, now: int) -> None:
        """Withdraw consent and erase, place by place of the registry (storage/
        personal_registry.py): rows deleted, or emptied where the row must stay (counts, an
        organisation's progress, broadcast reports); kept places stay as they are. The consent
        record stays, marked withdrawn, as proof of what was agreed to and when."""
        await self.tx.outbox.cancel_peer(vk_id, now)  # keeps the jobs' counters right
        for place in PLACES:
            for statement in place.statements():
                await self.tx.execute(statement, {"vk": vk_id, "now": now})
        await self.tx.execute(
            "UPDATE consents SET withdrawn_at = ? WHERE vk_id = ? AND withdrawn_at IS NULL",
            (now, vk_id))
