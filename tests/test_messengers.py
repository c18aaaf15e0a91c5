"""The same bot in VK and in MAX (issue 11): conversations that run on both messengers, a bot
serving both at once, and the migration that made every existing user a VK account.

A MAX person's first contact is «Начать» (bot_started), with the invitation code as its start
payload where VK has ``ref`` (tests/conftest.py: MaxPerson)."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.maxemu import MaxEmulator
from bot.maxemu.keyboard import button_labels
from bot.vkemu import EmulatedUser, VKEmulator
from core.kernel.clock import unix
from storage import Database
from storage.db import migration_files
from tests.conftest import COORDINATOR, OUTPUT, BotProcess, InProcessBot, MaxPerson
from tests.test_activation import press, said, say

OUTPUT_DIR = OUTPUT / "transcripts"
BOTH = pytest.mark.parametrize("messenger", ["vk", "max"])
CODE = "KX7M4TP"
LINK = "https://sferum.ru/?invite=7f3k9q"
REGISTERED = "Я зарегистрировался(ась)"
QUESTION = "Квазизяблик не пускает в личный кабинет, что делать с ним"


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db_path)) as db, db:
        return db.execute(sql, params).fetchall()


def person_of(db_path: Path, messenger: str, external: int) -> int | None:
    found = rows(db_path, "SELECT person_id FROM accounts WHERE messenger = ? AND external_id = ?",
                 (messenger, external))
    return found[0][0] if found else None


@BOTH
async def test_staff_join_by_the_organisations_invitation_link(
        bot_inprocess: InProcessBot, users: Any, messenger: str, tmp_path: Path) -> None:
    """VK: https://vk.me/club1?ref=<code>; MAX: https://max.ru/<bot>?start=<code>. Either way
    the code is the person's ref and the organisation is offered after the role."""
    assert bot_inprocess.app is not None
    deps = bot_inprocess.app.deps
    async with deps.db.transaction() as tx:
        now = unix(deps.clock)
        [place, *_] = await tx.territory.list_municipalities()
        org = await tx.activation.upsert_org(None, "МБОУ «СОШ № 17»", "school", place.id, 101, 6,
                                             now)
        await tx.activation.update_links(org.id, [LINK])
        await tx.activation.update_deadline(org.id, "2026-12-10")
        assert await tx.activation.update_invite_code(org.id, CODE)

    anna = users(201, "Анна", "Смирнова")
    assert "по приглашению организации" in await say(anna, "Начать", ref=CODE)
    text = await press(anna, "Педагог или сотрудник")
    assert "по приглашению организации «МБОУ «СОШ № 17»»" in text
    assert "Присоединиться" in anna.buttons() and "Мои данные" in anna.buttons()
    text = await press(anna, "Присоединиться")
    assert "Согласие на обработку" in text
    # what is stored is what the messenger gives: no VK page or sex for a MAX person
    if messenger == "max":
        assert "имя из профиля MAX, организация" in text and "VK" not in text, text
        full = await press(anna, "Полный текст")
        assert "имя из профиля MAX и номер учётной записи MAX;" in full and "VK" not in full
    else:
        assert "имя и пол из профиля VK" in text and "имя VK" in text, text
    text = await press(anna, "Даю согласие")
    assert "Вы присоединились к организации «МБОУ «СОШ № 17»»" in text and LINK in text
    assert "Шаг 1 из 3" in text
    # The step about the messenger itself says what is true in the messenger they write from.
    text = await press(anna, REGISTERED)
    assert "Шаг 2 из 3" in text
    if messenger == "max":
        assert "мессенджер MAX" in text and "VK Мессенджер" not in text
        assert "не подтверждён" in text  # the education-profile login in MAX is not confirmed
        assert "Открыть web.vk.me" not in anna.buttons()
    else:
        assert "VK Мессенджер" in text and "Открыть web.vk.me" in anna.buttons()

    person = person_of(tmp_path / "data" / "bot.sqlite3", messenger, 201)
    assert person is not None and (person < 0) == (messenger == "max")
    async with deps.db.read() as tx:
        staff = await tx.activation.get_staff(person)
    assert staff is not None and staff.org_id == org.id


