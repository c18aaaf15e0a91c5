"""Privacy (152-ФЗ), tried as an attacker or an auditor would (issue 15, classes 4 and 11).

- One registry of where personal data lives (storage/personal_registry.py): a new table or
  column naming a person, or a new text column, fails here until it is classified.
- «Мои данные» shows everything stored about the person (read through that registry), and
  after «удалить мои данные» no value of theirs remains in the database file or its WAL (the
  raw bytes are searched); their name is not fetched from VK again; their application is
  neither listed nor exported.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from bot.vkemu import VKEmulator
from core.kernel.clock import unix
from storage import Database
from storage.personal_registry import ACTING_IDS, NOT_PERSONAL_TEXT, PLACES
from tests.conftest import COORDINATOR, BotProcess, InProcessBot
from tests.dsl import admin_with_consent, become, press, say, start_as

PERSON = 6001
FULL_NAME = "Уникальнова Снежана Игоревна"
PHONE = "+79137654321"
EMAIL = "snezhana.unik@school99.ru"
QUESTION = "Квазизяблик не пускает в личный кабинет, что делать с ним"
OTHER = "Другое-Пчелоплюй мешает"
COMMENT = "Комментарий-Ктулхоид про звонки"
SECRETS = (FULL_NAME, "Уникальнова", "Снежана", PHONE, "7654321", EMAIL, "snezhana",
           "Квазизяблик", "Пчелоплюй", "Ктулхоид")
PERSON_COLUMN = re.compile(r"^(vk_id|peer_id|actor_id|answered_by|granted_by|cancelled_by|"
                           r"status_peer_id|.*_vk_id)$")


async def test_registry_covers_every_column_about_a_person(tmp_path: Path) -> None:
    db = await Database(tmp_path / "schema.sqlite3").open()
    try:
        async with db.read() as tx:
            tables = [r[0] for r in await tx.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%'")]
            columns = {t: [(r["name"], (r["type"] or "").upper())
                           for r in await tx.fetchall(f"PRAGMA table_info({t})")] for t in tables}
            for place in PLACES:  # what «Мои данные» reads and what erasure runs is valid SQL
                await tx.fetchall(place.shown(), (1,))
        async with db.transaction() as tx:
            await tx.personal.delete_person(1, 0)
    finally:
        await db.close()
    listed = {(p.table, p.person) for p in PLACES}
    shown = {(p.table, c) for p in PLACES for c in p.columns} | {j for p in PLACES for j in p.joined}
    unlisted_people = [(t, c) for t, cols in columns.items() for c, _ in cols
                       if PERSON_COLUMN.match(c) and (t, c) not in listed | ACTING_IDS]
    assert not unlisted_people, f"columns naming a person missing from the registry: {unlisted_people}"
    unclassified_text = [(t, c) for t, cols in columns.items() for c, kind in cols
                         if kind == "TEXT" and (t, c) not in shown | NOT_PERSONAL_TEXT]
    assert not unclassified_text, f"text columns not classified in the registry: {unclassified_text}"
    for place in PLACES:  # every registered column exists (a rename fails here, not at erasure)
        names = {c for c, _ in columns[place.table]}
        assert place.person in names, place
        assert place.select or set(place.columns) <= names, place


def raw_bytes(db_path: Path) -> bytes:
    data = db_path.read_bytes()
    wal = db_path.with_name(db_path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def leftovers(db_path: Path) -> list[str]:
    data = raw_bytes(db_path)
    return [s for s in SECRETS if s.encode("utf-8") in data]


async def _broadcast_to_all(coordinator: Any, text: str, emulator: VKEmulator,
                            report: str) -> None:
    await coordinator.send("рассылка")
    await coordinator.next_reply()
    await coordinator.press("Всем")
    await coordinator.next_reply()
    await coordinator.send(text)
    await coordinator.replies()
    await coordinator.press("Отправить сейчас")
    assert await emulator.wait_for_user(
        COORDINATOR, lambda: sum(report in m.text for m in emulator.inbox(COORDINATOR)) >= 1, 30)
    coordinator.pending()


def _sql(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A query from outside the running bot, closed at once (an open reader would keep the WAL
    from being emptied)."""
    with closing(sqlite3.connect(db_path)) as db, db:
        return db.execute(sql, params).fetchall()


