"""The persistent queue of bulk messages (broadcasts, reminders, surveys)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OutboxRow:
    id: int
    job: str
    peer_id: int
    key: str
    kind: str
    text: str
    keyboard: str | None  # VK keyboard JSON, as it will be sent
    attachments: tuple[str, ...]
    template: str


@dataclass(frozen=True)
class JobCounts:
    pending: int = 0
    delivered: int = 0
    not_allowed: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.delivered + self.not_allowed + self.failed + self.cancelled


class OutboxRepo:
    def __init__(self, tx: Any) -> None:
        self.tx = tx

    async def upsert_messages(self, rows: Iterable[tuple[str, int, str, str, str, str | None,
                                                          str, str]], now: int) -> int:
        """Insert (job, peer_id, key, kind, text, keyboard_json, attachments, template) rows;
        a row already queued (same job, peer, key) is left as it is."""
        before = self.tx.conn.total_changes
        await self.tx.executemany(
            "INSERT OR IGNORE INTO outbox (job, peer_id, key, kind, text, keyboard, attachments,"
            " template, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row, now, now) for row in rows],
        )
        return self.tx.conn.total_changes - before

    async def list_pending(self, after_id: int, limit: int) -> list[OutboxRow]:
        rows = await self.tx.fetchall(
            "SELECT id, job, peer_id, key, kind, text, keyboard, attachments, template"
            " FROM outbox WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [
            OutboxRow(
                id=r["id"], job=r["job"], peer_id=r["peer_id"], key=r["key"], kind=r["kind"],
                text=r["text"], keyboard=r["keyboard"],
                attachments=tuple(a for a in r["attachments"].split(",") if a),
                template=r["template"],
            )
            for r in rows
        ]

    async def upsert_results(self, results: Iterable[tuple[str, int | None, str | None, int]],
                             now: int) -> None:
        """(status, message_id, error, outbox id) for rows that reached a final status.

        Delivered rows are marked in bulk (one statement per thousand rows: a 30 000-recipient
        broadcast must not spend its time here); the few failures keep their own message."""
        delivered = [oid for status, _, _, oid in results if status == "delivered"]
        others = [(status, err, now, oid) for status, _, err, oid in results if status != "delivered"]
        for start in range(0, len(delivered), 1000):
            chunk = delivered[start:start + 1000]
            await self.tx.execute(
                f"UPDATE outbox SET status = 'delivered', updated_at = ?"
                f" WHERE status = 'pending' AND id IN ({','.join('?' * len(chunk))})",
                (now, *chunk))
        if others:
            await self.tx.executemany(
                "UPDATE outbox SET status = ?, error = ?, updated_at = ?"
                " WHERE id = ? AND status = 'pending'", others)

    async def cancel_job(self, job: str, now: int) -> int:
        cur = await self.tx.execute(
            "UPDATE outbox SET status = 'cancelled', updated_at = ?"
            " WHERE job = ? AND status = 'pending'",
            (now, job),
        )
        return cur.rowcount

    async def get_job_counts(self, job: str) -> JobCounts:
        rows = await self.tx.fetchall(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE job = ? GROUP BY status", (job,)
        )
        return JobCounts(**{r["status"]: r["n"] for r in rows})

    async def count_pending(self) -> int:
        return int(await self.tx.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"))
