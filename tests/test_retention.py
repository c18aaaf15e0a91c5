"""Retention: old bookkeeping goes, the counts reports read stay (the in-process bot, a clock the
test moves; ``services["schedule"].prune()`` is what the scheduler calls every few hours)."""

from __future__ import annotations

from core.kernel.clock import unix
from tests.test_schedule import DAY, World, local, world  # noqa: F401  (the fixture)


async def test_finished_jobs_events_and_runs_are_pruned_after_the_retention_time(
        world: World) -> None:
    org = await world.org("Школа", step=9, days_on_step=30)
    people = list(range(700, 720))
    for uid in people:
        await world.person(uid, org_id=org)
    assert await world.tick(local(27, 12)) == {"survey": 20}  # Friday: the weekly survey
    async with world.app.deps.db.read() as tx:
        counts = await tx.outbox.get_job_counts("survey:2026-W48")
    assert (counts.delivered, counts.pending, counts.complete) == (20, 0, True)
    async with world.app.deps.db.transaction() as tx:
        assert await tx.events.claim_event("old-event", unix(world.clock))
    assert await world.sql("SELECT COUNT(*) FROM schedule_runs") == [(20,)]

    service = world.app.deps.services["schedule"]
    assert world.app.deps.settings.storage.retention_days == 30
    world.clock.advance(days=29)
    assert (await service.prune()).total == 0  # younger than 30 days: all kept
    assert await world.sql("SELECT COUNT(*) FROM outbox") == [(20,)]

    # A new event today, then 31 days after the survey: the old bookkeeping goes.
    async with world.app.deps.db.transaction() as tx:
        assert await tx.events.claim_event("new-event", unix(world.clock))
    world.clock.advance(days=2)
    pruned = await service.prune()
    assert (pruned.outbox, pruned.events, pruned.runs) == (20, 1, 20)
    assert await world.sql("SELECT COUNT(*) FROM outbox") == [(0,)]
    assert await world.sql("SELECT COUNT(*) FROM outbox_texts") == [(0,)]
    assert await world.sql("SELECT event_id FROM processed_events") == [("new-event",)]
    async with world.app.deps.db.read() as tx:
        after = await tx.outbox.get_job_counts("survey:2026-W48")
    async with world.app.deps.db.transaction() as tx:  # claiming writes: readers cannot
        assert not await tx.events.claim_event("new-event", unix(world.clock))  # still a replay
    assert after == counts  # the report's numbers are the job's counters, kept
    assert (await service.prune()).total == 0


async def test_a_job_still_being_queued_is_never_pruned(world: World) -> None:
    org = await world.org("Школа", step=9, days_on_step=30)
    await world.person(731, org_id=org)
    await world.person(732, org_id=org, inbound_days_ago=60, newsletter=False)
    assert await world.tick(local(27, 12)) == {"survey": 2}
    async with world.app.deps.db.transaction() as tx:  # as if its producer were still at work
        await tx.execute("UPDATE outbox_jobs SET complete = 0")
        counts = await tx.outbox.get_job_counts("survey:2026-W48")
    world.clock.advance(days=60)
    assert (await world.app.deps.services["schedule"].prune()).outbox == 0
    assert await world.sql("SELECT COUNT(*) FROM outbox") == [(2,)]
    async with world.app.deps.db.read() as tx:
        assert await tx.outbox.get_job_counts("survey:2026-W48") == counts