async def test_my_data_shows_everything_and_erasure_leaves_no_byte(
        bot: BotProcess, emulator: VKEmulator, users: Any, tmp_path: Path) -> None:
    """Against the real bot process: the test reads the database files it writes."""
    db_path = tmp_path / "data" / "bot.sqlite3"
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await become(coordinator, "Координатор")

    # An organisation admin: consent, the application with her name, phone and e-mail.
    admin = users(PERSON, "Снежана", "Уникальнова")
    await admin_with_consent(admin)
    await say(admin, "МБОУ «СОШ № 99»")
    await press(admin, "Школа (общее образование)")
    await press(admin, "г. Новосибирск")
    await say(admin, FULL_NAME)
    await say(admin, "8 (913) 765-43-21")
    await say(admin, EMAIL)
    assert "Заявка №1 отправлена" in await press(admin, "Отправить заявку")
    coordinator.pending()
    # A question the help cannot answer, passed to a coordinator.
    text = await say(admin, QUESTION)
    assert "Спросить координатора" in admin.buttons(), text
    assert "Передал Ваш вопрос координатору" in await press(admin, "Спросить координатора")
    coordinator.pending()
    # Her survey answer with free text (seeded: the survey dialog is tested elsewhere).
    [(org_id, municipality)] = _sql(
        db_path, "SELECT o.id, o.municipality_id FROM applications a JOIN organisations o"
                 " ON o.id = a.org_id WHERE a.id = 1")
    _sql(db_path,
         "INSERT INTO survey_answers (week, vk_id, org_id, municipality_id, role, difficulties,"
         " other_text, comment, completed, started_at, updated_at)"
         " VALUES ('2026-W48', ?, ?, ?, 'org_admin', 'other', ?, ?, 1, 0, 0)",
         (PERSON, org_id, municipality, OTHER, COMMENT))
    # A personalised broadcast: her name is looked up in VK and her copy kept in the outbox.
    await _broadcast_to_all(coordinator, "Здравствуйте, {{ имя }}! Вебинар в четверг.", emulator,
                            "Рассылка №1 завершена")
    assert any(m.text == "Здравствуйте, Снежана! Вебинар в четверг." for m in admin.pending())

    # «Мои данные»: every value stored about her, from every place of the registry.
    stored = await say(admin, "мои данные")
    for value in (FULL_NAME, "+7 913 765-43-21", EMAIL, QUESTION, OTHER, COMMENT, "Снежана",
                  "Здравствуйте, Снежана! Вебинар в четверг.", "МБОУ «СОШ № 99»"):
        assert value in stored, value
    for label in ("Заявки на создание профиля организации", "Вопросы координаторам",
                  "Вопросы, на которые справка не ответила", "Ответы на опросы",
                  "Рассылки, напоминания и опросы, отправленные Вам", "Согласия"):
        assert label in stored, label
    assert leftovers(db_path) == list(SECRETS)  # the search below finds what is there

    # Erase.
    await press(admin, "Отозвать согласие и удалить")
    assert "согласие отозвано" in await press(admin, "Да, удалить мои данные")
    assert leftovers(db_path) == [], leftovers(db_path)

    # The next broadcast does not fetch her name back from VK.
    asked_before = len(emulator.calls_of("users.get"))
    await _broadcast_to_all(coordinator, "{{ имя }}, до встречи на вебинаре.", emulator,
                            "Рассылка №2 завершена")
    asked = [c for c in emulator.calls_of("users.get")[asked_before:]
             if str(PERSON) in str(c)]
    assert not asked
    assert leftovers(db_path) == []
    assert _sql(db_path, "SELECT first_name, last_name FROM users WHERE vk_id = ?",
                (PERSON,)) == [("", "")]

    # Her application is neither listed nor exported (nor shown as «новая» with empty fields).
    text = await say(coordinator, "заявки")
    assert "Заявка №1" not in text and "Новых заявок нет" in text
    await say(coordinator, "выгрузка")
    exported = [m for m in emulator.inbox(COORDINATOR) if m.attachments]
    assert not exported
    [(status, erased_at)] = _sql(db_path, "SELECT status, erased_at FROM applications WHERE id = 1")
    assert status == "new" and erased_at is not None  # the row stays for the counts only


