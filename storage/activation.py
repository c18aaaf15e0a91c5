"""The 8-step activation: organisations' progress, applications, staff, the form drafts.

Contract used by other features: organisations.step (1..TOTAL_STEPS; ACTIVATED = activated, both
in core.kernel.domain), step_updated_at,
admin_vk_id, staff.confirmed_at.
"""

from __future__ import annotations

import json
from typing import Any, TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from core.kernel.domain import ACTIVATED
from storage.models import Organisation

if TYPE_CHECKING:
    from storage.db import Tx


class OrgProgress(Organisation):
    """An organisation with its activation progress (columns of migration 0004)."""

    step: int = 1
    step_updated_at: int | None = None
    admin_vk_id: int | None = None
    structure: str | None = None
    registration_link: str | None = None
    staff_deadline: str | None = None
    activated_at: int | None = None

    @property
    def links(self) -> list[str]:
        return [x for x in (self.registration_link or "").split("\n") if x]


class Application(BaseModel):
    """An application with what lists need of its organisation."""

    model_config = ConfigDict(frozen=True)

    id: int
    org_id: int
    applicant_vk_id: int
    admin_full_name: str
    admin_phone: str
    admin_email: str | None
    status: str
    reject_reason: str | None
    created_at: int
    updated_at: int
    org_name: str
    org_kind: str
    org_step: int
    municipality_id: int
    municipality: str
    erased_at: int | None = None  # the applicant erased their data: not listed, not exported


class StaffMember(BaseModel):
    model_config = ConfigDict(frozen=True)

    vk_id: int
    org_id: int
    joined_at: int
    confirmed_at: int | None = None
    app_at: int | None = None
    chat_at: int | None = None
    first_name: str = ""
    last_name: str = ""
    sex: int | None = None  # users.sex: 1 female, 2 male, 0 not stated


class StuckOrg(BaseModel):
    model_config = ConfigDict(frozen=True)

    org: OrgProgress
    municipality: str


_APP_SELECT = (
    "SELECT a.*, o.name AS org_name, o.kind AS org_kind, o.step AS org_step,"
    " o.municipality_id AS municipality_id, m.name AS municipality"
    " FROM applications a JOIN organisations o ON o.id = a.org_id"
    " JOIN municipalities m ON m.id = o.municipality_id"
)
STAFF_MARKS = ("confirmed_at", "app_at", "chat_at")


def _scope(municipality_id: int | None, column: str = "o.municipality_id") -> tuple[str, list[Any]]:
    if municipality_id is None:
        return "", []
    return f" AND {column} = ?", [municipality_id]


class ActivationRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # -- organisations ----------------------------------------------------------------------
    async def get_org(self, org_id: int | None) -> OrgProgress | None:
        if org_id is None:
            return None
        row = await self.tx.fetchone("SELECT * FROM organisations WHERE id = ?", (org_id,))
        return None if row is None else OrgProgress.model_validate(dict(row))

    async def get_org_by_code(self, code: str) -> OrgProgress | None:
        row = await self.tx.fetchone("SELECT * FROM organisations WHERE invite_code = ?", (code,))
        return None if row is None else OrgProgress.model_validate(dict(row))

    async def upsert_org(self, org_id: int | None, name: str, kind: str, municipality_id: int,
                         admin_vk_id: int, step: int, now: int) -> OrgProgress:
        """Create the organisation of a new application (on ``step``), or update the details of
        the one being re-submitted (its step is left to ``update_step``)."""
        if org_id is None:
            cur = await self.tx.execute(
                "INSERT INTO organisations (name, kind, municipality_id, admin_vk_id, step,"
                " step_updated_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, kind, municipality_id, admin_vk_id, step, now, now))
            org_id = cur.lastrowid
        else:
            await self.tx.execute(  # its step is moved by core.activation.steps.move only
                "UPDATE organisations SET name = ?, kind = ?, municipality_id = ?, admin_vk_id = ?"
                " WHERE id = ?", (name, kind, municipality_id, admin_vk_id, org_id))
        org = await self.get_org(org_id)
        assert org is not None
        return org

    async def update_step(self, org_id: int, step: int, now: int) -> None:
        await self.tx.execute(
            "UPDATE organisations SET step = ?, step_updated_at = ?,"
            " activated_at = CASE WHEN ? = ? THEN COALESCE(activated_at, ?) ELSE activated_at END"
            " WHERE id = ?", (step, now, step, ACTIVATED, now, org_id))

    async def update_structure(self, org_id: int, structure: str) -> None:
        await self.tx.execute("UPDATE organisations SET structure = ? WHERE id = ?",
                              (structure, org_id))

    async def update_links(self, org_id: int, links: list[str]) -> None:
        await self.tx.execute("UPDATE organisations SET registration_link = ? WHERE id = ?",
                              ("\n".join(links), org_id))

    async def update_deadline(self, org_id: int, deadline_iso: str) -> None:
        await self.tx.execute("UPDATE organisations SET staff_deadline = ? WHERE id = ?",
                              (deadline_iso, org_id))

    async def update_invite_code(self, org_id: int, code: str) -> bool:
        """False when another organisation already has this code (try another one)."""
        cur = await self.tx.execute(
            "UPDATE OR IGNORE organisations SET invite_code = ? WHERE id = ? AND invite_code IS NULL",
            (code, org_id))
        return cur.rowcount == 1

    # -- applications -----------------------------------------------------------------------
    async def insert_application(self, org_id: int, applicant: int, full_name: str, phone: str,
                                 email: str | None, now: int) -> int:
        cur = await self.tx.execute(
            "INSERT INTO applications (org_id, applicant_vk_id, admin_full_name, admin_phone,"
            " admin_email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (org_id, applicant, full_name, phone, email, now, now))
        return int(cur.lastrowid)

    async def get_application(self, app_id: int) -> Application | None:
        row = await self.tx.fetchone(_APP_SELECT + " WHERE a.id = ?", (app_id,))
        return None if row is None else Application.model_validate(dict(row))

    async def get_latest_application(self, org_id: int) -> Application | None:
        row = await self.tx.fetchone(_APP_SELECT + " WHERE a.org_id = ? ORDER BY a.id DESC LIMIT 1",
                                     (org_id,))
        return None if row is None else Application.model_validate(dict(row))

    async def update_application_status(self, app_id: int, expected: str, status: str,
                                        reason: str | None, now: int) -> bool:
        """Change the status only if it is still ``expected`` (another coordinator may have
        acted in between)."""
        cur = await self.tx.execute(
            "UPDATE applications SET status = ?, reject_reason = ?, updated_at = ?"
            " WHERE id = ? AND status = ?", (status, reason, now, app_id, expected))
        return cur.rowcount == 1

    async def list_applications(self, statuses: tuple[str, ...], municipality_id: int | None,
                                limit: int = 1000, up_to_id: int | None = None) -> list[Application]:
        marks = ",".join("?" * len(statuses))
        where, params = _scope(municipality_id)
        if up_to_id is not None:
            where += " AND a.id <= ?"
            params.append(up_to_id)
        rows = await self.tx.fetchall(
            _APP_SELECT + f" WHERE a.status IN ({marks}) AND a.erased_at IS NULL{where}"
            " ORDER BY a.id LIMIT ?",
            (*statuses, *params, limit))
        return [Application.model_validate(dict(r)) for r in rows]

    async def count_applications(self, municipality_id: int | None) -> dict[str, int]:
        where, params = _scope(municipality_id)
        rows = await self.tx.fetchall(
            "SELECT a.status, COUNT(*) AS n FROM applications a"
            f" JOIN organisations o ON o.id = a.org_id"
            f" WHERE (a.erased_at IS NULL OR a.status NOT IN ('new', 'sent')){where}"
            " GROUP BY a.status",
            params)
        return {r["status"]: r["n"] for r in rows}

    # -- staff ------------------------------------------------------------------------------
    async def get_staff(self, vk_id: int) -> StaffMember | None:
        row = await self.tx.fetchone(
            "SELECT s.*, u.first_name, u.last_name, u.sex FROM staff s JOIN users u ON u.vk_id = s.vk_id"
            " WHERE s.vk_id = ?", (vk_id,))
        return None if row is None else StaffMember.model_validate(dict(row))

    async def upsert_staff(self, vk_id: int, org_id: int, now: int) -> None:
        """Join an organisation; joining another one starts the person's own steps again."""
        await self.tx.execute(
            "INSERT INTO staff (vk_id, org_id, joined_at) VALUES (?, ?, ?)"
            " ON CONFLICT(vk_id) DO UPDATE SET org_id = excluded.org_id,"
            " joined_at = excluded.joined_at, confirmed_at = NULL, app_at = NULL, chat_at = NULL"
            " WHERE staff.org_id != excluded.org_id", (vk_id, org_id, now))

    async def update_staff_mark(self, vk_id: int, mark: str, now: int) -> bool:
        """Set confirmed_at / app_at / chat_at once; False if it was already set."""
        if mark not in STAFF_MARKS:
            raise ValueError(f"unknown staff mark {mark}")
        cur = await self.tx.execute(
            f"UPDATE staff SET {mark} = ? WHERE vk_id = ? AND {mark} IS NULL", (now, vk_id))
        return cur.rowcount == 1

    async def list_staff(self, org_id: int) -> list[StaffMember]:
        rows = await self.tx.fetchall(
            "SELECT s.*, u.first_name, u.last_name, u.sex FROM staff s JOIN users u ON u.vk_id = s.vk_id"
            " WHERE s.org_id = ? ORDER BY s.confirmed_at IS NULL, u.last_name, u.first_name,"
            " s.joined_at", (org_id,))
        return [StaffMember.model_validate(dict(r)) for r in rows]

    # -- drafts of the application form -----------------------------------------------------
    async def get_draft(self, vk_id: int) -> dict[str, Any] | None:
        raw = await self.tx.scalar("SELECT data FROM application_drafts WHERE vk_id = ?", (vk_id,))
        return None if raw is None else dict(json.loads(raw))

    async def upsert_draft(self, vk_id: int, data: dict[str, Any], now: int) -> None:
        await self.tx.execute(
            "INSERT INTO application_drafts (vk_id, data, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT(vk_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (vk_id, json.dumps(data, ensure_ascii=False, sort_keys=True), now))

    async def delete_draft(self, vk_id: int) -> None:
        await self.tx.execute("DELETE FROM application_drafts WHERE vk_id = ?", (vk_id,))

    # -- what coordinators see --------------------------------------------------------------
    async def list_stuck(self, before: int, municipality_id: int | None,
                         limit: int = 30) -> list[StuckOrg]:
        where, params = _scope(municipality_id)
        rows = await self.tx.fetchall(
            "SELECT o.*, m.name AS municipality FROM organisations o"
            " JOIN municipalities m ON m.id = o.municipality_id"
            " WHERE o.step >= 1 AND o.step < ? AND COALESCE(o.step_updated_at, o.created_at) < ?"
            f"{where} ORDER BY COALESCE(o.step_updated_at, o.created_at), o.id LIMIT ?",
            (ACTIVATED, before, *params, limit))
        result = []
        for r in rows:
            data = dict(r)
            name = data.pop("municipality")
            result.append(StuckOrg(org=OrgProgress.model_validate(data), municipality=name))
        return result