@BOTH
async def test_my_data_shows_the_account_and_erasure_removes_it(
        bot: BotProcess, users: Any, messenger: str, tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "bot.sqlite3"
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await say(coordinator, "Начать")
    await press(coordinator, "Координатор")
    parent = users(6001, "Снежана", "Уникальнова")
    await say(parent, "Начать")
    await press(parent, "Родитель")
    text = await say(parent, QUESTION)
    assert "Спросить координатора" in parent.buttons(), text
    assert "Передал Ваш вопрос координатору" in await press(parent, "Спросить координатора")
    notice = (await coordinator.next_reply()).text
    assert "Квазизяблик" in notice  # across to the coordinator
    # who asks: a VK person by their page; a MAX person has no page by id, so «in MAX»
    if messenger == "max":
        assert "Снежана Уникальнова, родитель — пользователь MAX" in notice, notice
    else:
        assert "Снежана Уникальнова, родитель — vk.com/id6001" in notice, notice

    stored = await say(parent, "мои данные")
    assert QUESTION in stored and "Мессенджер, из которого Вы пишете боту" in stored
    assert messenger in stored  # the account's messenger is shown
    # What is stored is said in the person's messenger's words: no VK page for a MAX person.
    if messenger == "max":
        assert "Учётная запись MAX: номер 6001 (Снежана Уникальнова; имя — из профиля MAX" \
            in stored and "vk" not in stored.lower().replace("(vk или max)", ""), stored
    else:
        assert "Страница VK: vk.com/id6001 (Снежана Уникальнова" in stored, stored

    person = person_of(db_path, messenger, 6001)
    assert person is not None
    confirm = await press(parent, "Отозвать согласие и удалить")
    assert ("имя из профиля MAX" in confirm) == (messenger == "max"), confirm
    assert ("имя VK" in confirm) == (messenger == "vk"), confirm
    assert "согласие отозвано" in await press(parent, "Да, удалить мои данные")
    assert person_of(db_path, messenger, 6001) is None
    assert rows(db_path, "SELECT question FROM tickets WHERE vk_id = ?", (person,)) == [("",)]

    # Writing again is a new start: greeted as a newcomer.
    if isinstance(parent, MaxPerson):
        await parent.stop()
    assert "Кто Вы?" in await say(parent, "Начать")


@BOTH
async def test_all_eight_steps_with_a_coordinator(
        bot_inprocess: InProcessBot, users: Any, messenger: str, tmp_path: Path) -> None:
    """The whole activation, shorter than tests/test_activation.py's, on either messenger: the
    admin's application, the coordinator's steps 2–3, steps 3–8 with a teacher joining by the
    invitation of their messenger, and the coordinator's funnel counting the organisation."""
    db_path = tmp_path / "data" / "bot.sqlite3"
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await say(coordinator, "Начать")
    await press(coordinator, "Координатор")
    admin = users(101, "Ольга", "Иванова")
    await say(admin, "Начать")
    await press(admin, "Администратор школы")
    assert "Согласие на обработку" in await press(admin, "Активация профиля")
    assert "Вопрос 1 из 6" in await press(admin, "Даю согласие")
    await say(admin, "МБОУ «СОШ № 17»")
    await press(admin, "Школа (общее образование)")
    await press(admin, "г. Новосибирск")
    await say(admin, "Иванова Ольга Петровна")
    await say(admin, "8 (913) 123-45-67")
    assert "Проверьте заявку" in await say(admin, "olga@school17.ru")
    assert "Шаг 2 из 8" in await press(admin, "Отправить заявку")
    assert "Новая заявка №1" in (await coordinator.next_reply()).text

    text = await say(coordinator, "выгрузка")
    assert "Новые заявки для федеральных координаторов: 1" in text
    assert "Отмечено как переданные" in await press(coordinator, "Отметить 1 как переданные")
    assert "передана федеральным координаторам" in (await admin.next_reply()).text
    assert "Заявка №1" in await say(coordinator, "/applications")
    assert "статус «профиль создан»" in await press(coordinator, "Профиль создан")
    assert "в «Сферуме» создан" in (await admin.next_reply()).text

    assert "Шаг 3 из 8" in await press(admin, "Продолжить активацию")
    assert "Шаг 4 из 8" in await press(admin, "Готово")
    assert "Шаг 5 из 8" in await say(admin, "я уже зарегистрировался")
    await press(admin, "Один класс «Сотрудники»")
    assert "Всё на месте" in await say(admin, f"Вот ссылка: {LINK}")
    assert "Назначьте срок" in await press(admin, "Готово")
    text = await say(admin, "до 15 декабря")
    code = rows(db_path, "SELECT invite_code FROM organisations")[0][0]
    # VK only: its link; serving both: both links, the admin's own messenger's first
    in_vk, in_max = f"https://vk.me/club1?ref={code}", f"?start={code}"
    if messenger == "max":
        assert in_max in text and in_vk in text and text.index(in_max) < text.index(in_vk), text
    else:
        assert in_vk in text and in_max not in text, text

    teacher = users(201, "Анна", "Смирнова")
    assert "по приглашению организации" in await say(teacher, "Начать", ref=code)
    await press(teacher, "Педагог или сотрудник")
    await press(teacher, "Присоединиться")
    assert "Вы присоединились" in await press(teacher, "Даю согласие")
    assert "Шаг 2 из 3" in await press(teacher, REGISTERED)
    assert "Анна Смирнова" in (await admin.next_reply()).text

    assert "Шаг 7 из 8" in await press(admin, "Готово")
    text = await press(admin, "Готово")
    assert "Шаг 8 из 8" in text, text
    assert "Все 8 шагов пройдены" in await press(admin, "Готово")
    assert rows(db_path, "SELECT step FROM organisations") == [(9,)]

    text = await say(coordinator, "воронка")
    assert "Всего организаций: 1, активированы: 1" in text, text
    # step 7 is the messenger step: in MAX its name in the funnel is not VK's
    assert ("Шаг 7. Мессенджер для «Сферума»" in text) == (messenger == "max"), text
    assert ("Шаг 7. VK Мессенджер" in text) == (messenger == "vk"), text


@BOTH
async def test_a_reminder_and_the_survey_by_the_clock_and_the_summary_counts_it(
        bot_inprocess: InProcessBot, users: Any, messenger: str) -> None:
    """With the controllable clock: a teacher who joined by the invitation gets the Friday
    survey, answers it with buttons and gets Monday's reminder; the coordinator's summary counts
    the teacher's answer together with four others (the minimum group is 5)."""
    import asyncio
    from datetime import datetime
    from zoneinfo import ZoneInfo

    deps = bot_inprocess.app.deps
    clock = bot_inprocess.clock
    schedule = deps.services["schedule"]

    def at(day: int, hour: int) -> datetime:  # a day of November 2026, local Novosibirsk time
        return datetime(2026, 11, day, hour, tzinfo=ZoneInfo("Asia/Novosibirsk"))

    async def tick(moment: datetime) -> dict[str, int]:
        clock._now = moment
        report = await schedule.tick()
        for _ in range(500):  # until the outbox is empty and nothing is in flight (a fact)
            async with deps.db.read() as tx:
                pending = await tx.outbox.count_pending()
            if pending == 0 and await bot_inprocess.app.idle():
                break
            await asyncio.sleep(0.02)
        await bot_inprocess.emu.settle()
        return report.queued

    await tick(clock.now())  # the catch-up tick of the start: nobody yet
    async with deps.db.transaction() as tx:
        now = unix(deps.clock)
        [place, *_] = await tx.territory.list_municipalities()
        org = await tx.activation.upsert_org(None, "МБОУ «СОШ № 17»", "school", place.id, None,
                                             9, now)
        await tx.activation.update_links(org.id, [LINK])
        assert await tx.activation.update_invite_code(org.id, CODE)
        for n in range(4):  # four other answers this week: none of them about chats
            await tx.execute(
                "INSERT INTO survey_answers (week, vk_id, org_id, municipality_id, role,"
                " difficulties, confidence, messages, completed, started_at, updated_at)"
                " VALUES ('2026-W48', ?, ?, ?, 'staff', 'none', 4, '1-9', 1, ?, ?)",
                (90_001 + n, org.id, place.id, now, now))
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await say(coordinator, "Начать")
    await press(coordinator, "Координатор")
    teacher = users(201, "Анна", "Смирнова")
    await say(teacher, "Начать", ref=CODE)
    await press(teacher, "Педагог или сотрудник")
    await press(teacher, "Присоединиться")
    text = await press(teacher, "Даю согласие")
    assert "Вы присоединились" in text and "Присылать Вам напоминания" in text, text
    assert "Спасибо! Буду присылать" in await press(teacher, "Да")
    if messenger == "vk":  # VK: outside 24 hours only with the newsletter subscription
        bot_inprocess.emu.subscribe(201, 1)

    # Friday 12:00: the survey, and this week's reminder made up (the teacher joined after
    # Monday's slot and has not marked the registration since).
    assert await tick(at(27, 12)) == {"survey": 1, "reminders": 1}
    got = teacher.pending()
    assert any("Пройти опрос" in m.buttons for m in got), teacher.format_transcript()
    assert any("ещё не отметили регистрацию" in m.text for m in got), teacher.format_transcript()
    assert "Вопрос 1 из 4." in await press(teacher, "Пройти опрос")
    await press(teacher, "Чаты")
    assert "Вопрос 2 из 4." in await press(teacher, "Дальше")
    assert "Вопрос 3 из 4." in await press(teacher, "3")
    assert "Вопрос 4 из 4." in await press(teacher, "10 и больше")
    assert "Спасибо! Ответы сохранены." in await press(teacher, "Пропустить")

    # Monday 10:00: the teacher joined a week ago and has not marked the registration.
    assert await tick(at(30, 10)) == {"reminders": 1}
    reminder = teacher.pending()[-1]
    assert "ещё не отметили регистрацию" in reminder.text and "Продолжить" in reminder.buttons
    assert "Шаг 1 из 3" in await press(teacher, "Продолжить")

    text = await say(coordinator, "сводка 2026-W48")
    assert "Ответили: 5" in text, text
    assert "• Чаты: 1 — 20 %" in text, text


async def broadcast_to_all(coordinator: Any, text: str) -> None:
    await say(coordinator, "рассылка")
    await press(coordinator, "Всем")
    await say(coordinator, text)
    await coordinator.press("Отправить сейчас")


@pytest.mark.parametrize("messenger", ["max"])  # the bot serves VK and MAX at once
async def test_one_bot_both_messengers_one_broadcast_one_report(
        bot: BotProcess, emulator: VKEmulator, max_emulator: MaxEmulator, users: Any,
        tmp_path: Path) -> None:
    """A coordinator working from MAX reaches parents in VK and in MAX with one broadcast and
    gets one report; the outbox holds one job for both."""
    coordinator = users(COORDINATOR, "Галина", "Петрова")  # in MAX (the test's messenger)
    await say(coordinator, "Начать")
    await press(coordinator, "Координатор")
    in_max = users(7001, "Мария", "Иванова")
    in_vk = EmulatedUser(emulator, 7002, first_name="Ольга", last_name="Сидорова")
    users.made.append(in_vk)
    for parent in (in_max, in_vk):
        await say(parent, "Начать")
        await press(parent, "Родитель")
    vk_before = len(in_vk.inbox)
    # The dialog offers VK, MAX or both, and counts each messenger's people.
    await say(coordinator, "рассылка")
    text = await press(coordinator, "Всем")
    assert "Получателей сейчас: 3 — VK: 1, MAX: 2" in text, text
    assert {"Только в VK", "Только в MAX"} <= set(coordinator.buttons())
    await say(coordinator, "Вебинар для родителей в четверг в 18:00.")
    await coordinator.press("Отправить сейчас")
    assert await max_emulator.wait_until(
        lambda: any("Рассылка №1 завершена" in m.text
                    for m in max_emulator.inbox(COORDINATOR)), 30), \
        coordinator.format_transcript()
    report = next(m.text for m in max_emulator.inbox(COORDINATOR)
                  if "Рассылка №1 завершена" in m.text)
    assert any(m.text == "Вебинар для родителей в четверг в 18:00." for m in in_max.inbox)
    assert any(m.text == "Вебинар для родителей в четверг в 18:00."
               for m in in_vk.inbox[vk_before:])
    # one report counts everyone: both parents and the coordinator (in «Всем» too)
    assert "Получателей: 3 (VK: 1, MAX: 2)" in report, report
    assert "Доставлено: 3 (VK: 1, MAX: 2)" in report, report
    assert "Не удалось доставить: 0 (VK: 0, MAX: 0)" in report, report
    assert "в MAX остановили бота): 0 (VK: 0, MAX: 0)\n" in report, report
    # the status line: each messenger's progress, from the first version to the last
    status = next(m for m in max_emulator.inbox(COORDINATOR)
                  if m.text.startswith("Рассылка №1:"))
    assert "отправлено 3 из 3 (VK: 1 из 1, MAX: 2 из 2). Итоги" in status.text, status.text
    assert status.edits and "отправлено 0 из 3 (VK: 0 из 1, MAX: 0 из 2)…" in status.edits[0], \
        status.edits
    db_path = tmp_path / "data" / "bot.sqlite3"
    delivered = rows(db_path, "SELECT peer_id < 0, status FROM outbox")
    assert sorted(delivered) == [(0, "delivered"), (1, "delivered"), (1, "delivered")]


@pytest.mark.parametrize("messenger", ["max"])  # the bot serves VK and MAX at once
async def test_a_broadcast_only_to_max_people(
        bot_inprocess: InProcessBot, emulator: VKEmulator, max_emulator: MaxEmulator,
        users: Any) -> None:
    """A coordinator (here in MAX) narrows a broadcast to one messenger: the count, the preview's
    figures and the history say so, and VK people get nothing."""
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await say(coordinator, "Начать")
    await press(coordinator, "Координатор")
    in_max = users(7001, "Мария", "Иванова")
    in_vk = EmulatedUser(emulator, 7002, first_name="Ольга", last_name="Сидорова")
    users.made.append(in_vk)
    for parent in (in_max, in_vk):
        await say(parent, "Начать")
        await press(parent, "Родитель")
    await say(coordinator, "рассылка")
    await press(coordinator, "По роли")
    text = await press(coordinator, "Родителям")
    assert "Получателей сейчас: 2 — VK: 1, MAX: 1 (родители)" in text, text
    text = await press(coordinator, "Только в MAX")
    assert "Получателей сейчас: 1 (родители, только в MAX)" in text, text
    assert {"В VK и в MAX", "Только в VK"} <= set(coordinator.buttons())
    text = await say(coordinator, "Собрание в MAX в пятницу.")
    assert "Получателей: 1 (родители, только в MAX)" in text, text
    vk_before = len(in_vk.inbox)
    await coordinator.press("Отправить сейчас")
    assert await max_emulator.wait_until(
        lambda: any("Рассылка №1 завершена" in m.text
                    for m in max_emulator.inbox(COORDINATOR)), 30), \
        coordinator.format_transcript()
    report = next(m.text for m in max_emulator.inbox(COORDINATOR)
                  if "Рассылка №1 завершена" in m.text)
    assert "Получателей: 1\n" in report and "VK:" not in report, report
    assert "Остановили бота в MAX: 0\n" in report, report
    assert any(m.text == "Собрание в MAX в пятницу." for m in in_max.inbox)
    assert not any("Собрание" in m.text for m in in_vk.inbox[vk_before:])
    assert "родители, только в MAX" in await say(coordinator, "рассылки")


async def test_step_6_in_a_max_only_bot(emulator: VKEmulator, tmp_path: Path,
                                       clock: Any) -> None:
    """A bot without [vk]: step 6 gives the MAX invitation alone (no VK link, nothing empty),
    and a teacher who follows it joins the organisation."""
    from tests.conftest import MAX_TOKEN, base_config, max_section, settings_from_dict
    from tests.test_week_conversation import school_at_step_6

    max_emu = MaxEmulator(token=MAX_TOKEN)
    await max_emu.start()
    raw = base_config(emulator.api_url, tmp_path / "data" / "bot.sqlite3")
    del raw["vk"]
    raw["max"] = max_section(max_emu.base_url)
    runner = InProcessBot(emulator, settings_from_dict(raw, "test", environ={}), clock, max_emu)
    await runner.start()
    made: list[MaxPerson] = []
    try:
        assert runner.app is not None
        admin = MaxPerson(max_emu, 101, "Ольга", "Иванова", emulator.settle)
        made.append(admin)
        await say(admin, "Начать")
        await press(admin, "Администратор школы")
        person = person_of(tmp_path / "data" / "bot.sqlite3", "max", 101)
        assert person is not None and person < 0
        await school_at_step_6(runner, person, deadline=None)
        text = await say(admin, "где я")
        assert "Вы на шаге 6 из 8" in text, text
        text = await say(admin, "до 15 декабря")
        bot_name = runner.app.deps.services["max_username"]
        link = rows(tmp_path / "data" / "bot.sqlite3", "SELECT invite_code FROM organisations")
        code = link[0][0]
        assert f"https://max.ru/{bot_name}?start={code}" in text, text
        assert "vk.me" not in text and "VK Мессенджер" not in text, text
        assert "ссылка ." not in text and "каждый шаг.\n2. Или напишите боту код" in text, text

        teacher = MaxPerson(max_emu, 301, "Анна", "Смирнова", emulator.settle)
        made.append(teacher)
        assert "по приглашению организации" in await say(teacher, "Начать", ref=code)
    finally:
        (OUTPUT_DIR / "test_step_6_in_a_max_only_bot.txt").write_text(
            "\n\n".join(f"=== user {u.uid}\n{u.format_transcript()}" for u in made) + "\n",
            encoding="utf-8")
        await runner.stop()
        await max_emu.stop()


@pytest.mark.parametrize("messenger", ["max"])
async def test_the_max_menu_survives_a_restart(bot_inprocess: InProcessBot, users: Any,
                                               tmp_path: Path) -> None:
    """MAX shows the menu only with a message: which menu a person has is kept in SQLite, so
    after a restart a message without buttons of its own still carries it."""
    parent = users(7001, "Мария", "Иванова")
    await say(parent, "Начать")
    await press(parent, "Родитель")
    menu = parent.buttons()
    assert "Мои данные" in menu and "Сменить роль" in menu
    assert rows(tmp_path / "data" / "bot.sqlite3", "SELECT COUNT(*) FROM max_menus") == [(1,)]
    await bot_inprocess.restart()
    await say(parent, "мои данные")
    stored, summary = parent.inbox[-2:]
    # what is stored about them, a message without buttons of its own: the menu under it
    assert "Кнопки меню, которые я прикрепляю к сообщениям в MAX" in stored.text, stored.text
    assert "кнопки: Вопросы и ответы, " in stored.text, stored.text
    assert button_labels(stored.keyboard) == menu, parent.format_transcript()
    assert "Отозвать согласие и удалить" in button_labels(summary.keyboard)


async def test_migration_makes_every_user_a_vk_account(tmp_path: Path) -> None:
    """A database made by the schema before accounts, with people in it: after the migration
    every user is a VK account with their own id and nothing else changed."""
    path = tmp_path / "old.sqlite3"
    before = [m for m in migration_files() if "accounts" not in m[1]]
    async with aiosqlite.connect(path) as conn:
        await conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY,"
                           " name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT"
                           " (datetime('now')))")
        for number, name, sql in before:
            await conn.executescript(sql)
            await conn.execute("INSERT INTO schema_migrations (number, name) VALUES (?, ?)",
                               (number, name))
        for vk_id, role in ((1001, "staff"), (1002, "parent"), (9001, "coordinator")):
            await conn.execute(
                "INSERT INTO users (vk_id, first_name, role, created_at, updated_at)"
                " VALUES (?, 'Имя', ?, 5, 5)", (vk_id, role))
        await conn.commit()
        users_before = await (await conn.execute("SELECT * FROM users ORDER BY vk_id")).fetchall()
    db = await Database(path).open()
    try:
        async with db.transaction() as tx:
            assert await tx.accounts.get_person("vk", 1002) == 1002
            assert await tx.accounts.upsert_person("max", 1002, 9) == -1  # no collision
            assert await tx.accounts.upsert_person("max", 77, 9) == -2
            assert await tx.accounts.upsert_person("vk", 1003, 9) == 1003
    finally:
        await db.close()
    assert rows(path, "SELECT * FROM users ORDER BY vk_id") == [tuple(r) for r in users_before]
    assert rows(path, "SELECT person_id, messenger, external_id FROM accounts ORDER BY rowid") == [
        (1001, "vk", 1001), (1002, "vk", 1002), (9001, "vk", 9001),
        (-1, "max", 1002), (-2, "max", 77), (1003, "vk", 1003)]


