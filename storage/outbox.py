"""The persistent queue of bulk messages (broadcasts, reminders, surveys).

A job (``outbox_jobs``) keeps its counters, so progress and reports read one row and stay right
after retention deleted the recipient rows; each distinct text of a job is stored once
(``outbox_texts``); each recipient is a small row (``outbox``: job, person, part, text, status).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Tx

STATUSES = ("pending", "delivered", "not_allowed", "failed", "cancelled")
# Lists of ids reach SQLite as one JSON array (``IN (SELECT value FROM json_each(?))``), never as
# ``IN (?, ?, ...)``: each length of such a list is another SQL text, and the sqlite3 module keeps
# up to 128 compiled statements per connection; with thousands of ids each, that cache alone
# grew the bot by 105 MB during one broadcast to 300 000 people (measured), and compiling them
# took twice the CPU of the update itself.


@dataclass(frozen=True)
class OutboxText:
    id: int
    job: str
    key: str
    kind: str
    text: str
    keyboard: str | None  # the messenger's keyboard JSON (VK's or MAX's), as it will be sent
    attachments: tuple[str, ...]
    template: str


# (outbox id, job id, peer id, text id, last_inbound_at, newsletter_ok, reachable): the last
# three are the person's contact (None when the bot does not know them).
PendingRow = tuple[int, int, int, int, int | None, int | None, int | None]


@dataclass(frozen=True)
class JobCounts:
    pending: int = 0
    delivered: int = 0
    not_allowed: int = 0
    failed: int = 0
    cancelled: int = 0
    complete: bool = False  # the producer queued its whole audience

    @property
    def total(self) -> int:
        return self.pending + self.delivered + self.not_allowed + self.failed + self.cancelled


class OutboxRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # -- queueing ---------------------------------------------------------------------------
    async def upsert_job(self, name: str, now: int) -> int:
        await self.tx.execute(
            "INSERT OR IGNORE INTO outbox_jobs (name, created_at, updated_at) VALUES (?, ?, ?)",
            (name, now, now))
        return int(await self.tx.scalar("SELECT id FROM outbox_jobs WHERE name = ?", (name,)))

    async def upsert_job_complete(self, job_id: int, now: int) -> None:
        await self.tx.execute("UPDATE outbox_jobs SET complete = 1, updated_at = ? WHERE id = ?",
                              (now, job_id))

    async def upsert_texts(self, job_id: int,
                           texts: Sequence[tuple[int, str, str, str, str | None, str, str]],
                           ) -> dict[int, int]:
        """(digest, key, kind, text, keyboard, attachments, template) -> {digest: text id};
        a text the job already holds is not stored again."""
        await self.tx.executemany(
            "INSERT OR IGNORE INTO outbox_texts (job_id, digest, key, kind, text, keyboard,"
            " attachments, template) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(job_id, *t) for t in texts])
        rows = await self.tx.fetchall(
            "SELECT digest, id FROM outbox_texts WHERE job_id = ?"
            " AND digest IN (SELECT value FROM json_each(?))",
            (job_id, json.dumps([t[0] for t in texts])))
        return {r[0]: r[1] for r in rows}

    async def upsert_recipients(self, job_id: int, rows: Iterable[tuple[int, int, int]],
                                now: int) -> int:
        """(peer_id, part, text_id) rows; one already queued (same job, person, part) is left as
        it is. Returns how many were added."""
        before = self.tx.conn.total_changes
        await self.tx.executemany(
            "INSERT OR IGNORE INTO outbox (job_id, peer_id, part, text_id, updated_at)"
            " VALUES (?, ?, ?, ?, ?)", [(job_id, p, n, t, now) for p, n, t in rows])
        return await self._count_added(job_id, self.tx.conn.total_changes - before, now)

    async def upsert_recipients_of_text(self, job_id: int, peer_ids: Sequence[int], text_id: int,
                                        now: int) -> int:
        """One single-part text to many people: the ids reach SQLite as one JSON array, so
        queueing 300 000 people costs no Python per person. Returns how many were added."""
        before = self.tx.conn.total_changes
        await self.tx.execute(
            "INSERT OR IGNORE INTO outbox (job_id, peer_id, part, text_id, updated_at)"
            " SELECT ?, value, 0, ?, ? FROM json_each(?)",
            (job_id, text_id, now, json.dumps(list(peer_ids))))
        return await self._count_added(job_id, self.tx.conn.total_changes - before, now)

    async def _count_added(self, job_id: int, added: int, now: int) -> int:
        if added:
            await self.tx.execute(
                "UPDATE outbox_jobs SET total = total + ?, pending = pending + ?, updated_at = ?"
                " WHERE id = ?", (added, added, now, job_id))
        return added

    # -- the sender's side -------------------------------------------------------------------
    async def list_pending(self, after_id: int, limit: int, messenger: str = "vk",
                           ) -> list[PendingRow]:
        """Pending rows of one messenger's people: VK people's ids are positive, MAX people's
        negative (storage/accounts.py), so each delivery engine reads only its own."""
        people = "o.peer_id < 0" if messenger == "max" else "o.peer_id > 0"
        return await self.tx.fetchall_tuples(  # type: ignore[return-value]
            "SELECT o.id, o.job_id, o.peer_id, o.text_id,"
            " u.last_inbound_at, u.newsletter_ok, u.reachable"
            " FROM outbox o LEFT JOIN users u ON u.vk_id = o.peer_id"
            f" WHERE o.status = 'pending' AND o.id > ? AND {people} ORDER BY o.id LIMIT ?",
            (after_id, limit))

    async def list_texts(self, text_ids: Sequence[int]) -> list[OutboxText]:
        rows = await self.tx.fetchall(
            "SELECT t.id, j.name, t.key, t.kind, t.text, t.keyboard, t.attachments, t.template"
            " FROM outbox_texts t JOIN outbox_jobs j ON j.id = t.job_id"
            " WHERE t.id IN (SELECT value FROM json_each(?))", (json.dumps(list(text_ids)),))
        return [OutboxText(r[0], r[1], r[2], r[3], r[4], r[5],
                           tuple(a for a in r[6].split(",") if a), r[7]) for r in rows]

    async def update_results(self, delivered: dict[int, list[int]],
                             others: Iterable[tuple[str, str | None, int, int]], now: int) -> None:
        """``delivered``: job id -> outbox ids delivered; ``others``: (status, error, outbox id,
        job id) of rows that reached another final status. Only pending rows change, and each
        job's counters move by what really changed."""
        moved: dict[tuple[int, str], int] = defaultdict(int)
        for job_id, ids in delivered.items():
            cur = await self.tx.execute(
                "UPDATE outbox SET status = 'delivered', updated_at = ?"
                " WHERE status = 'pending' AND id IN (SELECT value FROM json_each(?))",
                (now, json.dumps(ids)))
            moved[(job_id, "delivered")] += cur.rowcount
        for status, error, oid, job_id in others:
            cur = await self.tx.execute(
                "UPDATE outbox SET status = ?, error = ?, updated_at = ?"
                " WHERE id = ? AND status = 'pending'", (status, error, now, oid))
            moved[(job_id, status)] += cur.rowcount
        await self._move(moved, now)

    async def _move(self, moved: dict[tuple[int, str], int], now: int) -> None:
        for (job_id, status), n in moved.items():
            if n and status in STATUSES[1:]:
                await self.tx.execute(
                    f"UPDATE outbox_jobs SET pending = pending - ?, {status} = {status} + ?,"
                    " updated_at = ? WHERE id = ?", (n, n, now, job_id))

    async def cancel_job(self, name: str, now: int) -> int:
        job_id = await self.tx.scalar("SELECT id FROM outbox_jobs WHERE name = ?", (name,))
        if job_id is None:
            return 0
        cur = await self.tx.execute(
            "UPDATE outbox SET status = 'cancelled', updated_at = ?"
            " WHERE job_id = ? AND status = 'pending'", (now, job_id))
        await self._move({(job_id, "cancelled"): cur.rowcount}, now)
        return cur.rowcount

    async def cancel_peer(self, peer_id: int, now: int) -> int:
        """Everything still waiting for one person (their data is being erased)."""
        rows = await self.tx.fetchall(
            "SELECT job_id, COUNT(*) FROM outbox WHERE peer_id = ? AND status = 'pending'"
            " GROUP BY job_id", (peer_id,))
        await self.tx.execute(
            "UPDATE outbox SET status = 'cancelled', updated_at = ?"
            " WHERE peer_id = ? AND status = 'pending'", (now, peer_id))
        await self._move({(r[0], "cancelled"): r[1] for r in rows}, now)
        return sum(r[1] for r in rows)

    # -- reading -----------------------------------------------------------------------------
    async def get_job_counts(self, name: str) -> JobCounts:
        row = await self.tx.fetchone(
            "SELECT pending, delivered, not_allowed, failed, cancelled, complete"
            " FROM outbox_jobs WHERE name = ?", (name,))
        if row is None:
            return JobCounts()
        return JobCounts(row[0], row[1], row[2], row[3], row[4], bool(row[5]))

    async def get_job_counts_by_messenger(self, name: str) -> dict[str, JobCounts]:
        """{"vk": counts, "max": counts} of a job read from its recipient rows (MAX people's
        ids are negative): for a job that reaches both messengers, while its rows are kept."""
        rows = await self.tx.fetchall(
            "SELECT o.peer_id < 0, o.status, COUNT(*) FROM outbox o"
            " JOIN outbox_jobs j ON j.id = o.job_id WHERE j.name = ? GROUP BY 1, 2", (name,))
        counts: dict[str, dict[str, int]] = {"vk": {}, "max": {}}
        for in_max, status, n in rows:
            counts["max" if in_max else "vk"][status] = int(n)
        return {m: JobCounts(**{s: c.get(s, 0) for s in STATUSES}, complete=True)
                for m, c in counts.items()}

    async def count_pending_by_kind(self) -> dict[str, int]:
        rows = await self.tx.fetchall(
            "SELECT t.kind, COUNT(*) FROM outbox o JOIN outbox_texts t ON t.id = o.text_id"
            " WHERE o.status = 'pending' GROUP BY t.kind")
        return {r[0]: r[1] for r in rows}

    async def count_pending(self) -> int:
        return int(await self.tx.scalar("SELECT COALESCE(SUM(pending), 0) FROM outbox_jobs"))

    # -- retention ---------------------------------------------------------------------------
    async def list_prunable_jobs(self, before: int) -> list[int]:
        """Finished jobs (all queued, nothing pending) untouched since ``before`` that still
        have recipient rows."""
        rows = await self.tx.fetchall(
            "SELECT id FROM outbox_jobs WHERE complete = 1 AND pending = 0 AND updated_at < ?"
            " AND pruned < total ORDER BY id", (before,))
        return [r[0] for r in rows]

    async def delete_job_rows(self, job_id: int, limit: int) -> int:
        """Delete up to ``limit`` recipient rows of a finished job (its counters stay); the
        texts go with the last rows. Returns how many rows were deleted."""
        cur = await self.tx.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE job_id = ? LIMIT ?)",
            (job_id, limit))
        deleted = cur.rowcount
        await self.tx.execute("UPDATE outbox_jobs SET pruned = pruned + ? WHERE id = ?",
                              (deleted, job_id))
        if deleted < limit:
            await self.tx.execute("DELETE FROM outbox_texts WHERE job_id = ?", (job_id,))
            await self.tx.execute("UPDATE outbox_jobs SET pruned = total WHERE id = ?", (job_id,))
        return deleted
