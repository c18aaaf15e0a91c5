"""The weekly tick: who is due for a reminder or the survey, their messages queued, the runs noted.

``plan(deps, now)`` is a pure function of the moment and the database:
1. for every time zone in use (the region's, and municipalities' own) take the local moment and
   ask ``core.schedule.due_week`` for each job: the ISO week whose run is due there, or None
   (slot not reached yet, quiet hours, a holiday);
2. reminders: ``core.reminders.collect`` (person -> what is left); the person's zone is that of
   the organisation the reminder is about. Survey: people with a weekly role and reminders on, in
   the zone of their organisation (the region's when they have none);
3. whoever already has a ``schedule_runs`` row for (job, their week) is dropped.

The survey goes to everyone with a weekly role (300 000 people in a large region): its audience
is streamed page by page (``SurveyStream``), one Multicast of the week's invitation per page, and
its runs are then written from the outbox in SQL, so no list of the whole audience is ever held.

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
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from core.kernel.calendar import JOBS, Job, due_week, zones
from core.kernel.outgoing import Multicast, Outgoing
from core.kernel.ui import Button, Keyboard, Reply
from core.reminders import service as reminders
from core.reminders.payloads import RemindOff
from core.surveys.payloads import SurveyOpen

if TYPE_CHECKING:
    from core.kernel.deps import Deps


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


SURVEY_PAGE = 5000  # people read from the database at a time


@dataclass
class SurveyStream:
    """The survey invitation of one week to everyone due in that week, page by page."""

    deps: "Deps"
    week: str
    roles: tuple[str, ...]
    zoned: frozenset[int | None]     # municipalities with a zone of their own (None: the region)
    weeks_of: dict[int | None, str]  # such a zone -> its due week
    invite: Reply
    count: int = 0

    @property
    def outbox_job(self) -> str:
        return f"survey:{self.week}"

    async def messages(self) -> AsyncIterator[Multicast]:
        after = 0
        while True:
            async with self.deps.db.read() as tx:
                page = await tx.schedule.list_survey_page(self.roles, self.week, after,
                                                          SURVEY_PAGE)
            if not page:
                return
            after = page[-1].vk_id
            zoned, weeks_of, week = self.zoned, self.weeks_of, self.week
            peers = [p.vk_id for p in page  # the person's zone is that of their organisation
                     if weeks_of.get(p.municipality_id if p.municipality_id in zoned else None)
                     == week]
            if peers:
                self.count += len(peers)
                yield Multicast(peers, self.invite, "survey", survey_key(self.week))


def survey_invite(deps: "Deps", week: str) -> Reply:
    """The week's survey invitation: the same text and buttons for everyone of a week (one VK
    request can carry it to 100 people); «Пройти опрос» opens the survey (core/surveys)."""
    texts = deps.texts
    return Reply(texts.render("surveys.invite"), Keyboard.of(
        [Button(texts.label("btn.survey_start"), SurveyOpen(w=week).dump(), "primary")],
        [Button(texts.label("btn.remind_off"), RemindOff().dump())], inline=True),
        template="surveys.invite")


def reminder_key(week: str) -> str:
    return f"reminder:activation:{week}"


def survey_key(week: str) -> str:
    return f"survey:{week}"


async def plan(deps: "Deps", now: datetime
               ) -> tuple[dict[str, list[str]], list[Batch], list[SurveyStream]]:
    settings = deps.settings
    at = int(now.timestamp())
    wanted: dict[int, list[reminders.Item]] = {}
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
        done = {("reminders", week): await tx.schedule.list_done("reminders", week)
                for week in weeks["reminders"]}
        if due["reminders"]:
            wanted = await reminders.collect(tx, settings, at)

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
    roles = tuple(reminders.weekly_roles(settings))
    streams = [SurveyStream(deps, week, roles, frozenset(tz_of), due["survey"],
                            survey_invite(deps, week))
               for week in weeks["survey"]]
    batches = [Batch(job, week, messages) for (job, week), messages in sorted(grouped.items())]
    return {job: weeks[job] for job in JOBS if weeks[job]}, batches, streams


async def tick(deps: "Deps", now: datetime | None = None) -> TickReport:
    now = now or deps.clock.now()
    due, batches, streams = await plan(deps, now)
    report = TickReport(due=due)
    at = int(now.timestamp())
    for batch in batches:
        await deps.messenger.enqueue_bulk(batch.outbox_job, batch.messages)
        async with deps.db.transaction() as tx:
            await tx.schedule.insert_runs(batch.job, batch.week,
                                          [m.peer_id for m in batch.messages], at)
        report.queued[batch.job] = report.queued.get(batch.job, 0) + len(batch.messages)
        report.jobs.append(batch.outbox_job)
    for stream in streams:
        await deps.messenger.enqueue_bulk(stream.outbox_job, stream.messages())
        async with deps.db.transaction() as tx:
            await tx.schedule.upsert_runs_of_job("survey", stream.week, stream.outbox_job, at)
        if stream.count:
            report.queued["survey"] = report.queued.get("survey", 0) + stream.count
            report.jobs.append(stream.outbox_job)
    return report