@pytest.mark.parametrize("messenger", ["max"])
async def test_max_polling_marker_survives_a_restart(
        bot: BotProcess, max_emulator: MaxEmulator, users: Any, tmp_path: Path) -> None:
    """What was written while the bot was down is answered once after it starts; what was
    answered before is not answered again (the marker is in SQLite)."""
    parent = users(7101)
    await say(parent, "Начать")
    await press(parent, "Родитель")
    await bot.stop()
    [(marker,)] = rows(tmp_path / "data" / "bot.sqlite3",
                       "SELECT value FROM transport_state WHERE name = 'max.marker'")
    before = len(parent.inbox)
    await parent.send("мои данные")  # while the bot is stopped
    await bot.start()
    first = [c for c in max_emulator.api_calls("GET", "/updates")][-1]
    assert int(first.query.get("marker", 0)) >= marker  # resumed where it stopped
    answer = await said(parent)
    assert "Профиль в боте" in answer
    assert len(parent.inbox) > before
    greetings = [m for m in parent.inbox if "Кто Вы?" in m.text]
    assert len(greetings) == 1  # the start before the restart was not handled again


@pytest.mark.parametrize("messenger", ["max"])
@pytest.mark.parametrize("config_overrides", [{"max": {
    "transport": "webhook", "webhook_secret": "s3cret-for-tests", "webhook_port": 18083,
    "webhook_url": "http://127.0.0.1:18083/max/webhook"}}])