async def _answers(app: Any, week: str, municipality: int, org: int, count: int, start: int,
                   other: str | None = None) -> None:
    now = unix(app.deps.clock)
    async with app.deps.db.transaction() as tx:
        for n in range(count):
            await tx.execute(
                "INSERT INTO survey_answers (week, vk_id, org_id, municipality_id, role,"
                " difficulties, other_text, confidence, messages, comment, completed, started_at,"
                " updated_at) VALUES (?, ?, ?, ?, 'staff', 'calls,other', ?, 4, '10+', ?, 1, ?, ?)",
                (week, start + n, org, municipality, other if n == 0 else None,
                 f"Комментарий недели {week}" if n == 0 else None, now, now))


async def test_summaries_honour_the_minimum_group(bot_inprocess: InProcessBot,
                                                  emulator: VKEmulator, users: Any) -> None:
    from tests.test_broadcasts import municipality_ids, new_org
    from tests.test_summaries import attachment_bytes
    import csv
    import io

    app = bot_inprocess.app
    muns = await municipality_ids(app)
    isk, nsk = muns["Искитимский район"], muns["г. Новосибирск"]
    small = await new_org(app, "Малая школа Искитима", isk)
    big = await new_org(app, "Большая гимназия Новосибирска", nsk)
    await _answers(app, "2026-W47", isk, small, 3, 8000,
                   other="Не работает, звоните +7 913 111-22-33 Марье Ивановне")
    await _answers(app, "2026-W47", nsk, big, 6, 8100, other="Звонки обрываются")
    await _answers(app, "2026-W46", nsk, big, 2, 8200)   # a week too small to show
    await _answers(app, "2026-W45", nsk, big, 3, 8300)   # and a whole summary too small

    regional = await start_as(users, COORDINATOR, "Координатор")
    await regional.send("сводка")
    summary, free = await regional.next_reply(), await regional.next_reply()
    assert "Ответили: 9" in summary.text
    assert "(за 4 предыдущие недели: 5)" in summary.text  # 2 + 3 pooled: a group of 5
    assert "Свободные ответы за 16–22 ноября" in free.text
    assert "Звонки обрываются" in free.text and "звоните ••• Марье" in free.text
    assert "111-22-33" not in free.text and "Малая школа" not in free.text
    assert "Большая гимназия" not in free.text and "8000" not in free.text

    # One municipality with 3 respondents, one organisation: not shown, in no form.
    for typed in ("сводка Искитимский", f"сводка орг {small}", "сводка xlsx Искитимский",
                  "сводка csv Искитимский", "сводка график Искитимский", "сводка 2026-W45"):
        await regional.send(typed)
        reply = await regional.next_reply()
        assert "ответивших меньше 5" in reply.text and not reply.attachments, typed
        assert "Ответили" not in reply.text, typed
    for payload in ({"cmd": "sum.file", "w": "2026-W47", "m": isk, "o": None, "f": "xlsx"},
                    {"cmd": "sum.file", "w": "2026-W47", "m": None, "o": small, "f": "png"},
                    {"cmd": "sum.file", "w": "2026-W45", "m": None, "o": None, "f": "csv"}):
        await regional.press_payload(payload, label="…")
        reply = await regional.next_reply()
        assert "ответивших меньше 5" in reply.text and not reply.attachments, payload

    # The region's week table: the small week is marked, its figures left out.
    await regional.press_payload({"cmd": "sum.file", "w": "2026-W47", "m": None, "o": None,
                                  "f": "csv"}, label="Таблица CSV")
    _, raw = attachment_bytes(emulator, await regional.next_reply())
    table = {r[0]: r[1:] for r in csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";")}
    assert table["16–22 ноября"][0] == "9"  # weeks as people read them
    assert table["9–15 ноября"] == ["меньше 5 ответивших — не показано"]

    # A municipal coordinator sees their municipality's figures, never the free texts.
    admin_user = users(9000, "Админ", "Бота")
    await admin_user.send("назначить координатора 9002 г. Новосибирск")
    await admin_user.next_reply()
    municipal = await start_as(users, 9002, "Координатор", "Ирина", "Соколова")
    await municipal.send("сводка")
    shown = await municipal.replies()
    assert len(shown) == 1 and "Ответили: 6" in shown[0].text
    assert "Звонки обрываются" not in shown[0].text and "Свободные ответы" not in shown[0].text
