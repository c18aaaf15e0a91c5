"""Read-only figures for coordinators: survey answers, the activation funnel, the audit log.

Every method takes ``scope`` (the municipality a coordinator is limited to; None = the region),
so a municipal coordinator's summaries, exports and lists never include another municipality.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.kernel.domain import ACTIVATED
from storage.models import AuditEntry, Municipality, Organisation

if TYPE_CHECKING:
    from storage.db import Tx


@dataclass(frozen=True)
class AnswerRow:
    week: str
    role: str
    difficulties: tuple[str, ...]
    confidence: int | None
    messages: str | None
    count: int = 1  # people who answered exactly this way (rows are grouped in SQL)


@dataclass(frozen=True)
class StepCount:
    step: int
    organisations: int
    stuck: int


@dataclass(frozen=True)
class MunicipalityStep:
    municipality_id: int
    municipality: str
    step: int
    organisations: int


class SummariesRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def list_answers(self, weeks: Sequence[str], scope: int | None,
                           org_id: int | None = None) -> list[AnswerRow]:
        """Completed survey answers of these weeks inside the scope (and organisation), identical
        answers grouped with their count: a region's 50 000 answers a week come back as a few
        hundred rows, so the summary does no Python per person."""
        if not weeks:
            return []
        marks = ",".join("?" * len(weeks))
        rows = await self.tx.fetchall(
            f"SELECT week, role, difficulties, confidence, messages, COUNT(*) AS n"
            f" FROM survey_answers WHERE completed = 1 AND week IN ({marks})"
            f" AND (? IS NULL OR municipality_id = ?) AND (? IS NULL OR org_id = ?)"
            f" GROUP BY week, role, difficulties, confidence, messages",
            (*weeks, scope, scope, org_id, org_id))
        return [AnswerRow(r["week"], r["role"],
                          tuple(d for d in (r["difficulties"] or "").split(",") if d),
                          r["confidence"], r["messages"], r["n"]) for r in rows]

    async def list_free_texts(self, week: str, scope: int | None,
                              org_id: int | None = None) -> list[str]:
        """«Другое» and comments of completed answers of the week (the texts only)."""
        rows = await self.tx.fetchall(
            "SELECT other_text AS t FROM survey_answers WHERE completed = 1 AND week = ?"
            " AND other_text IS NOT NULL AND other_text != ''"
            " AND (? IS NULL OR municipality_id = ?) AND (? IS NULL OR org_id = ?)"
            " UNION ALL SELECT comment FROM survey_answers WHERE completed = 1 AND week = ?"
            " AND comment IS NOT NULL AND comment != ''"
            " AND (? IS NULL OR municipality_id = ?) AND (? IS NULL OR org_id = ?)",
            (week, scope, scope, org_id, org_id) * 2)
        return [r[0] for r in rows]

    async def get_latest_week(self, scope: int | None, org_id: int | None = None,
                              up_to: str | None = None) -> str | None:
        """The most recent survey week with completed answers in the scope."""
        return await self.tx.scalar(
            "SELECT MAX(week) FROM survey_answers WHERE completed = 1"
            " AND (? IS NULL OR municipality_id = ?) AND (? IS NULL OR org_id = ?)"
            " AND (? IS NULL OR week <= ?)",
            (scope, scope, org_id, org_id, up_to, up_to))

    async def list_difficulty_ids(self, scope: int | None) -> list[str]:
        """Option ids that occur in answers (used only when the survey file lists none)."""
        rows = await self.tx.fetchall(
            "SELECT DISTINCT difficulties FROM survey_answers WHERE completed = 1"
            " AND (? IS NULL OR municipality_id = ?)", (scope, scope))
        found = {d for r in rows for d in (r[0] or "").split(",") if d}
        return sorted(found)

    async def list_step_counts(self, scope: int | None, stuck_before: int) -> list[StepCount]:
        """Organisations per activation step (1..TOTAL_STEPS, ACTIVATED = activated); «stuck» ones have not moved
        since ``stuck_before``."""
        rows = await self.tx.fetchall(
            "SELECT step, COUNT(*) AS n,"
            " SUM(CASE WHEN step < ? AND COALESCE(step_updated_at, created_at) < ?"
            "     THEN 1 ELSE 0 END) AS stuck"
            " FROM organisations WHERE (? IS NULL OR municipality_id = ?) GROUP BY step",
            (ACTIVATED, stuck_before, scope, scope))
        return [StepCount(int(r["step"]), int(r["n"]), int(r["stuck"] or 0)) for r in rows]

    async def list_municipality_steps(self, scope: int | None) -> list[MunicipalityStep]:
        """Organisations per municipality and activation step (municipalities without
        organisations are left out), by municipality name."""
        rows = await self.tx.fetchall(
            "SELECT o.municipality_id, m.name, o.step, COUNT(*) AS n FROM organisations o"
            " JOIN municipalities m ON m.id = o.municipality_id"
            " WHERE (? IS NULL OR o.municipality_id = ?)"
            " GROUP BY o.municipality_id, o.step ORDER BY m.name, o.municipality_id, o.step",
            (scope, scope))
        return [MunicipalityStep(int(r["municipality_id"]), r["name"], int(r["step"]), int(r["n"]))
                for r in rows]

    async def list_municipalities(self, scope: int | None) -> list[Municipality]:
        rows = await self.tx.fetchall(
            "SELECT * FROM municipalities WHERE (? IS NULL OR id = ?) ORDER BY name",
            (scope, scope))
        return [Municipality.model_validate(dict(r)) for r in rows]

    async def get_municipality(self, municipality_id: int, scope: int | None) -> Municipality | None:
        row = await self.tx.fetchone(
            "SELECT * FROM municipalities WHERE id = ? AND (? IS NULL OR id = ?)",
            (municipality_id, scope, scope))
        return None if row is None else Municipality.model_validate(dict(row))

    async def get_organisation(self, org_id: int, scope: int | None) -> Organisation | None:
        row = await self.tx.fetchone(
            "SELECT * FROM organisations WHERE id = ? AND (? IS NULL OR municipality_id = ?)",
            (org_id, scope, scope))
        return None if row is None else Organisation.model_validate(dict(row))

    async def list_organisations(self, scope: int | None, name_part: str = "",
                                 limit: int = 20) -> list[Organisation]:
        rows = await self.tx.fetchall(
            "SELECT * FROM organisations WHERE (? IS NULL OR municipality_id = ?)"
            " AND (? = '' OR instr(lower(name), lower(?)) > 0) ORDER BY name LIMIT ?",
            (scope, scope, name_part, name_part, limit))
        return [Organisation.model_validate(dict(r)) for r in rows]

    async def list_audit(self, scope: int | None, limit: int = 20) -> list[AuditEntry]:
        """Newest entries; a municipal scope sees only entries recorded for its municipality."""
        rows = await self.tx.fetchall(
            "SELECT * FROM audit_log WHERE (? IS NULL OR"
            " json_extract(details, '$.municipality_id') = ?) ORDER BY id DESC LIMIT ?",
            (scope, scope, limit))
        return [AuditEntry.model_validate({**dict(r), "details": json.loads(r["details"])})
                for r in rows]
