"""Retention: bookkeeping older than ``storage.retention_days`` is deleted, reports keep counting.

What goes: the recipient rows (and texts) of finished bulk jobs — the job row with its counters
stays, so a broadcast's report and the sender's totals read the same numbers after pruning;
de-duplication rows of incoming events (long poll replays come within minutes, not weeks); and
``schedule_runs`` of past weeks (a weekly run is only ever due within its own week).
Survey answers, applications, tickets and the audit log are data, not bookkeeping: they stay.

Deletes go in slices of ``SLICE`` rows, one short transaction each, so a prune of millions of
rows never holds the database long enough to delay replies.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.kernel.clock import unix

if TYPE_CHECKING:
    from core.kernel.deps import Deps

log = logging.getLogger(__name__)
DAY = 24 * 3600
SLICE = 20_000


@dataclass
class Pruned:
    outbox: int = 0
    events: int = 0
    runs: int = 0

    @property
    def total(self) -> int:
        return self.outbox + self.events + self.runs


async def prune(deps: "Deps", now: int | None = None) -> Pruned:
    """Delete what is older than the retention time as of ``now`` (the deps' clock)."""
    now = unix(deps.clock) if now is None else now
    before = now - deps.settings.storage.retention_days * DAY
    pruned = Pruned()
    async with deps.db.read() as tx:
        jobs = await tx.outbox.list_prunable_jobs(before)
    for job_id in jobs:
        while True:
            async with deps.db.transaction() as tx:
                deleted = await tx.outbox.delete_job_rows(job_id, SLICE)
            pruned.outbox += deleted
            if deleted < SLICE:
                break
            await asyncio.sleep(0)  # let replies in between slices
    while True:
        async with deps.db.transaction() as tx:
            events = await tx.events.delete_old_events(before, SLICE)
            runs = await tx.schedule.delete_old_runs(before, SLICE)
        pruned.events += events
        pruned.runs += runs
        if events < SLICE and runs < SLICE:
            break
        await asyncio.sleep(0)
    if pruned.total:
        log.info("retention pruned %d outbox, %d event, %d schedule rows",
                 pruned.outbox, pruned.events, pruned.runs)
    return pruned
