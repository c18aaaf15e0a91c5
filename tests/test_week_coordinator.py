"""A coordinator's first week (issue 13): one broadcast report, a journal written for people,
time zones and weeks in words, readable phones, people named (and inflected by their sex) in
notices, and every coordinator action reachable by buttons.

Through the in-process bot (the same factory as `sferum-bot run`, a clock we hold: Monday
23 November 2026, 10:00 in Novosibirsk) and the VK API emulator.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, timezone
from typing import Any

import pytest

from bot.vkemu import VKEmulator
from core.kernel.clock import unix
from core.kernel.display import format_phone, zone_phrase
from core.kernel.texts import Texts, content_root
from core.kernel.weeks import WeekWords, week_label
from tests.conftest import BOT_ADMIN, COORDINATOR, MUNICIPAL_COORDINATOR, InProcessBot
from tests.dsl import start_as
from tests.test_broadcasts import municipality_ids, new_org, seed_people
from tests.test_summaries import seed

TEXTS = Texts.load(content_root() / "texts")
ROOT = content_root().parent
# What must never reach a coordinator's eyes: key=value pairs, epochs, ISO weeks, codes.
RAW = re.compile(r"\w+=|\b1[5-9]\d{8}\b|\d{4}-W\d|\b(?:png|xlsx|csv|text|sent|created|rejected|"
                 r"scheduled|running|None|True|False|municipality_id|org_admin|staff)\b|[{}\[\]]")


async def settle(runner: InProcessBot, timeout: float = 20.0) -> None:
    """The fact a test waits for: the outbox is empty and the sender has nothing in flight."""
    app = runner.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with app.deps.db.read() as tx:
            pending = await tx.outbox.count_pending()
        if pending == 0 and await app.sender.idle():
            return
        assert loop.time() < deadline, f"{pending} messages still pending"
        await asyncio.sleep(0.02)


# -- 1. the broadcast report arrives once -------------------------------------------------------
async def test_broadcast_report_reaches_the_coordinator_once(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    org = await new_org(app, "МБОУ СОШ № 7", muns["г. Новосибирск"])
    await seed_people(app, emulator, [3001, 3002, 3003], org, "staff")

    coordinator = await start_as(users, COORDINATOR, "Координатор", "Ольга", "Петрова")
    await coordinator.press("Координатору")
    await coordinator.next_reply()
    await coordinator.press("Новая рассылка")  # a panel button, not a typed command
    await coordinator.next_reply()
    await coordinator.press("Всем")
    await coordinator.next_reply()
    await coordinator.send("Вебинар о чатах — в четверг в 15:00.")
    await coordinator.replies()
    await coordinator.press("Отправить сейчас")
    status = await coordinator.next_reply()
    assert "Рассылка №1: отправлено 0 из" in status.text
    assert await emulator.wait_for_user(
        COORDINATOR, lambda: any("завершена" in m.text for m in emulator.inbox(COORDINATOR)), 30)
    await settle(bot_inprocess)

    reports = [m for m in emulator.inbox(COORDINATOR) if "Рассылка №1 завершена" in m.text]
    assert len(reports) == 1, [m.text for m in emulator.inbox(COORDINATOR)]
    assert "Доставлено: 4" in reports[0].text  # 3 teachers and the coordinator herself
    status_now = next(m for m in emulator.inbox(COORDINATOR) if m.id == status.id)
    assert status_now.text == "Рассылка №1: отправлено 4 из 4. Итоги — в следующем сообщении."
    assert status_now.buttons == []  # nothing left to cancel
    coordinator.pending()


# -- 2. the action log, written for people --------------------------------------------------
AUDIT_KINDS = re.compile(r"""(?:_audit|insert_entry)\(\s*[^,()]+,\s*["']([a-z_.]+)["']""")


def action_kinds_in_code() -> set[str]:
    kinds: set[str] = set()
    for folder in ("core", "handlers", "bot"):
        for path in (ROOT / folder).rglob("*.py"):
            kinds |= set(AUDIT_KINDS.findall(path.read_text(encoding="utf-8")))
    return kinds


def test_every_action_kind_has_words() -> None:
    kinds = action_kinds_in_code()
    assert {"summary_view", "broadcast_schedule", "activation.status", "faq.reload"} <= kinds
    missing = sorted(k for k in kinds
                     if not TEXTS.has(f"admin.audit_entry.{k.replace('.', '_')}"))
    assert not missing, f"audit actions without a text for people: {missing}"
    assert kinds == set(SAMPLES), "add a sample entry below for a new action kind"


# One entry of every kind, with the details exactly as the code writes them.
SAMPLES: dict[str, dict[str, Any]] = {
    "summary_view": {"org": None, "week": "2026-W47", "format": "text"},
    "summary_export": {"org": None, "week": "2026-W47", "format": "xlsx"},
    "funnel_view": {"format": "png"},
    "funnel_export": {"format": "png"},
    "audit_view": {},
    "coordinator_grant": {"vk_id": MUNICIPAL_COORDINATOR},
    "coordinator_revoke": {"vk_id": MUNICIPAL_COORDINATOR},
    "broadcast_send": {"broadcast": 1, "audience": {"kind": "role", "value": "staff"}},
    "broadcast_schedule": {"broadcast": 2, "send_at": 1796038200,
                           "audience": {"kind": "step", "value": 4}},
    "broadcast_cancel": {"broadcast": 2, "was": "scheduled"},
    "broadcast_history": {},
    "activation.applications_viewed": {"shown": [1, 2]},
    "activation.export": {"count": 2, "upto": 2},
    "activation.status": {"app": 1, "from": "sent", "to": "created"},
    "activation.stuck_viewed": {"count": 3},
    "ticket.answer": {"ticket": 5},
    "faq.reload": {"entries": 78},
    "faq.learn_phrasing": {"ticket": 5, "entry": "calls-limits"},
    "faq.learn_draft": {"ticket": 6, "entry": "draft-ticket-6"},
    "faq.publish": {"entry": "calls-limits"},
    "faq.reject": {"entry": "draft-ticket-7"},
}


async def test_audit_log_reads_as_plain_russian(bot_inprocess: InProcessBot, users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    iskitim = muns["Искитимский район"]
    now = unix(app.deps.clock)
    users(MUNICIPAL_COORDINATOR, "Ирина", "Соколова")  # VK knows her name
    coordinator = await start_as(users, COORDINATOR, "Координатор", "Ольга", "Петрова")
    await coordinator.press("Координатору")
    await coordinator.next_reply()
    kinds = list(SAMPLES)
    shown: list[str] = []
    for part in (kinds[:10], kinds[10:]):  # the journal shows the latest 20 entries
        async with app.deps.db.transaction() as tx:
            for action in part:
                await tx.audit.insert_entry(COORDINATOR, action, {
                    **SAMPLES[action],
                    "municipality_id": iskitim if action == "coordinator_grant" else None}, now)
        await coordinator.press("Журнал")
        log = (await coordinator.next_reply()).text
        assert log.splitlines()[0] == ("Журнал действий, последние записи сверху (даты и часы — "
                                       "по новосибирскому времени (UTC+7)):")
        lines = [line for line in log.splitlines()[1:] if line.strip()]
        assert len(lines) >= len(part) + 1  # and the look at the journal itself
        shown += lines
    for line in shown:
        assert line.startswith("23 ноября в 10:00 · Ольга Петрова: "), line
        assert not RAW.search(line), line
    log = "\n".join(shown)
    for expected in (
            "сводка опроса — Тестовая область, неделя 16–22 ноября, текстом",
            "файл сводки опроса — Тестовая область, неделя 16–22 ноября, таблица Excel (XLSX)",
            "воронка активации — Тестовая область, диаграмма (картинка)",
            "выдана роль координатора — Искитимский район: Ирина Соколова",
            "рассылка №1 отправлена: педагоги и сотрудники",
            "рассылка №2 запланирована на 30 ноября в 18:30: организации на шаге 4 из 8",
            "рассылка №2 отменена до отправки",
            "заявка №1: статус «передана федеральным координаторам» сменён на «профиль создан»",
            "просмотр заявок на создание профилей: №1, №2",
            "справка обновлена, статей: 78",
            "в справке опубликована статья «",
            "черновик статьи справки отклонён"):
        assert expected in log, expected


# -- 3. time zones in words -----------------------------------------------------------------
def test_zone_phrases() -> None:
    at = datetime(2026, 11, 23, 3, tzinfo=timezone.utc)
    assert zone_phrase(TEXTS, "Asia/Novosibirsk", at) == "по новосибирскому времени (UTC+7)"
    assert zone_phrase(TEXTS, "Asia/Yakutsk", at) == "по якутскому времени (UTC+9)"
    assert zone_phrase(TEXTS, "Europe/Moscow", at) == "по московскому времени (UTC+3)"
    assert zone_phrase(TEXTS, "Asia/Kolkata", at) == "по времени UTC+5:30"  # not in the table


async def test_zones_shown_in_words(bot_inprocess: InProcessBot, users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    async with app.deps.db.transaction() as tx:  # a coordinator of Mirny (Asia/Yakutsk)
        await tx.territory.upsert_grant(MUNICIPAL_COORDINATOR, muns["Мирнинский район"],
                                        BOT_ADMIN, unix(app.deps.clock))
    for uid, zone, first in ((COORDINATOR, "по новосибирскому времени (UTC+7)", "Ольга"),
                             (MUNICIPAL_COORDINATOR, "по якутскому времени (UTC+9)", "Ирина")):
        person = await start_as(users, uid, "Координатор", first, "Петрова")
        await person.send("рассылка")
        await person.next_reply()
        await person.press("Всем")
        await person.next_reply()
        await person.send("Совещание в пятницу.")
        await person.replies()
        await person.press("Запланировать")
        when = (await person.next_reply()).text
        assert f"Время указывайте {zone}." in when and "Asia/" not in when
        await person.send("25.11 10:00")
        done = (await person.next_reply()).text
        assert f"запланирована на 25 ноября в 10:00 {zone}." in done, done
        await person.send("рассылки")
        history = (await person.next_reply()).text
        assert f"даты и часы указаны {zone}" in history and "25 ноября в 10:00" in history
        await person.send("журнал")
        assert zone in (await person.next_reply()).text


# -- 4 and 6. people named, with their role and organisation, inflected by sex ---------------
async def seed_org_with_staff(app: Any, emulator: VKEmulator,
                              staff: dict[int, tuple[str, str, int]], admin: int = 101,
                              name: str = "МБОУ СОШ № 7") -> int:
    """An organisation whose administrator waits for staff; staff joined, consented."""
    muns = await municipality_ids(app)
    now = unix(app.deps.clock)
    async with app.deps.db.transaction() as tx:
        org = await tx.activation.upsert_org(None, name, "school", muns["г. Новосибирск"], admin,
                                             6, now)
        await tx.execute(
            "INSERT INTO users (vk_id, role, org_id, state, last_inbound_at, created_at,"
            " updated_at) VALUES (?, 'org_admin', ?, 'menu', ?, ?, ?)",
            (admin, org.id, now, now, now))
        for vk_id in staff:
            await tx.execute(
                "INSERT INTO users (vk_id, role, org_id, state, last_inbound_at, created_at,"
                " updated_at) VALUES (?, 'staff', ?, 'staff:step', ?, ?, ?)",
                (vk_id, org.id, now, now, now))
            await tx.activation.upsert_staff(vk_id, org.id, now)
            await tx.personal.upsert_consent(vk_id, "v1", now)
    emulator.add_user(admin, "Галина", "Орлова", allows_messages=True)
    for vk_id, (first, last, sex) in staff.items():
        emulator.add_user(vk_id, first, last, allows_messages=True, sex=sex)
    return org.id


async def test_staff_confirmation_agrees_with_sex(bot_inprocess: InProcessBot,
                                                  emulator: VKEmulator, users: Any) -> None:
    """Each administrator hears of their first confirmation at once (later ones in a digest):
    three schools, one teacher each — a woman, a man, and one whose VK profile says neither."""
    app = bot_inprocess.app
    cases = {
        201: (("Анна", "Смирнова", 1), 101,
              "Анна Смирнова (МБОУ СОШ № 1) сообщила, что зарегистрировалась в «Сферуме» по "
              "Вашей ссылке. Подтвердите, пожалуйста, её профиль в «Сферуме»."),
        202: (("Пётр", "Кузнецов", 2), 102,
              "Пётр Кузнецов (МБОУ СОШ № 2) сообщил, что зарегистрировался в «Сферуме» по "
              "Вашей ссылке. Подтвердите, пожалуйста, его профиль в «Сферуме»."),
        203: (("Саша", "Ким", 0), 103,
              "Саша Ким (МБОУ СОШ № 3) сообщает о регистрации в «Сферуме» по Вашей ссылке. "
              "Подтвердите, пожалуйста, профиль этого сотрудника в «Сферуме»."),
    }
    calls_before = len(emulator.calls_of("users.get"))
    for n, (vk_id, (profile, admin_id, notice)) in enumerate(cases.items(), start=1):
        await seed_org_with_staff(app, emulator, {vk_id: profile}, admin_id, f"МБОУ СОШ № {n}")
        admin = users(admin_id, "Галина", "Орлова")
        person = users(vk_id)
        await person.press_payload({"cmd": "stf.done", "item": "reg"}, label="Я зарегистрировался")
        await person.replies()
        assert (await admin.next_reply()).text == notice
        await admin.press_payload({"cmd": "act.staff"}, label="Кто зарегистрировался")
        listing = "\n".join(m.text for m in await admin.replies())
        assert "(ась)" not in listing and "(а)" not in listing, listing
        word = {1: "зарегистрировалась", 2: "зарегистрировался",
                0: "отметка о регистрации"}[profile[2]]
        assert f"✅ {profile[0]} {profile[1]} — {word}" in listing, listing
    asked = emulator.calls_of("users.get")[calls_before:]
    assert asked and all("sex" in c.params.get("fields", "") for c in asked)
    async with app.deps.db.read() as tx:
        stored = {p.vk_id: p.sex for p in await tx.users.list_users([201, 202, 203])}
    assert stored == {201: 1, 202: 2, 203: 0}


async def test_notices_to_coordinators_name_the_person(bot_inprocess: InProcessBot,
                                                       emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    await seed_org_with_staff(app, emulator, {201: ("Анна", "Смирнова", 1)})
    coordinator = await start_as(users, COORDINATOR, "Координатор", "Ольга", "Петрова")
    teacher = users(201)
    await teacher.press_payload({"cmd": "ticket.ask", "src": "faq"}, label="Спросить координатора")
    await teacher.replies()
    await teacher.send("Когда в нашей школе выдадут ноутбуки?")
    assert "Передал Ваш вопрос координатору" in "\n".join(m.text for m in await teacher.replies())
    notice = (await coordinator.next_reply()).text
    assert ("Спрашивает Анна Смирнова, педагог или сотрудник, «МБОУ СОШ № 7» (г. Новосибирск)"
            " — vk.com/id201:") in notice, notice

    # An organisation stuck for 10 days names its administrator, not just a link.
    async with app.deps.db.transaction() as tx:
        await tx.execute("UPDATE organisations SET step = 4, step_updated_at = ?",
                         (unix(app.deps.clock) - 10 * 86400,))
    await coordinator.send("застряли")
    stuck = (await coordinator.next_reply()).text
    assert "администратор — Галина Орлова (vk.com/id101)" in stuck, stuck


# -- 5. phones ------------------------------------------------------------------------------
def test_phone_format() -> None:
    assert format_phone("+79131234567") == "+7 913 123-45-67"
    assert format_phone("+7913123456") == "+7913123456"  # not a stored mobile: as it is
    assert TEXTS.env.from_string("{{ p | phone }}").render(p="+79230001122") == "+7 923 000-11-22"


async def test_phones_shown_readably(bot_inprocess: InProcessBot, users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    now = unix(app.deps.clock)
    async with app.deps.db.transaction() as tx:
        org = await tx.activation.upsert_org(None, "МКОУ «Лесная СОШ»", "school",
                                             muns["Искитимский район"], 102, 1, now)
        await tx.activation.insert_application(org.id, 102, "Петров Иван Сергеевич",
                                               "+79230001122", None, now)
    coordinator = await start_as(users, COORDINATOR, "Координатор", "Ольга", "Петрова")
    await coordinator.press("Координатору")
    await coordinator.next_reply()
    await coordinator.press("Заявки")
    text = "\n".join(m.text for m in await coordinator.replies())
    assert "Петров Иван Сергеевич, +7 923 000-11-22" in text and "+7923" not in text


# -- 7. the coordinator panel: everything by buttons, within VK's limits ------------------------
PANEL = ["Заявки", "Выгрузка CSV", "Воронка", "Застряли", "Сводка опроса", "Вопросы",
         "Новая рассылка", "Рассылки", "Частые вопросы", "Журнал"]


async def test_panel_reaches_everything_by_buttons(bot_inprocess: InProcessBot,
                                                   emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    await seed(app)
    answers = {"Заявки": "Заявки в работе", "Выгрузка CSV": "Новых заявок для выгрузки нет",
               "Воронка": "Активация профилей организаций", "Застряли": "движения больше 7 дн.",
               "Сводка опроса": "Опрос о трудностях", "Вопросы": "Открытых вопросов нет",
               "Рассылки": "Рассылок пока не было", "Частые вопросы": "Частые вопросы без ответа",
               "Журнал": "Журнал действий", "Обновить справку": "Справка обновлена"}

    admin = await start_as(users, BOT_ADMIN, "Координатор", "Вера", "Громова")
    await admin.send("назначить координатора 9002 Искитимский")
    await admin.next_reply()
    municipal = await start_as(users, MUNICIPAL_COORDINATOR, "Координатор", "Ирина", "Соколова")
    for person, extra in ((admin, ["Обновить справку"]), (municipal, [])):
        await person.press("Координатору")
        panel = await person.next_reply()
        assert panel.buttons == [*PANEL, *extra, "Главное меню"]
        assert len(panel.keyboard["buttons"]) <= 10  # rows; VK's limit for this keyboard
        assert all(len(row) <= 5 for row in panel.keyboard["buttons"])
        for label in [*PANEL, *extra]:
            if label == "Новая рассылка":
                continue
            await person.press(label)
            text = "\n".join(m.text for m in await person.replies())
            assert answers[label] in text, (person.uid, label, text)
        await person.press("Новая рассылка")
        assert "Новая рассылка" in (await person.next_reply()).text
        await person.press("Отменить")
        await person.replies()

    # A municipal coordinator's summary has no «Другая территория»; the regional one's has.
    await municipal.send("сводка")
    own = await municipal.next_reply()
    assert "Искитимский район, неделя 16–22 ноября" in own.text
    assert "Другая территория" not in own.buttons and "23–29 ноября →" in own.buttons

    coordinator = await start_as(users, COORDINATOR, "Координатор", "Ольга", "Петрова")
    await coordinator.press("Координатору")
    await coordinator.next_reply()
    await coordinator.press("Сводка опроса")
    summary = await coordinator.next_reply()
    assert "Тестовая область, неделя 16–22 ноября." in summary.text
    assert summary.buttons == ["График", "Таблица XLSX", "Таблица CSV", "← 9–15 ноября",
                               "23–29 ноября →", "Другая территория"]
    await coordinator.press("← 9–15 ноября")
    earlier = await coordinator.next_reply()
    assert "Тестовая область, неделя 9–15 ноября." in earlier.text
    await coordinator.press("Другая территория")
    places = await coordinator.next_reply()
    assert places.buttons == ["Искитимский район", "Мирнинский район", "г. Новосибирск",
                              "Весь регион"]
    await coordinator.press("Мирнинский район")
    assert "Мирнинский район, неделя 9–15 ноября." in (await coordinator.next_reply()).text
    await coordinator.press("16–22 ноября →")
    assert "Мирнинский район, неделя 16–22 ноября." in (await coordinator.next_reply()).text
    await coordinator.press("23–29 ноября →")
    later = (await coordinator.next_reply()).text  # no answers that week yet
    assert "Ответов на опрос о трудностях за неделю 23–29 ноября" in later
    assert "Мирнинский район" in later

    # The municipal coordinator cannot press their way into another territory.
    muns = await municipality_ids(app)
    await municipal.press_payload({"cmd": "sum", "w": "2026-W47", "m": muns["г. Новосибирск"],
                                   "o": None}, label="г. Новосибирск")
    assert "Не нашёл такой муниципалитет" in (await municipal.next_reply()).text
    await municipal.press_payload({"cmd": "faq.reload"}, label="Обновить справку")
    assert "Эта команда Вам недоступна" in (await municipal.next_reply()).text
    teacher = await start_as(users, 7001, "Педагог или сотрудник", "Анна", "Иванова")
    for payload in ({"cmd": "sum"}, {"cmd": "audit"}, {"cmd": "faq.misses"},
                    {"cmd": "sum.places", "w": None, "p": 0}):
        await teacher.press_payload(payload, label="Сводка")
        assert "Эта команда Вам недоступна" in (await teacher.next_reply()).text, payload


# -- 8. weeks as people name and read them ----------------------------------------------------
TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize("typed, week, rest", [
    ("прошлая неделя", "2026-W47", ""),
    ("за прошлую неделю Искитимский", "2026-W47", "искитимский"),
    ("прошлая неделя Искитимский график", "2026-W47", "искитимский график"),
    ("эта неделя", "2026-W48", ""),
    ("на этой неделе", "2026-W48", ""),
    ("текущая неделя", "2026-W48", ""),
    ("позапрошлая неделя", "2026-W46", ""),
    ("3 недели назад", "2026-W45", ""),
    ("неделю назад", "2026-W47", ""),
    ("неделя 16.11", "2026-W47", ""),
    ("неделя с 11.11", "2026-W46", ""),
    ("18.11.2026 xlsx", "2026-W47", "xlsx"),
    ("с 16 по 22 ноября", "2026-W47", ""),
    ("16–22 ноября", "2026-W47", ""),
    ("с 26 октября по 1 ноября", "2026-W44", ""),
    ("с 29 декабря по 4 января 2026", "2026-W01", ""),
    ("за 10 ноября", "2026-W46", ""),
    ("2026-W47 орг 12", "2026-W47", "орг 12"),
    ("Искитимский", None, ""),
    ("орг 12", None, ""),
    ("г. Новосибирск", None, ""),
])
def test_week_phrases(typed: str, week: str | None, rest: str) -> None:
    found = WeekWords(TEXTS).find(typed, TODAY)
    if week is None:
        assert found is None
    else:
        assert found == (week, rest)


def test_week_labels() -> None:
    assert week_label(TEXTS, "2026-W47", TODAY) == "16–22 ноября"
    assert week_label(TEXTS, "2026-W49", TODAY) == "30 ноября – 6 декабря"
    assert week_label(TEXTS, "2026-W01", TODAY) == "29 декабря 2025 – 4 января 2026"
    assert week_label(TEXTS, "2025-W47", TODAY) == "17–23 ноября 2025"


async def test_summary_by_week_in_words(bot_inprocess: InProcessBot, users: Any) -> None:
    await seed(bot_inprocess.app)
    coordinator = await start_as(users, COORDINATOR, "Координатор", "Ольга", "Петрова")
    for typed, shown in (("сводка прошлая неделя", "Тестовая область, неделя 16–22 ноября."),
                         ("сводка позапрошлая неделя Искитимский",
                          "Искитимский район, неделя 9–15 ноября."),
                         ("сводка с 16 по 22 ноября Мирнинский",
                          "Мирнинский район, неделя 16–22 ноября."),
                         ("Сводка неделя 9.11", "Тестовая область, неделя 9–15 ноября."),
                         ("сводка опроса за прошлую неделю", "неделя 16–22 ноября.")):
        await coordinator.send(typed)
        text = (await coordinator.next_reply()).text
        assert shown in text and "W4" not in text, (typed, text)
    await coordinator.send("сводка эта неделя")
    assert ("Ответов на опрос о трудностях за неделю 23–29 ноября по территории "
            "«Тестовая область» пока нет.") in (await coordinator.next_reply()).text
    await coordinator.send("сводка прошлая неделя xlsx")
    message = await coordinator.next_reply()
    assert message.text.startswith("Таблица XLSX: Тестовая область, неделя 16–22 ноября")
