"""Answers to the weekly difficulty survey: one row per person and ISO week.

The row is written at every step, so a half-finished survey survives a restart and can be
finished later in the week; the last answer of a week overwrites the earlier one (UNIQUE(week,
vk_id)), so each person counts once per week. Territory and role are copied at answer time.
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from storage.db import Tx

FIELDS = ("difficulties", "other_text", "confidence", "messages", "comment", "completed",
          "question")


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    week: str
    vk_id: int | None
    org_id: int | None
    municipality_id: int | None
    role: str
    difficulties: tuple[str, ...] = ()
    other_text: str | None = None
    confidence: int | None = None
    messages: str | None = None
    comment: str | None = None
    completed: bool = False
    question: str | None = None
    started_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: Any) -> "SurveyAnswer":
        data = dict(row)
        data["difficulties"] = tuple(d for d in (data.get("difficulties") or "").split(",") if d)
        return cls.model_validate(data)


class SurveysRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def get_answer(self, week: str, vk_id: int) -> SurveyAnswer | None:
        row = await self.tx.fetchone(
            "SELECT * FROM survey_answers WHERE week = ? AND vk_id = ?", (week, vk_id))
        return None if row is None else SurveyAnswer.from_row(row)

    async def upsert_answer(self, week: str, vk_id: int, *, role: str, org_id: int | None,
                            municipality_id: int | None, now: int, **fields: Any) -> None:
        """Create the week's row or update it; only the given answer fields change.
        ``difficulties`` is a sequence of option ids; ``completed`` a bool."""
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown survey fields {sorted(unknown)}")
        values = dict(fields)
        if "difficulties" in values:
            values["difficulties"] = ",".join(values["difficulties"])
        if "completed" in values:
            values["completed"] = int(values["completed"])
        names = list(values)
        columns = ", ".join(["week", "vk_id", "role", "org_id", "municipality_id", "started_at",
                             "updated_at", *names])
        marks = ", ".join("?" * (7 + len(names)))
        updates = ", ".join(
            [f"{c} = excluded.{c}" for c in ("role", "org_id", "municipality_id", "updated_at",
                                               *names)])
        await self.tx.execute(
            f"INSERT INTO survey_answers ({columns}) VALUES ({marks})"
            f" ON CONFLICT(week, vk_id) DO UPDATE SET {updates}",
            (week, vk_id, role, org_id, municipality_id, now, now, *values.values()))

    async def list_answers(self, week: str, municipality_id: int | None = None,
                           completed_only: bool = True) -> list[SurveyAnswer]:
        sql = "SELECT * FROM survey_answers WHERE week = ?"
        params: list[Any] = [week]
        if municipality_id is not None:
            sql += " AND municipality_id = ?"
            params.append(municipality_id)
        if completed_only:
            sql += " AND completed = 1"
        rows = await self.tx.fetchall(sql + " ORDER BY id", params)
        return [SurveyAnswer.from_row(r) for r in rows]

    async def count_answers(self, week: str, completed_only: bool = True) -> int:
        sql = "SELECT COUNT(*) FROM survey_answers WHERE week = ?"
        if completed_only:
            sql += " AND completed = 1"
        return int(await self.tx.scalar(sql, (week,)))
