"""The weekly tick: who is due for a reminder or the survey, their messages queued, the runs noted.

``plan(deps, now)`` is a pure function of the moment and the database:
1. for every time zone in use (the region's, and municipalities' own) take the local moment and
   ask ``core.schedule.due_week`` for each job: the ISO week whose run is due there, or None
   (slot not reached yet, quiet hours, a holiday);
2. reminders: people are read page by page (``ReminderPages``: ``PEOPLE_PAGE`` ids at a time),
   ``core.reminders.collect`` says what is left for each (person -> items), and the page's
   messages are queued and its runs written before the next page is read — memory holds one
   page whatever the region; the person's zone is that of the organisation the reminder is about. Survey: people with a weekly role and reminders on, in
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
from zoneinfo import ZoneInfo

from storage.accounts import BEFORE_EVERYONE
from core.kernel.calendar import JOBS, Job, due_week, zones
from core.kernel.outgoing import Multicast, Outgoing
from core.kernel.ui import Button, Keyboard, Reply
from core.reminders import service as reminders
from core.reminders.payloads import RemindOff
from core.surveys.payloads import SurveyOpen
from storage.schedule import ALL_PEOPLE

if TYPE_CHECKING:
    from core.kernel.deps import Deps


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
        after = BEFORE_EVERYONE  # MAX people's ids are negative
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


def reminders_job(week: str) -> str:
    return f"reminders:{week}"


def reminder_key(week: str) -> str:
    return f"reminder:activation:{week}"


def survey_key(week: str) -> str:
    return f"survey:{week}"


@dataclass
class ReminderPages:
    """The reminders of the due weeks, people read page by page (``PEOPLE_PAGE`` ids at a time):
    what is left for them, their zone's week, whether they already have it — then their messages
    are queued and their runs written before the next page is read."""

    deps: "Deps"
    at: int
    tz_of: dict[int | None, ZoneInfo]
    weeks_of: dict[int | None, str]  # zone (None: the region's) -> its due reminder week

    def week_of(self, municipality_id: int | None) -> str | None:
        return self.weeks_of.get(municipality_id if municipality_id in self.tz_of else None)

    async def pages(self) -> AsyncIterator[dict[str, list[Outgoing]]]:
        """Per page: week -> the messages of that week's people on the page."""
        weeks = sorted(set(self.weeks_of.values()))
        after = ALL_PEOPLE[0]
        while weeks:
            async with self.deps.db.read() as tx:
                page = await tx.schedule.list_people_page(after, PEOPLE_PAGE)
                if not page:
                    return
                people = (after, page[-1])
                wanted = await reminders.collect(tx, self.deps.settings, self.at, people)
                done = {week: await tx.schedule.list_done("reminders", week, people)
                        for week in weeks}
            after = page[-1]
            grouped: dict[str, list[Outgoing]] = defaultdict(list)
            for peer, items in wanted.items():
                municipality_id = items[0].municipality_id  # the zone of the first item's org
                week = self.week_of(municipality_id)
                if week is None or peer in done[week]:
                    continue
                tz = self.tz_of.get(municipality_id, self.tz_of[None])
                reply = reminders.reminder_reply(self.deps, items, tz)
                grouped[week].append(Outgoing(peer, reply, "reminder", reminder_key(week)))
            if grouped:
                yield grouped


PEOPLE_PAGE = 5000  # people whose reminders are worked out at a time


async def plan(deps: "Deps", now: datetime
               ) -> tuple[dict[str, list[str]], ReminderPages, list[SurveyStream]]:
    settings = deps.settings
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
    roles = tuple(reminders.weekly_roles(settings))
    streams = [SurveyStream(deps, week, roles, frozenset(tz_of), due["survey"],
                            survey_invite(deps, week))
               for week in weeks["survey"]]
    pages = ReminderPages(deps, int(now.timestamp()), tz_of, due["reminders"])
    return {job: weeks[job] for job in JOBS if weeks[job]}, pages, streams


async def tick(deps: "Deps", now: datetime | None = None) -> TickReport:
    now = now or deps.clock.now()
    due, reminder_pages, streams = await plan(deps, now)
    report = TickReport(due=due)
    at = int(now.timestamp())
    queued: dict[str, int] = {}
    async for grouped in reminder_pages.pages():
        for week, messages in sorted(grouped.items()):
            job = reminders_job(week)
            await deps.messenger.enqueue_bulk(job, messages, complete=False)
            async with deps.db.transaction() as tx:
                await tx.schedule.insert_runs("reminders", week,
                                              [m.peer_id for m in messages], at)
            queued[week] = queued.get(week, 0) + len(messages)
    for week, count in sorted(queued.items()):
        job = reminders_job(week)
        await deps.messenger.enqueue_bulk(job, [], complete=True)  # the job may now finish
        report.queued["reminders"] = report.queued.get("reminders", 0) + count
        report.jobs.append(job)
    for stream in streams:
        await deps.messenger.enqueue_bulk(stream.outbox_job, stream.messages())
        async with deps.db.transaction() as tx:
            await tx.schedule.upsert_runs_of_job("survey", stream.week, stream.outbox_job, at)
        if stream.count:
            report.queued["survey"] = report.queued.get("survey", 0) + stream.count
            report.jobs.append(stream.outbox_job)
    return report
