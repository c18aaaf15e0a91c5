"""What the weekly scheduler reads and records: who needs a reminder, who gets the survey, and
which (job, week, person) runs already happened (``schedule_runs``).

The reminder queries read the activation contract columns of migration 0004 directly
(organisations.step / step_updated_at / admin_vk_id, staff.confirmed_at), so they do not depend
on how the activation feature is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.kernel.domain import ACTIVATED

if TYPE_CHECKING:
    from storage.db import Tx

# The place of a person: their own organisation, else the one they joined as staff, else the
# one they administer. Used for the time zone and copied into survey answers.
_PLACE = """
    COALESCE(u.org_id,
             (SELECT s.org_id FROM staff s WHERE s.vk_id = u.vk_id),
             (SELECT o.id FROM organisations o WHERE o.admin_vk_id = u.vk_id ORDER BY o.id LIMIT 1))
"""


PeopleRange = tuple[int, int]  # person ids in (low, high]
ALL_PEOPLE: PeopleRange = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class StuckOrganisation:
    org_id: int
    name: str
    municipality_id: int
    step: int
    since: int
    admin_vk_id: int


@dataclass(frozen=True)
class UnconfirmedStaff:
    vk_id: int
    org_id: int
    name: str
    municipality_id: int


@dataclass(frozen=True)
class AdminStaffCount:
    admin_vk_id: int
    org_id: int
    name: str
    municipality_id: int
    count: int


@dataclass(frozen=True)
class Recipient:
    vk_id: int
    role: str
    municipality_id: int | None


@dataclass(frozen=True)
class Place:
    org_id: int | None
    municipality_id: int | None
    timezone: str | None = None  # the municipality's own time zone (None: the region's)


class ScheduleRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # -- runs -------------------------------------------------------------------------------
    async def list_done(self, job: str, period: str, people: PeopleRange = ALL_PEOPLE
                        ) -> set[int]:
        rows = await self.tx.fetchall(
            "SELECT peer_id FROM schedule_runs WHERE job = ? AND period = ?"
            " AND peer_id > ? AND peer_id <= ?", (job, period, *people))
        return {r[0] for r in rows}

    async def list_people_page(self, after: int, limit: int) -> list[int]:
        """The next ``limit`` people with reminders on, by id after ``after``: the pages the
        weekly reminders walk, so that no list of everyone is ever held in memory."""
        rows = await self.tx.fetchall(
            "SELECT vk_id FROM users WHERE vk_id > ? AND reminders_on = 1"
            " ORDER BY vk_id LIMIT ?", (after, limit))
        return [r[0] for r in rows]

    async def get_run(self, job: str, period: str, peer_id: int) -> bool:
        row = await self.tx.fetchone(
            "SELECT 1 FROM schedule_runs WHERE job = ? AND period = ? AND peer_id = ?",
            (job, period, peer_id))
        return row is not None

    async def insert_runs(self, job: str, period: str, peer_ids: Iterable[int], now: int) -> None:
        await self.tx.executemany(
            "INSERT OR IGNORE INTO schedule_runs (job, period, peer_id, queued_at)"
            " VALUES (?, ?, ?, ?)",
            [(job, period, peer, now) for peer in peer_ids])

    async def delete_old_runs(self, before: int, limit: int) -> int:
        """Forget up to ``limit`` runs queued before ``before`` (retention: past weeks only)."""
        cur = await self.tx.execute(
            "DELETE FROM schedule_runs WHERE rowid IN (SELECT rowid FROM schedule_runs"
            " WHERE queued_at < ? LIMIT ?)", (before, limit))
        return cur.rowcount

    # -- who needs a reminder -----------------------------------------------------------------
    async def list_stuck_organisations(self, before: int, waiting_steps: Sequence[int],
                                       people: PeopleRange = ALL_PEOPLE
                                       ) -> list[StuckOrganisation]:
        """Organisations on step 1..TOTAL_STEPS (not yet ACTIVATED) whose step has not changed
        since ``before``, with an admin who has reminders on; steps in ``waiting_steps`` wait for
        someone else, not the admin. ``people``: only admins with an id in (low, high]."""
        marks = ",".join("?" * len(waiting_steps)) or "NULL"
        rows = await self.tx.fetchall(
            "SELECT o.id, o.name, o.municipality_id, o.step,"
            " COALESCE(o.step_updated_at, o.created_at) AS since, o.admin_vk_id"
            " FROM organisations o JOIN users u ON u.vk_id = o.admin_vk_id"
            " WHERE o.step >= 1 AND o.step < ? AND u.reminders_on = 1"
            " AND COALESCE(o.step_updated_at, o.created_at) <= ?"
            f" AND o.step NOT IN ({marks}) AND o.admin_vk_id > ? AND o.admin_vk_id <= ?"
            " ORDER BY o.id",
            (ACTIVATED, before, *waiting_steps, *people))
        return [StuckOrganisation(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    async def list_unconfirmed_staff(self, before: int, people: PeopleRange = ALL_PEOPLE
                                     ) -> list[UnconfirmedStaff]:
        """Staff who joined before ``before`` and have not confirmed their registration."""
        rows = await self.tx.fetchall(
            "SELECT s.vk_id, o.id, o.name, o.municipality_id"
            " FROM staff s JOIN organisations o ON o.id = s.org_id"
            " JOIN users u ON u.vk_id = s.vk_id"
            " WHERE s.confirmed_at IS NULL AND s.joined_at <= ? AND u.reminders_on = 1"
            " AND (o.admin_vk_id IS NULL OR o.admin_vk_id != s.vk_id)"
            " AND s.vk_id > ? AND s.vk_id <= ?"
            " ORDER BY s.vk_id",
            (before, *people))
        return [UnconfirmedStaff(r[0], r[1], r[2], r[3]) for r in rows]

    async def list_admins_with_unconfirmed(self, before: int, people: PeopleRange = ALL_PEOPLE
                                           ) -> list[AdminStaffCount]:
        rows = await self.tx.fetchall(
            "SELECT o.admin_vk_id, o.id, o.name, o.municipality_id, COUNT(*)"
            " FROM organisations o JOIN staff s ON s.org_id = o.id"
            " JOIN users u ON u.vk_id = o.admin_vk_id"
            " WHERE s.confirmed_at IS NULL AND s.joined_at <= ? AND u.reminders_on = 1"
            " AND s.vk_id != o.admin_vk_id AND o.admin_vk_id > ? AND o.admin_vk_id <= ?"
            " GROUP BY o.id ORDER BY o.id",
            (before, *people))
        return [AdminStaffCount(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # -- who gets the survey ------------------------------------------------------------------
    async def list_survey_page(self, roles: Sequence[str], period: str, after: int,
                               limit: int) -> list[Recipient]:
        """The next ``limit`` people (by vk_id, after ``after``) with a weekly role and reminders
        on who have no survey run for ``period`` yet: the survey's audience, page by page."""
        if not roles:
            return []
        marks = ",".join("?" * len(roles))
        rows = await self.tx.fetchall(
            f"SELECT u.vk_id, u.role, (SELECT o.municipality_id FROM organisations o"
            f"  WHERE o.id = {_PLACE}) FROM users u"
            f" WHERE u.vk_id > ? AND u.role IN ({marks}) AND u.reminders_on = 1"
            f" AND NOT EXISTS (SELECT 1 FROM schedule_runs r WHERE r.job = 'survey'"
            f"  AND r.period = ? AND r.peer_id = u.vk_id)"
            f" ORDER BY u.vk_id LIMIT ?",
            (after, *roles, period, limit))
        return [Recipient(r[0], r[1], r[2]) for r in rows]

    async def upsert_runs_of_job(self, job: str, period: str, outbox_job: str, now: int) -> int:
        """A run for everyone the outbox job holds (its first part): what was queued counts as
        done, read in SQL rather than from a list of the whole audience."""
        cur = await self.tx.execute(
            "INSERT OR IGNORE INTO schedule_runs (job, period, peer_id, queued_at)"
            " SELECT ?, ?, o.peer_id, ? FROM outbox o"
            " WHERE o.job_id = (SELECT id FROM outbox_jobs WHERE name = ?) AND o.part = 0",
            (job, period, now, outbox_job))
        return cur.rowcount

    async def get_place(self, vk_id: int) -> Place:
        row = await self.tx.fetchone(
            f"SELECT o.id, o.municipality_id, m.timezone FROM users u"
            f" LEFT JOIN organisations o ON o.id = {_PLACE}"
            f" LEFT JOIN municipalities m ON m.id = o.municipality_id WHERE u.vk_id = ?",
            (vk_id,))
        return Place(None, None) if row is None else Place(row[0], row[1], row[2])

    async def list_timezones(self) -> dict[int, str | None]:
        """Municipality id -> its own time zone (None: the region's)."""
        rows = await self.tx.fetchall("SELECT id, timezone FROM municipalities")
        return {r[0]: r[1] for r in rows}
