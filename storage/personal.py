"""Personal data (152-ФЗ): consents, what is stored about a person, and erasing it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Consent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    vk_id: int
    version: str
    given_at: int
    withdrawn_at: int | None = None


class PersonalDataRepo:
    def __init__(self, tx: Any) -> None:
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

    async def delete_person(self, vk_id: int, now: int) -> None:
        """Withdraw consent and erase: the application's personal fields, the staff row, the
        form draft, the text of the person's questions and of their answers (the rows stay, so
        coordinators' counts do not change), which weekly messages they were sent
        (schedule_runs), messages still waiting to be sent to them (cancelled); survey answers
        keep only anonymous counts; the users row keeps nothing but the VK id (needed to answer
        them at all). The consent record stays, marked withdrawn, as proof of what was agreed
        to and when."""
        await self.tx.execute(
            "UPDATE applications SET admin_full_name = '', admin_phone = '', admin_email = NULL,"
            " applicant_vk_id = 0, updated_at = ? WHERE applicant_vk_id = ?", (now, vk_id))
        await self.tx.execute(
            "UPDATE organisations SET admin_vk_id = NULL WHERE admin_vk_id = ?", (vk_id,))
        await self.tx.execute("DELETE FROM staff WHERE vk_id = ?", (vk_id,))
        await self.tx.execute("DELETE FROM application_drafts WHERE vk_id = ?", (vk_id,))
        await self.tx.execute(
            "UPDATE tickets SET question = '', answer = CASE WHEN answer IS NULL THEN NULL"
            " ELSE '' END WHERE vk_id = ?", (vk_id,))
        await self.tx.execute("DELETE FROM schedule_runs WHERE peer_id = ?", (vk_id,))
        await self.tx.outbox.cancel_peer(vk_id, now)
        await self.tx.execute("UPDATE survey_answers SET vk_id = NULL WHERE vk_id = ?", (vk_id,))
        await self.tx.execute(
            "UPDATE consents SET withdrawn_at = ? WHERE vk_id = ? AND withdrawn_at IS NULL",
            (now, vk_id))
        await self.tx.execute(
            "UPDATE users SET first_name = '', last_name = '', role = NULL, state = '',"
            " state_data = '{}', org_id = NULL, ref = NULL, ref_source = NULL, updated_at = ?"
            " WHERE vk_id = ?", (now, vk_id))
