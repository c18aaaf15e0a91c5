"""Questions passed to coordinators, and questions the FAQ could not answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from storage.db import Tx


class Ticket(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    vk_id: int
    source: str
    question: str
    municipality_id: int | None
    status: str
    answer: str | None
    answered_by: int | None
    created_at: int
    answered_at: int | None

    @property
    def erased(self) -> bool:
        """The person erased their data (the question's text is gone, the row is counted)."""
        return self.question == ""


class TicketsRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def insert_ticket(self, vk_id: int, source: str, question: str,
                            municipality_id: int | None, now: int) -> Ticket:
        cur = await self.tx.execute(
            "INSERT INTO tickets (vk_id, source, question, municipality_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (vk_id, source, question, municipality_id, now),
        )
        ticket = await self.get_ticket(cur.lastrowid)
        assert ticket is not None
        return ticket

    async def get_ticket(self, ticket_id: int) -> Ticket | None:
        row = await self.tx.fetchone("SELECT * FROM tickets WHERE id = ?", (ticket_id,))
        return None if row is None else Ticket.model_validate(dict(row))

    async def update_answer(self, ticket_id: int, answer: str, coordinator: int, now: int) -> bool:
        """Record the answer unless another coordinator answered first."""
        cur = await self.tx.execute(
            "UPDATE tickets SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?"
            " WHERE id = ? AND status = 'open'",
            (answer, coordinator, now, ticket_id),
        )
        return cur.rowcount == 1

    async def list_open(self, municipality_id: int | None, limit: int = 10) -> list[Ticket]:
        """Open questions still to answer (not those of people who erased their data)."""
        if municipality_id is None:
            rows = await self.tx.fetchall(
                "SELECT * FROM tickets WHERE status = 'open' AND question != ''"
                " ORDER BY id LIMIT ?", (limit,))
        else:
            rows = await self.tx.fetchall(
                "SELECT * FROM tickets WHERE status = 'open' AND question != ''"
                " AND municipality_id = ? ORDER BY id LIMIT ?", (municipality_id, limit))
        return [Ticket.model_validate(dict(r)) for r in rows]

    async def list_coordinators(self, municipality_id: int | None) -> list[int]:
        """Granted coordinators who see this municipality (regional ones see every one)."""
        rows = await self.tx.fetchall(
            "SELECT vk_id FROM coordinator_grants WHERE municipality_id IS NULL"
            " OR municipality_id = ?", (municipality_id,))
        return [r["vk_id"] for r in rows]

    async def get_municipality_of(self, vk_id: int) -> int | None:
        return await self.tx.scalar(
            "SELECT o.municipality_id FROM users u JOIN organisations o ON o.id = u.org_id"
            " WHERE u.vk_id = ?", (vk_id,))

    async def insert_miss(self, question: str, normalized: str, now: int, vk_id: int | None = None,
                          municipality_id: int | None = None) -> None:
        await self.tx.execute(
            "INSERT INTO faq_misses (question, normalized, at, vk_id, municipality_id)"
            " VALUES (?, ?, ?, ?, ?)", (question, normalized, now, vk_id, municipality_id))

    async def list_top_misses(self, since: int, municipality_id: int | None,
                              limit: int = 15) -> list[tuple[str, int]]:
        """The most frequent unanswered questions (by normalised text), with one example;
        ``municipality_id`` set: only questions of people of that municipality."""
        rows = await self.tx.fetchall(
            "SELECT MIN(question) AS example, COUNT(*) AS n FROM faq_misses WHERE at >= ?"
            " AND question != '' AND (? IS NULL OR municipality_id = ?)"
            " GROUP BY normalized ORDER BY n DESC, example LIMIT ?",
            (since, municipality_id, municipality_id, limit))
        return [(r["example"], r["n"]) for r in rows]
