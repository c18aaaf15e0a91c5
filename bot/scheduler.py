"""The weekly jobs in the bot process: an APScheduler interval job that calls ``tick``, and
another that prunes old bookkeeping (``core.retention``) every few hours.

The interval job only wakes the tick up (every ``schedule.tick_minutes``, and once right after
start, which makes up a run missed while the bot was down); *what* is due is decided by
``core.weekly.tick`` from the injectable clock and the database, so tests call ``tick()``
directly with a moved clock instead of waiting for real hours.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from core.retention import service as retention
from core.reminders import weekly

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)
JOB_ID = "weekly-tick"
RETENTION_ID = "retention"
RETENTION_HOURS = 6  # what is due goes within hours of its day; the prune itself is cheap


class ScheduleService:
    def __init__(self, deps: "Deps") -> None:
        self.deps = deps
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()  # one tick at a time (the interval job and tests' calls)
        self._prune_lock = asyncio.Lock()
        self._stopping = False
        # Set once the catch-up tick right after start has finished (or there is none): what a
        # caller that changes the schedule's records waits for, instead of a pause.
        self.caught_up = asyncio.Event()

    async def start(self) -> None:
        settings = self.deps.settings.schedule
        if not settings.enabled:
            self.caught_up.set()
            return
        self._scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self._scheduler.add_job(
            self._scheduled_tick, IntervalTrigger(minutes=settings.tick_minutes),
            id=JOB_ID, next_run_time=datetime.now(timezone.utc),  # catch up right after start
            coalesce=True, max_instances=1, misfire_grace_time=None)
        self._scheduler.add_job(
            self._scheduled_prune, IntervalTrigger(hours=RETENTION_HOURS), id=RETENTION_ID,
            next_run_time=datetime.now(timezone.utc), coalesce=True, max_instances=1,
            misfire_grace_time=None)
        self._scheduler.start()

    async def stop(self) -> None:
        self._stopping = True  # a job that has not reached the lock yet must not start a tick
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        async with self._lock:  # let a tick in progress finish before the database closes
            pass
        async with self._prune_lock:
            pass

    async def tick(self, now: datetime | None = None) -> weekly.TickReport:
        async with self._lock:
            return await weekly.tick(self.deps, now)

    async def prune(self, now: int | None = None) -> retention.Pruned:
        async with self._prune_lock:
            return await retention.prune(self.deps, now)

    async def _scheduled_prune(self) -> None:
        if self._stopping:
            return
        try:
            async with self._prune_lock:
                if not self._stopping:
                    await retention.prune(self.deps)
        except asyncio.CancelledError:
            return  # what was deleted is committed; the rest goes next time
        except Exception:
            log.exception("retention failed")

    async def _scheduled_tick(self) -> None:
        try:
            await self._tick_on_schedule()
        finally:
            self.caught_up.set()

    async def _tick_on_schedule(self) -> None:
        if self._stopping:
            return
        try:
            async with self._lock:
                if self._stopping:
                    return
                report = await weekly.tick(self.deps, None)
        except asyncio.CancelledError:
            # Shutdown in the middle of a tick: what was queued is in the outbox, the rest is
            # made up by the tick right after the next start.
            log.info("weekly tick interrupted by shutdown")
            return
        except Exception:
            log.exception("weekly tick failed")
            return
        if report.queued:
            log.info("weekly tick queued %s", report.queued)