async def test_max_webhook_with_the_secret_header(
        bot: BotProcess, max_emulator: MaxEmulator, users: Any) -> None:
    assert max_emulator.subscriptions == ["http://127.0.0.1:18083/max/webhook"]
    parent = users(7201)
    assert "Кто Вы?" in await say(parent, "Начать")
    assert "Вы — родитель" in await press(parent, "Родитель")
    import aiohttp

    forged = {"update_type": "message_created", "timestamp": 1, "message": {
        "sender": {"user_id": 9000}, "recipient": {"chat_id": 1},
        "body": {"mid": "mid.forged", "text": "состояние"}}}
    async with aiohttp.ClientSession() as http:
        async with http.post("http://127.0.0.1:18083/max/webhook", json=forged) as resp:
            assert resp.status == 403  # no secret: refused, never handled
        async with http.post("http://127.0.0.1:18083/max/webhook", json=forged,
                             headers={"X-Max-Bot-Api-Secret": "wrong-secret"}) as resp:
            assert resp.status == 403


BULK_PEOPLE = 150
VK_PARENTS = list(range(700_001, 700_001 + 150))
BULK_TEXT = "Собрание для родителей в пятницу в 19:00."


@pytest.mark.parametrize("messenger", ["max"])
async def test_kill_9_in_the_middle_of_a_broadcast_to_both_messengers(
        bot: BotProcess, emulator: VKEmulator, max_emulator: MaxEmulator, users: Any,
        tmp_path: Path) -> None:
    """One broadcast to 150 parents in MAX and 150 in VK, the bot killed (SIGKILL) a third of the
    way through and started again: everyone gets it; in VK exactly once (random_id), in MAX a
    second copy only for the few whose request was under way at the kill (MAX has no
    idempotency key; the README says how many at most)."""
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await say(coordinator, "Начать")
    await press(coordinator, "Координатор")
    await bot.stop()
    db_path = tmp_path / "data" / "bot.sqlite3"
    externals = list(range(800_001, 800_001 + BULK_PEOPLE))
    with closing(sqlite3.connect(db_path)) as db, db:
        low = db.execute("SELECT MIN(person_id) FROM accounts").fetchone()[0]
        for n, external in enumerate(externals, start=1):
            person = min(low, 0) - n
            db.execute("INSERT INTO accounts (person_id, messenger, external_id) VALUES (?, 'max', ?)",
                       (person, external))
            db.execute("INSERT INTO users (vk_id, role, last_inbound_at, created_at, updated_at)"
                       " VALUES (?, 'parent', 1, 1, 1)", (person,))
        for vk_id in VK_PARENTS:
            db.execute("INSERT INTO accounts (person_id, messenger, external_id) VALUES (?, 'vk', ?)",
                       (vk_id, vk_id))
            # wrote to the community within 24 hours: VK lets it write back without a subscription
            db.execute("INSERT INTO users (vk_id, role, last_inbound_at, created_at, updated_at)"
                       " VALUES (?, 'parent', ?, 1, 1)", (vk_id, int(time.time()) - 60))
    max_emulator.import_users([{"user_id": e, "first_name": "Родитель", "status": "active"}
                               for e in externals])
    for vk_id in VK_PARENTS:
        emulator.add_user(vk_id, allows_messages=True)
    await bot.start()

    def copies() -> list[int]:
        return [sum(m.text == BULK_TEXT for m in max_emulator.inbox(e)) for e in externals]

    def vk_copies() -> list[int]:
        return [sum(m.text == BULK_TEXT for m in emulator.inbox(uid)) for uid in VK_PARENTS]

    await broadcast_to_all(coordinator, BULK_TEXT)
    assert await max_emulator.wait_until(lambda: sum(copies()) >= BULK_PEOPLE // 3, 30)
    await bot.kill()
    at_kill = sum(copies()) + sum(vk_copies())
    await bot.start()
    assert await max_emulator.wait_until(lambda: all(copies()), 60), copies()
    assert await emulator.wait_until(lambda: all(vk_copies()), 60), vk_copies()
    twice = sum(c - 1 for c in copies())
    print(f"delivered before the kill: {at_kill}; second copies in MAX: {twice}")
    assert set(vk_copies()) == {1}  # VK: never twice (the same random_id after the restart)
    assert twice <= 20  # requests in flight or answered but not yet written (README)
    assert max_emulator.max_requests_in_window() <= 30


def test_sandbox_as_a_max_user(tmp_path: Path) -> None:
    """``sferum-bot sandbox --messenger max``: the first line is «Начать», a number presses a
    button under its message, and the press is answered (a notice)."""
    from tests.test_sandbox import Session, number_of, save

    session = Session(tmp_path, "--messenger", "max")
    out = session.say("Здравствуйте")
    assert "Кто Вы?" in out
    out = session.say(number_of(out, "Родитель"))
    assert "Вы — родитель" in out and "[всплывающее уведомление: Принято]" in out
    assert "Мои данные" in out  # the menu comes with the message: MAX has no persistent one
    out = session.say(number_of(out, "Вопросы и ответы"))
    assert "Выберите тему" in out
    save(session.quit(), "sandbox_max.txt")


@pytest.mark.parametrize("messenger", ["max"])
async def test_chart_and_spreadsheet_reach_a_coordinator_in_max(
        bot_inprocess: InProcessBot, max_emulator: MaxEmulator, users: Any) -> None:
    """PNG and CSV through MAX's upload flow (POST /uploads → bytes → token); a file is a
    message of its own (MAX wants a file to be the only attachment), after the text and its
    button."""
    assert bot_inprocess.app is not None
    deps = bot_inprocess.app.deps
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await say(coordinator, "Начать")
    await press(coordinator, "Координатор")
    async with deps.db.transaction() as tx:
        now = unix(deps.clock)
        [place, *_] = await tx.territory.list_municipalities()
        org = await tx.activation.upsert_org(None, "МБОУ «СОШ № 5»", "school", place.id, 101, 2,
                                             now)
        await tx.activation.insert_application(org.id, 101, "Иванова Ольга Петровна",
                                               "+79131234567", None, now)

    await coordinator.send("выгрузка")
    said_now = await coordinator.replies(count=2)
    assert "Новые заявки для федеральных координаторов: 1" in said_now[0].text
    assert "Отметить 1 как переданные" in said_now[0].buttons
    [file] = said_now[1].attachments
    assert file["type"] == "file" and not said_now[1].keyboard
    kind, name, data = max_emulator.upload_of(file["payload"]["token"])
    assert kind == "file" and name.endswith(".csv") and "МБОУ «СОШ № 5»" in data.decode("utf-8-sig")

    await coordinator.send("воронка график")
    [chart] = await coordinator.replies(count=1)
    [image] = [a for a in chart.attachments if a["type"] == "image"]
    kind, name, data = max_emulator.upload_of(image["payload"]["token"])
    assert kind == "image" and data.startswith(b"\x89PNG")


async def test_a_refused_max_token_stops_the_bot_with_one_line(tmp_path: Path) -> None:
    """MAX-only configuration (no [vk]); MAX answers 401 verify.token: the bot says what to fix
    in one line and exits non-zero, no traceback."""
    import asyncio
    import os
    import sys

    from tests.conftest import ROOT, toml_dump

    emu = MaxEmulator(token="the-right-token")
    await emu.start()
    try:
        config = tmp_path / "config.toml"
        config.write_text(toml_dump({
            "max": {"enabled": True, "token": "a-wrong-token", "api_url": emu.base_url},
            "storage": {"path": str(tmp_path / "bot.sqlite3")},
            "region": {"name": "Тестовая область"}}), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")}
        env["PYTHONPATH"] = str(ROOT)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await emu.stop()
    text = err.decode()
    assert proc.returncode == 3, text
    assert "MAX refused the bot token (verify.token)" in text and "SFERUM_MAX_TOKEN" in text
    assert "Traceback" not in text
