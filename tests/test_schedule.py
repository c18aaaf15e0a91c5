"""Weekly reminders and the difficulty survey: the in-process bot with a clock the test moves.

The scheduler's interval job only wakes ``tick`` up; tests call
``app.deps.services["schedule"].tick()`` after moving the clock, so no test waits real hours.
People and organisations are seeded through the repositories (the activation contract columns of
migration 0004 are set directly, as the activation flow would leave them).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import App
from bot.vkemu import VKEmulator
from bot.vkemu.server import ReceivedMessage
from core.kernel.clock import FixedClock, unix
from core.kernel.domain import STEP_NAMES, WAITING_STEPS
from core.reminders.service import step_texts
from core.kernel.calendar import due_week, in_quiet_hours, iso_week
from core.surveys.service import SurveyError, load_survey
from storage import Tx
from core.reminders import weekly
from tests.conftest import InProcessBot

NSK = ZoneInfo("Asia/Novosibirsk")
DAY = 24 * 3600
SURVEY_DIR = Path(__file__).resolve().parent.parent / "content" / "surveys"
W48 = "2026-W48"  # Monday 23 November 2026 .. Sunday 29 November 2026


def local(day: int, hour: int, minute: int = 0, tz: ZoneInfo = NSK) -> datetime:
    """A moment given as a day of November 2026 (or later: day > 30) and a local hour."""
    moment = datetime(2026, 11, 1, hour, minute, tzinfo=tz) + timedelta(days=day - 1)
    return moment.astimezone(timezone.utc)


@pytest.fixture
def schedule_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def config_overrides(schedule_overrides: dict[str, Any]) -> dict[str, Any]:
    return {"schedule": schedule_overrides} if schedule_overrides else {}


# --------------------------------------------------------------------------------------------
# Seeding and waiting
# --------------------------------------------------------------------------------------------
@dataclass
class World:
    bot: InProcessBot
    emu: VKEmulator

    @property
    def app(self) -> App:
        assert self.bot.app is not None
        return self.bot.app

    @property
    def clock(self) -> FixedClock:
        return self.bot.clock

    def now(self) -> int:
        return unix(self.clock)

    async def municipality(self, name: str) -> int:
        async with self.app.deps.db.read() as tx:
            found = [m.id for m in await tx.territory.list_municipalities() if m.name == name]
        return found[0]

    async def org(self, name: str, municipality: str = "г. Новосибирск", *, step: int,
                  days_on_step: float, admin: int | None = None) -> int:
        mid = await self.municipality(municipality)
        now = self.now()
        async with self.app.deps.db.transaction() as tx:
            org = await tx.territory.insert_organisation(name, "school", mid, None, now - 100 * DAY)
            await tx.execute(
                "UPDATE organisations SET step = ?, step_updated_at = ?, admin_vk_id = ?"
                " WHERE id = ?", (step, int(now - days_on_step * DAY), admin, org.id))
            if admin is not None:
                await self._person(tx, admin, "org_admin", org.id)
        return org.id

    async def person(self, vk_id: int, role: str = "staff", org_id: int | None = None, *,
                     inbound_days_ago: float = 0.1, newsletter: bool = True,
                     reminders_on: bool = True) -> None:
        async with self.app.deps.db.transaction() as tx:
            await self._person(tx, vk_id, role, org_id, inbound_days_ago=inbound_days_ago,
                               newsletter=newsletter, reminders_on=reminders_on)

    async def _person(self, tx: Tx, vk_id: int, role: str, org_id: int | None, *,
                      inbound_days_ago: float = 0.1, newsletter: bool = True,
                      reminders_on: bool = True) -> None:
        now = self.now()
        await tx.users.upsert_seen(vk_id, int(now - inbound_days_ago * DAY))
        await tx.users.update_role(vk_id, role, now)
        await tx.users.update_state(vk_id, "menu", {}, now)
        await tx.users.update_org(vk_id, org_id, now)
        await tx.users.update_flags(vk_id, newsletter_ok=newsletter, reminders_on=reminders_on)
        self.emu.add_user(vk_id, allows_messages=True)
        if newsletter:
            self.emu.subscribe(vk_id, 1)

    async def staff(self, vk_id: int, org_id: int, *, joined_days_ago: float,
                    confirmed: bool = False, **person: Any) -> None:
        await self.person(vk_id, "staff", org_id, **person)
        now = self.now()
        joined = int(now - joined_days_ago * DAY)
        async with self.app.deps.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO staff (vk_id, org_id, joined_at, confirmed_at) VALUES (?, ?, ?, ?)",
                (vk_id, org_id, joined, joined + 3600 if confirmed else None))

    async def tick(self, at: datetime | None = None) -> dict[str, int]:
        if at is not None:
            self.clock._now = at
        report = await self.app.deps.services["schedule"].tick()
        await self.settle()
        return report.queued

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the outbox is empty and the sender has nothing in flight."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            async with self.app.deps.db.read() as tx:
                pending = await tx.outbox.count_pending()
            if pending == 0 and await self.app.sender.idle():
                return
            assert loop.time() < deadline, f"{pending} messages still pending"
            await asyncio.sleep(0.02)

    def inbox(self, vk_id: int) -> list[ReceivedMessage]:
        return self.emu.inbox(vk_id)

    async def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        async with self.app.deps.db.read() as tx:
            return [tuple(r) for r in await tx.fetchall(query, params)]


@pytest.fixture
async def world(bot_inprocess: InProcessBot, emulator: VKEmulator) -> World:
    made = World(bot_inprocess, emulator)
    await made.tick()  # waits for the catch-up tick of the start (the database is still empty)
    return made


async def pending_rows(world: World) -> int:
    import sqlite3

    with sqlite3.connect(world.bot.settings.storage.path) as db:
        return db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()[0]


def payload_of(message: ReceivedMessage, label: str) -> dict[str, Any]:
    for row in (message.keyboard or {}).get("buttons", []):
        for button in row:
            if button["action"].get("label") == label:
                raw = button["action"]["payload"]
                return json.loads(raw) if isinstance(raw, str) else raw
    raise AssertionError(f"no button {label!r} in {message.buttons}")


# --------------------------------------------------------------------------------------------
# Pure timing rules
# --------------------------------------------------------------------------------------------
def test_due_week_rules() -> None:
    from bot.config import ScheduleSettings

    s = ScheduleSettings(reminder_weekday=1, reminder_hour=10, quiet_start=21, quiet_end=8,
                         holidays=[(date(2026, 12, 29), date(2027, 1, 11))])
    monday = datetime(2026, 11, 23, tzinfo=NSK)
    assert due_week("reminders", monday.replace(hour=9, minute=59), s) is None
    assert due_week("reminders", monday.replace(hour=10), s) == W48
    assert due_week("reminders", monday.replace(hour=21), s) is None          # quiet
    assert due_week("reminders", monday + timedelta(days=1, hours=7), s) is None
    assert due_week("reminders", monday + timedelta(days=1, hours=8), s) == W48  # made up
    assert due_week("reminders", monday + timedelta(days=6, hours=20), s) == W48
    assert due_week("reminders", datetime(2026, 12, 29, 12, tzinfo=NSK), s) is None  # holiday
    assert due_week("reminders", datetime(2027, 1, 12, 12, tzinfo=NSK), s) == "2027-W02"
    assert in_quiet_hours(3, s) and not in_quiet_hours(8, s) and in_quiet_hours(23, s)
    assert iso_week(date(2027, 1, 1)) == "2026-W53"


def test_the_kernels_step_facts_are_those_of_the_activation_table() -> None:
    from core.activation.service import STEPS

    assert WAITING_STEPS == (2,) == tuple(n for n, step in STEPS.items() if step.actor != "admin")
    assert STEP_NAMES == {n: step.key for n, step in STEPS.items()}


def test_survey_file_is_valid_and_summaries_can_read_it() -> None:
    from core.admin.figures import load_options

    survey = load_survey(SURVEY_DIR)
    assert [q.id for q in survey.questions] == ["difficulties", "other", "confidence",
                                                "messages", "comment"]
    assert survey.numbered == ["difficulties", "confidence", "messages", "comment"]
    difficulties = survey.first
    assert {"login", "ejd", "chats", "calls", "files", "parents", "app", "other"} <= {
        o.id for o in difficulties.options}
    assert [o.id for o in load_options(survey)] == [o.id for o in difficulties.options]


@pytest.mark.parametrize("change,problem", [
    (lambda d: d["questions"][0]["options"][0].update(label="х" * 39), "at most 38"),
    (lambda d: d["questions"][2]["options"].append({"id": "6", "label": "6"}), "must be among"),
    (lambda d: d["questions"][0]["options"].append({"id": "chats", "label": "Ещё"}), "repeat"),
    (lambda d: d["questions"][1].update(when={"question": "messages", "option": "0"}), "earlier"),
    (lambda d: d["questions"][3].update(kind="multi"), "must be of kind single"),
    (lambda d: d["questions"].append(dict(d["questions"][4])), "appears twice"),
])
def test_a_broken_survey_file_is_refused_with_a_clear_message(tmp_path: Path, change: Any,
                                                              problem: str) -> None:
    import yaml

    data = yaml.safe_load((SURVEY_DIR / "weekly.yaml").read_text(encoding="utf-8"))
    change(data)
    (tmp_path / "weekly.yaml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                          encoding="utf-8")
    with pytest.raises(SurveyError) as error:
        load_survey(tmp_path)
    assert "weekly.yaml" in str(error.value) and problem in str(error.value)


# --------------------------------------------------------------------------------------------
# Reminders
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", [weekly.PEOPLE_PAGE, 1, 3], ids=["one_page", "page_of_1", "page_of_3"])
async def test_reminders_go_to_exactly_the_right_people(world: World, page: int,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # People are read a page at a time; whatever the page, everyone due gets exactly one.
    monkeypatch.setattr(weekly, "PEOPLE_PAGE", page)
    # Monday 23 November, 10:00 in Novosibirsk: the reminder slot (defaults: Monday 10:00).
    a = await world.org("Школа А", step=4, days_on_step=10, admin=101)     # stuck on step 4
    await world.org("Школа Б", step=4, days_on_step=3, admin=102)          # moving: not stuck
    await world.org("Школа В", step=2, days_on_step=20, admin=103)         # waits for coordinators
    d = await world.org("Школа Г", step=9, days_on_step=30, admin=104)     # activated
    await world.org("Школа Д", step=6, days_on_step=8, admin=105)          # admin said «no»
    await world.person(105, "org_admin", reminders_on=False)
    await world.staff(201, d, joined_days_ago=5)                     # not confirmed: remind
    await world.staff(202, d, joined_days_ago=5, confirmed=True)     # done: nothing
    await world.staff(203, d, joined_days_ago=1)                     # joined yesterday: wait
    await world.staff(204, a, joined_days_ago=3)
    await world.person(301, "staff")                                 # nothing left to do
    await world.person(302, "parent")

    queued = await world.tick()
    assert queued == {"reminders": 4}
    got = {uid: world.inbox(uid) for uid in (101, 102, 103, 104, 105, 201, 202, 203, 204, 301, 302)}
    assert {uid for uid, inbox in got.items() if inbox} == {101, 104, 201, 204}
    assert all(len(inbox) <= 1 for inbox in got.values())

    admin_a = got[101][0].text
    title, todo = step_texts(world.app.deps, 4)   # the activation flow's own words for step 4
    assert f"Школа А — шаг 4 из 8 («{title}»), без изменений с 13.11.2026. Осталось: {todo}" \
        in admin_a
    assert "https://sferum.ru" in todo
    assert "Школа А: ещё не подтвердили регистрацию сотрудников — 1." in admin_a
    assert got[101][0].buttons == ["Продолжить", "Не напоминать"]
    assert payload_of(got[101][0], "Продолжить")["cmd"] == "act"   # the activation flow itself
    assert "Школа Г: ещё не подтвердили" in got[104][0].text and "шаг " not in got[104][0].text
    assert "организации Школа Г, но ещё не отметили регистрацию" in got[201][0].text
    assert "организации Школа А, но ещё не отметили регистрацию" in got[204][0].text
    assert all(m.intent is None for m in (got[101][0], got[201][0]))  # inside the 24-hour window

    # Later ticks of the same week send nothing again. The next Monday everyone still stuck is
    # reminded once more, and now also «Школа Б» (10 days on its step) and staff member 203.
    assert await world.tick(local(23, 15)) == {}
    assert await world.tick(local(30, 10)) == {"reminders": 6}
    assert {uid: len(world.inbox(uid)) for uid in got if world.inbox(uid)} == {
        101: 2, 102: 1, 104: 2, 201: 2, 203: 1, 204: 2}


async def test_quiet_hours_and_a_municipality_in_another_time_zone(world: World) -> None:
    await world.org("Школа Новосибирска", step=5, days_on_step=9, admin=111)
    await world.org("Школа Мирного", "Мирнинский район", step=5, days_on_step=9, admin=112)
    await world.org("Школа Искитима", "Искитимский район", step=5, days_on_step=9, admin=113)

    # 08:30 in Novosibirsk (and in Iskitim, which has the region's zone) is 10:30 in Mirny
    # (Asia/Yakutsk): only Mirny's slot has come.
    assert await world.tick(local(23, 8, 30)) == {"reminders": 1}
    assert [len(world.inbox(u)) for u in (111, 112, 113)] == [0, 1, 0]
    # 10:00 in Novosibirsk: the others, and Mirny not again.
    assert await world.tick(local(23, 10)) == {"reminders": 2}
    assert [len(world.inbox(u)) for u in (111, 112, 113)] == [1, 1, 1]

    # The next week the bot is down at 10:00 and comes back at 22:00: quiet hours (21..8), so
    # the run is made up on Tuesday at 8:00 local, in each zone separately.
    assert await world.tick(local(30, 22)) == {}
    assert await world.tick(local(31, 7, 59)) == {"reminders": 1}        # Mirny: 9:59 — due
    assert [len(world.inbox(u)) for u in (111, 112, 113)] == [1, 2, 1]
    assert await world.tick(local(31, 8)) == {"reminders": 2}
    assert [len(world.inbox(u)) for u in (111, 112, 113)] == [2, 2, 2]


@pytest.mark.parametrize("schedule_overrides", [{"quiet_start": 21, "quiet_end": 8}])
async def test_nothing_is_queued_in_quiet_hours_even_when_due(world: World) -> None:
    await world.org("Школа", step=3, days_on_step=8, admin=114)
    for day, hour in ((23, 21), (23, 23), (24, 0), (24, 7)):
        assert await world.tick(local(day, hour)) == {}, (day, hour)
    assert world.inbox(114) == []
    assert await world.tick(local(24, 8)) == {"reminders": 1}


async def test_opting_out_and_back_in(world: World, users: Any) -> None:
    org = await world.org("Школа", step=9, days_on_step=30, admin=None)
    await world.staff(141, org, joined_days_ago=4)
    teacher = users(141)
    await world.tick()
    reminder = await teacher.next_reply()
    assert "ещё не отметили регистрацию" in reminder.text

    await teacher.press("Не напоминать")
    answer = await teacher.next_reply()
    assert "больше не буду напоминать" in answer.text
    assert teacher.buttons()[0] == "Напоминать снова"
    assert await world.sql("SELECT reminders_on FROM users WHERE vk_id = 141") == [(0,)]
    assert await world.tick(local(30, 10)) == {}                 # next Monday: nothing
    assert await world.tick(local(34, 12)) == {}                 # and no survey either
    assert len(world.inbox(141)) == 2

    await teacher.send("Напоминать снова")                       # typed command
    assert "снова включены" in (await teacher.next_reply()).text
    assert await world.sql("SELECT reminders_on, newsletter_ok FROM users WHERE vk_id = 141") \
        == [(1, 1)]
    await teacher.send("напоминания")                            # the screen, typed
    screen = await teacher.next_reply()
    assert "включены" in screen.text and screen.buttons == ["Не напоминать"]
    assert await world.tick(local(37, 10)) == {"reminders": 1}
    assert "ещё не отметили регистрацию" in (await teacher.next_reply()).text

    # «Напоминания» is in the main menu.
    await teacher.press_payload({"cmd": "menu"}, label="Главное меню")
    await teacher.next_reply()
    assert "Напоминания" in teacher.buttons()
    await teacher.press("Напоминания")
    assert "включены" in (await teacher.next_reply()).text

    # «Продолжить» under the reminder leads into the staff member's own registration flow.
    reminder = world.inbox(141)[-3]
    assert payload_of(reminder, "Продолжить") == {"cmd": "stf"}
    await teacher.press_payload({"cmd": "stf"}, label="Продолжить")
    assert "кнопка устарела" not in (await teacher.next_reply()).text


async def test_without_consent_and_outside_24_hours_nobody_is_written_to(world: World) -> None:
    world.clock._now = local(27, 12)                                   # Friday 12:00
    await world.person(151, inbound_days_ago=3, newsletter=False)     # no consent, window shut
    await world.person(152, inbound_days_ago=3, newsletter=True)      # consent
    await world.person(153, inbound_days_ago=0.5, newsletter=False)   # wrote 12 hours ago
    assert await world.tick() == {"survey": 3}
    assert world.inbox(151) == []
    [to_152], [to_153] = world.inbox(152), world.inbox(153)
    assert to_152.intent == "non_promo_newsletter" and to_153.intent is None
    rows = await world.sql("SELECT peer_id, status FROM outbox WHERE job_id ="
                           " (SELECT id FROM outbox_jobs WHERE name = ?) ORDER BY peer_id",
                           (f"survey:{W48}",))
    assert rows == [(151, "not_allowed"), (152, "delivered"), (153, "delivered")]
    assert not [c for c in world.emu.calls if "151" in c.params.get("peer_ids", "")
                + c.params.get("peer_id", "")]


# --------------------------------------------------------------------------------------------
# The survey's schedule
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule_overrides", [
    {"holidays": [["2026-11-27", "2026-11-29"], ["2026-12-04", "2026-12-04"]]}])
async def test_holidays_skip_the_survey(world: World) -> None:
    await world.person(121)
    await world.person(122, "parent")                                  # survey_parents = false
    for day in (27, 28, 29):                                           # Fri..Sun: holidays
        assert await world.tick(local(day, 12)) == {}
    assert world.inbox(121) == []
    assert await world.tick(local(34, 12)) == {}                       # Fri 4 Dec: a holiday
    assert await world.tick(local(35, 12)) == {"survey": 1}            # made up on Saturday
    [invite] = world.inbox(121)
    assert "опрос недели" in invite.text and invite.buttons == ["Пройти опрос", "Не напоминать"]
    assert payload_of(invite, "Пройти опрос") == {"cmd": "survey.open", "w": "2026-W49",
                                                  "again": False}
    assert world.inbox(122) == []


@pytest.mark.parametrize("schedule_overrides", [{"survey_parents": True}])
async def test_parents_get_the_survey_when_configured(world: World) -> None:
    await world.person(123, "parent")
    await world.person(124, "coordinator")
    assert await world.tick(local(27, 12)) == {"survey": 1}
    assert len(world.inbox(123)) == 1 and world.inbox(124) == []


async def test_a_restart_before_during_and_after_the_run_sends_nothing_twice(
        world: World, bot_inprocess: InProcessBot, emulator: VKEmulator) -> None:
    people = list(range(400, 430))
    org = await world.org("Школа", step=9, days_on_step=30)
    for uid in people:
        await world.person(uid, org_id=org)
    for uid in people[:5]:
        async with world.app.deps.db.transaction() as tx:
            await tx.execute("INSERT INTO staff (vk_id, org_id, joined_at) VALUES (?, ?, ?)",
                             (uid, org, world.now() - 5 * DAY))

    def counts() -> list[int]:
        return [len(emulator.inbox(uid)) for uid in people]

    # Before: the bot is down at the reminder slot (Monday 10:00) and the survey slot (Friday
    # 12:00) and starts on Friday 15:00: both runs are made up once, right after the start.
    await bot_inprocess.stop()
    world.clock._now = local(27, 15)
    await bot_inprocess.start()
    assert await emulator.wait_until(lambda: sum(counts()) == 35, 10), counts()
    assert await world.tick() == {}
    await bot_inprocess.restart()
    await asyncio.wait_for(world.app.deps.services["schedule"].caught_up.wait(), 10)
    assert await world.tick() == {}
    await world.settle()
    assert counts() == [2] * 5 + [1] * 25

    # During: the next Friday the survey request reaches VK but its answer is lost, and the bot
    # stops before it retries. After the restart the sender resumes from the outbox with the same
    # random_id, so nobody gets it twice, and the scheduler does not queue it again.
    # (Several lost answers in a row, so the bot is surely stopped before a retry gets through,
    # however slow the machine running the test is.)
    emulator.inject_http_failure("messages.send", after_processing=True, count=10)
    emulator.inject_http_failure("execute", after_processing=True, count=10)
    sends_before = len(emulator.calls)
    world.clock._now = local(34, 12)
    report = await world.app.deps.services["schedule"].tick()
    assert report.queued == {"reminders": 5, "survey": 30}
    assert await emulator.wait_until(
        lambda: any(c.http_status != 200 for c in emulator.calls[sends_before:]), 5)
    await bot_inprocess.stop()
    pending = await pending_rows(world)
    assert pending > 0, "the bot stopped with the survey half-sent"
    emulator.clear_injections()
    await bot_inprocess.start()
    await world.settle()
    assert counts() == [4] * 5 + [2] * 25
    rows = await world.sql("SELECT status, COUNT(*) FROM outbox WHERE job_id ="
                           " (SELECT id FROM outbox_jobs WHERE name = ?) GROUP BY status",
                           ("survey:2026-W49",))
    assert rows == [("delivered", 30)]

    # A crash between queueing and recording the run: the next tick queues the same
    # (job, peer, key) again, which the outbox ignores. (The catch-up tick of the restart has
    # run by now, so the tick below is the one that finds the runs missing.)
    await asyncio.wait_for(world.app.deps.services["schedule"].caught_up.wait(), 10)
    async with world.app.deps.db.transaction() as tx:
        await tx.execute("DELETE FROM schedule_runs WHERE job = 'survey' AND period = '2026-W49'")
    assert await world.tick() == {"survey": 30}
    assert counts() == [4] * 5 + [2] * 25

    # After: restarts later in the week change nothing.
    await bot_inprocess.restart()
    world.clock._now = local(36, 18)
    assert await world.tick() == {}
    assert counts() == [4] * 5 + [2] * 25


# --------------------------------------------------------------------------------------------
# The survey conversation
# --------------------------------------------------------------------------------------------
async def answer_row(world: World, vk_id: int) -> list[tuple[Any, ...]]:
    return await world.sql(
        "SELECT week, role, org_id, municipality_id, difficulties, other_text, confidence,"
        " messages, comment, completed, question FROM survey_answers WHERE vk_id = ?", (vk_id,))


@pytest.mark.parametrize("schedule_overrides", [{"survey_weekday": 1, "survey_hour": 10}])
async def test_a_survey_begun_on_monday_and_finished_on_thursday_counts_once(
        world: World, users: Any) -> None:
    org = await world.org("Школа", step=9, days_on_step=30)
    mid = await world.municipality("г. Новосибирск")
    await world.person(131, org_id=org)
    teacher = users(131)
    assert await world.tick() == {"survey": 1}                   # Monday 10:00
    await teacher.next_reply()

    await teacher.press("Пройти опрос")
    first = await teacher.next_reply()
    assert first.text.startswith("Вопрос 1 из 4.") and "Дальше" in teacher.buttons()
    await teacher.press("Чаты")
    ticked = await teacher.next_reply()
    assert "Отмечено: Чаты." in ticked.text and "✓ Чаты" in teacher.buttons()
    await teacher.press("Другое")
    await teacher.next_reply()
    await teacher.press("Трудностей не было")                   # exclusive: clears the others
    assert "Отмечено: Трудностей не было." in (await teacher.next_reply()).text
    await teacher.press("Чаты")                                 # ... and is cleared by them
    await teacher.next_reply()
    await teacher.press("Звонки и трансляции")
    await teacher.next_reply()
    await teacher.press("Другое")
    await teacher.next_reply()
    await teacher.press("✓ Другое")                              # unticked again
    assert "Отмечено: Чаты, Звонки и трансляции." in (await teacher.next_reply()).text
    await teacher.press("Дальше")
    assert (await teacher.next_reply()).text.startswith("Вопрос 2 из 4.")
    await teacher.press("3")
    assert (await teacher.next_reply()).text.startswith("Вопрос 3 из 4.")
    await teacher.press("Позже")
    later = await teacher.next_reply()
    assert "ответы сохранены" in later.text and "Главное меню" in later.text
    assert await answer_row(world, 131) == [
        (W48, "staff", org, mid, "chats,calls", None, 3, None, None, 0, "messages")]

    # Thursday: the scheduler does not send it again; the same button resumes at question 3.
    world.clock._now = local(26, 18)
    assert await world.tick() == {}
    await teacher.press("Пройти опрос")
    assert (await teacher.next_reply()).text.startswith("Вопрос 3 из 4.")
    await teacher.press("10 и больше")
    assert (await teacher.next_reply()).text.startswith("Вопрос 4 из 4.")
    await teacher.send("Нужна памятка по трансляциям")
    done = await teacher.next_reply()
    assert "Спасибо! Ответы сохранены." in done.text and "активный педагог" in done.text
    assert "Главное меню" in done.text
    assert await answer_row(world, 131) == [
        (W48, "staff", org, mid, "chats,calls", None, 3, "10+", "Нужна памятка по трансляциям",
         1, None)]
    started, updated = (await world.sql(
        "SELECT started_at, updated_at FROM survey_answers WHERE vk_id = 131"))[0]
    assert updated - started == 3 * DAY + 8 * 3600

    # Answering again the same week replaces the answer: still one row, the last answer counts.
    await teacher.press("Пройти опрос")
    already = await teacher.next_reply()
    assert "уже сохранены" in already.text
    await teacher.press("Ответить заново")
    await teacher.next_reply()
    assert "✓ Чаты" in teacher.buttons()                         # earlier choices shown
    await teacher.press("Дальше")
    await teacher.next_reply()
    await teacher.send("5")                                      # a label typed works too
    await teacher.next_reply()
    await teacher.press("От 1 до 9")
    await teacher.next_reply()
    await teacher.press("Пропустить")
    assert "Спасибо! Ответы сохранены." in (await teacher.next_reply()).text
    assert await answer_row(world, 131) == [
        (W48, "staff", org, mid, "chats,calls", None, 5, "1-9", None, 1, None)]

    # Next week's button of this week's survey is outdated: said so politely.
    world.clock._now = local(30, 9)
    await teacher.press_payload({"cmd": "survey.open", "w": W48}, label="Пройти опрос")
    closed = await teacher.next_reply()
    assert "уже закрыт" in closed.text and "Главное меню" in closed.text


GARBAGE = [
    ("empty", dict(text=""), "пустым"),
    ("5000 characters", dict(text="очень длинный ответ " * 250), "кнопкой ниже"),
    ("emoji only", dict(text="😀😀👍🔥"), "кнопкой ниже"),
    ("sticker", dict(text="", attachments="sticker"), "Вложения"),
    ("forged payload", dict(text="3", payload={"cmd": "survey.pick", "opt": "nope"}),
     "кнопка устарела"),
    ("unknown option", dict(text="6", payload={"cmd": "survey.pick", "q": "confidence",
                                               "opt": "nope"}), "Такого варианта"),
    ("another question", dict(text="0", payload={"cmd": "survey.pick", "q": "messages",
                                                 "opt": "0"}), "другому вопросу"),
    ("payload not json", dict(text="x", payload="{not json"), "кнопка устарела"),
]


async def test_garbage_in_the_survey_is_answered_politely_and_nothing_is_lost(
        world: World, users: Any) -> None:
    from bot.vkemu.driver import STICKER_ATTACHMENT
    from bot.vkemu.keyboard import payload_to_string

    world.clock._now = local(27, 12)                            # Friday: the survey slot
    await world.person(132)
    teacher = users(132)
    assert await world.tick() == {"survey": 1}
    await teacher.next_reply()
    await teacher.press("Пройти опрос")
    await teacher.next_reply()
    await teacher.press("Дальше")                               # nothing ticked yet
    assert "хотя бы один вариант" in (await teacher.next_reply()).text
    await teacher.press("Чаты")
    await teacher.next_reply()
    await teacher.press("Другое")
    await teacher.next_reply()
    await teacher.press("Дальше")
    follow_up = await teacher.next_reply()                      # «Другое» asks what exactly
    assert "что ещё вызвало трудности" in follow_up.text and "Вопрос" not in follow_up.text
    await teacher.send("")
    assert "пустым" in (await teacher.next_reply()).text
    await teacher.send("Не вижу чат класса")
    assert (await teacher.next_reply()).text.startswith("Вопрос 2 из 4.")

    for name, event, expected in GARBAGE:
        payload = event.get("payload")
        await world.emu.user_message(
            132, event["text"],
            payload=None if payload is None else payload_to_string(payload),
            attachments=[STICKER_ATTACHMENT] if event.get("attachments") else None)
        reply = await teacher.next_reply()
        assert expected in reply.text, (name, reply.text)
        assert "Насколько уверенно" in reply.text, name        # the same question again
        assert {"1", "2", "3", "4", "5", "Позже"} <= set(teacher.buttons()), name
        assert len(reply.text) <= 4096
    assert await answer_row(world, 132) == [(W48, "staff", None, None, "chats,other",
                                             "Не вижу чат класса", None, None, None, 0,
                                             "confidence")]

    await teacher.send("4")
    await teacher.next_reply()
    await teacher.press("Ни одного")
    await teacher.next_reply()
    await teacher.send("🙂")
    assert "Не получилось прочитать" in (await teacher.next_reply()).text
    await teacher.send("ж" * 5000)
    done = await teacher.next_reply()
    assert "первые 1000 символов" in done.text and "Спасибо! Ответы сохранены." in done.text
    [row] = await answer_row(world, 132)
    assert row[4:8] == ("chats,other", "Не вижу чат класса", 4, "0")
    assert len(row[8]) == 1000 and row[9] == 1


async def test_the_consent_to_weekly_messages_is_asked_after_the_role(world: World,
                                                                      users: Any) -> None:
    async def choose(uid: int, role: str) -> list[ReceivedMessage]:
        person = users(uid)
        await person.send("Начать")
        await person.next_reply()
        await person.press(role)
        return await person.replies()

    teacher_replies = await choose(161, "Педагог или сотрудник")
    assert "педагог или сотрудник" in teacher_replies[0].text
    assert "Присылать Вам напоминания и опросы?" in teacher_replies[-1].text
    assert teacher_replies[-1].buttons == ["Да", "Нет"]
    await world.emu.user_message(161, "Да", payload=json.dumps({"cmd": "remind.sub", "yes": True}))
    teacher = world.inbox(161)
    assert await world.emu.wait_until(lambda: len(world.inbox(161)) > len(teacher), 5)
    assert "Буду присылать раз в неделю" in world.inbox(161)[-1].text
    assert await world.sql("SELECT newsletter_ok, reminders_on FROM users WHERE vk_id = 161") \
        == [(1, 1)]

    parent_replies = await choose(162, "Родитель")               # no weekly messages for parents
    assert not any("Присылать" in m.text for m in parent_replies)

    admin_replies = await choose(163, "Администратор школы")
    assert "Присылать Вам напоминания и опросы?" in admin_replies[-1].text
    await world.emu.user_message(163, "Нет",
                                 payload=json.dumps({"cmd": "remind.sub", "yes": False}))
    assert await world.emu.wait_until(lambda: "не буду присылать" in world.inbox(163)[-1].text, 5)
    assert await world.sql("SELECT newsletter_ok, reminders_on FROM users WHERE vk_id = 163") \
        == [(0, 0)]
