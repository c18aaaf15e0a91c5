"""The weekly tick: who is due for a reminder or the survey, their messages queued, the runs noted.

``plan(deps, now)`` is a pure function of the moment and the database:
1. for every time zone in use (the region's, and municipalities' own) take the local moment and
   ask ``core.schedule.due_week`` for each job: the ISO week whose run is due there, or None
   (slot not reached yet, quiet hours, a holiday);
2. reminders: ``core.reminders.collect`` (person -> what is left); the person's zone is that of
   the organisation the reminder is about. Survey: people with a weekly role and reminders on, in
   the zone of their organisation (the region's when they have none);
3. whoever already has a ``schedule_runs`` row for (job, their week) is dropped.

``tick(deps, now)`` then, per job and week, queues the messages in the outbox (``enqueue_bulk``:
job ``"survey:<week>"`` / ``"reminders:<week>"``, key ``"survey:<week>"`` /
``"reminder:activation:<week>"``) and writes the ``schedule_runs`` rows.

Why the outbox first: ``enqueue_bulk`` commits in its own transaction. If the process dies between
the two steps, the next tick finds the same people due and queues the same (job, peer, key) again,
which the outbox ignores (UNIQUE) and VK would de-duplicate by random_id anyway: nothing is lost,
nothing is sent twice. Writing the runs first would lose that week's message in the same gap.
A crash during sending is resumed by the sender from the outbox.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from core import reminders, surveys
from core.outgoing import Outgoing
from core.schedule import JOBS, Job, due_week, zones
from core.ui import Button

if TYPE_CHECKING:
    from bot.deps import Deps


@dataclass(frozen=True)
class Batch:
    job: Job
    week: str
    messages: list[Outgoing]

    @property
    def outbox_job(self) -> str:
        return f"{self.job}:{self.week}"


@dataclass
class TickReport:
    """What one tick found due (job -> weeks) and queued (job -> number of people)."""

    due: dict[str, list[str]] = field(default_factory=dict)
    queued: dict[str, int] = field(default_factory=dict)
    jobs: list[str] = field(default_factory=list)


def reminder_key(week: str) -> str:
    return f"reminder:activation:{week}"


def survey_key(week: str) -> str:
    return f"survey:{week}"


async def plan(deps: "Deps", now: datetime) -> tuple[dict[str, list[str]], list[Batch]]:
    settings = deps.settings
    at = int(now.timestamp())
    wanted: dict[int, list[reminders.Item]] = {}
    recipients = []
    async with deps.db.read() as tx:
        tz_of = await zones(tx, settings)
        due: dict[Job, dict[int | None, str]] = {job: {} for job in JOBS}
        for municipality_id, tz in tz_of.items():
            local = now.astimezone(tz)
            for job in JOBS:
                week = due_week(job, local, settings.schedule)
                if week is not None:
                    due[job][municipality_id] = week
        weeks = {job: sorted(set(by_zone.values())) for job, by_zone in due.items()}
        done = {(job, week): await tx.schedule.list_done(job, week)
                for job in JOBS for week in weeks[job]}
        if due["reminders"]:
            wanted = await reminders.collect(tx, settings, at)
        if due["survey"]:
            recipients = await tx.schedule.list_survey_recipients(
                reminders.weekly_roles(settings))

    def week_of(job: Job, municipality_id: int | None) -> str | None:
        key = municipality_id if municipality_id in tz_of else None
        return due[job].get(key)

    grouped: dict[tuple[Job, str], list[Outgoing]] = defaultdict(list)
    for peer, items in wanted.items():
        municipality_id = items[0].municipality_id
        week = week_of("reminders", municipality_id)
        if week is None or peer in done[("reminders", week)]:
            continue
        tz = tz_of.get(municipality_id, tz_of[None])
        reply = reminders.reminder_reply(deps, items, tz)
        grouped[("reminders", week)].append(Outgoing(peer, reply, "reminder", reminder_key(week)))
    off = Button(deps.texts.label("btn.remind_off"), reminders.RemindOff().dump())
    invites = {week: surveys.invite(deps, week, [off]) for week in weeks["survey"]}
    for person in recipients:
        week = week_of("survey", person.municipality_id)
        if week is None or person.vk_id in done[("survey", week)]:
            continue
        grouped[("survey", week)].append(
            Outgoing(person.vk_id, invites[week], "survey", survey_key(week)))
    batches = [Batch(job, week, messages) for (job, week), messages in sorted(grouped.items())]
    return {job: weeks[job] for job in JOBS if weeks[job]}, batches


async def tick(deps: "Deps", now: datetime | None = None) -> TickReport:
    now = now or deps.clock.now()
    due, batches = await plan(deps, now)
    report = TickReport(due=due)
    for batch in batches:
        await deps.messenger.enqueue_bulk(batch.outbox_job, batch.messages)
        async with deps.db.transaction() as tx:
            await tx.schedule.upsert_runs(batch.job, batch.week,
                                          [m.peer_id for m in batch.messages], int(now.timestamp()))
        report.queued[batch.job] = report.queued.get(batch.job, 0) + len(batch.messages)
        report.jobs.append(batch.outbox_job)
    return report
