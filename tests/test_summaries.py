"""Survey summaries, charts, spreadsheets and the activation funnel, through the emulator.

Survey answers are seeded straight into the in-process bot's database (several weeks, three
municipalities, staff and parents, unfinished answers that must not count); every figure the bot
shows is checked against figures computed here, independently, from the seeded rows.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.vkemu import VKEmulator
from core.admin import figures
from core.kernel.clock import unix
from core.kernel.texts import content_root
from core.surveys.service import load_survey
from storage.summaries import AnswerRow
from tests.conftest import BOT_ADMIN, COORDINATOR, MUNICIPAL_COORDINATOR, OUTPUT, InProcessBot
from tests.dsl import start_as

WEEKS = ["2026-W42", "2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47"]
OPTIONS = figures.load_options(load_survey(content_root() / "surveys"))
IDS = [o.id for o in OPTIONS]
LABEL = {o.id: o.label for o in OPTIONS}
PNG = b"\x89PNG\r\n\x1a\n"


MONTHS = ("января февраля марта апреля мая июня июля августа сентября октября ноября "
          "декабря").split()


def shown(week: str) -> str:
    """How people see a week (the test clock is in 2026): «16–22 ноября»."""
    monday = date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    sunday = monday + timedelta(days=6)
    if monday.month == sunday.month:
        return f"{monday.day}–{sunday.day} {MONTHS[sunday.month - 1]}"
    return f"{monday.day} {MONTHS[monday.month - 1]} – {sunday.day} {MONTHS[sunday.month - 1]}"


ISO_OF = {shown(w): w for w in WEEKS}


def previous_weeks(week: str, n: int = 4) -> list[str]:
    """Computed here without the bot's helpers: Mondays n..1 weeks before."""
    year, number = int(week[:4]), int(week[6:])
    monday = date.fromisocalendar(year, number, 1)
    out = []
    for k in range(n, 0, -1):
        y, w, _ = (monday - timedelta(days=7 * k)).isocalendar()
        out.append(f"{y}-W{w:02d}")
    return out


async def seed(app: Any) -> dict[str, Any]:
    """Organisations in three municipalities at various activation steps, and survey answers."""
    rng = random.Random(2026)
    db = app.deps.db
    now = unix(app.deps.clock)
    rows: list[dict[str, Any]] = []
    async with db.transaction() as tx:
        muns = {m.name: m.id for m in await tx.territory.list_municipalities()}
        orgs: dict[int, int] = {}
        steps = {}
        n = 0
        for mun_name, mid in muns.items():
            for k in range(3):
                n += 1
                org = await tx.territory.insert_organisation(
                    f"Школа №{n} ({mun_name})", "school", mid, None, now)
                orgs[org.id] = mid
                step = [1, 4, 4, 6, 9, 8, 2, 4, 9][n - 1]
                age = 10 if n % 2 else 1  # days since the step changed
                await tx.execute("UPDATE organisations SET step = ?, step_updated_at = ? WHERE id = ?",
                                 (step, now - age * 86400, org.id))
                steps[org.id] = (mid, step, age)
        vk_id = 50_000
        for week in WEEKS:
            for org_id, mid in orgs.items():
                for _ in range(rng.randint(2, 7)):
                    vk_id += 1
                    role = "parent" if rng.random() < 0.2 else "staff"
                    if rng.random() < 0.15:
                        chosen = ["none"]
                    else:
                        chosen = rng.sample([i for i in IDS if i != "none"], rng.randint(1, 3))
                    row = {
                        "week": week, "vk_id": vk_id, "org": org_id, "mun": mid, "role": role,
                        "diff": chosen, "conf": rng.choice([1, 2, 3, 4, 5, None]),
                        "msg": rng.choice(["0", "1-9", "10+", "10+", None]),
                        "completed": rng.random() > 0.1,
                    }
                    rows.append(row)
                    await tx.execute(
                        "INSERT INTO survey_answers (week, vk_id, org_id, municipality_id, role,"
                        " difficulties, confidence, messages, completed, started_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (week, vk_id, org_id, mid, role, ",".join(chosen), row["conf"],
                         row["msg"], int(row["completed"]), now, now))
    return {"rows": rows, "muns": muns, "orgs": orgs, "steps": steps}


def expected(rows: list[dict[str, Any]], week: str, mun: int | None = None,
             org: int | None = None) -> dict[str, Any]:
    def inside(r: dict[str, Any]) -> bool:
        return r["completed"] and (mun is None or r["mun"] == mun) and (org is None or r["org"] == org)

    now = [r for r in rows if inside(r) and r["week"] == week]
    before = [r for r in rows if inside(r) and r["week"] in previous_weeks(week)]
    staff = [r for r in now if r["role"] != "parent" and r["msg"] is not None]
    conf = [r["conf"] for r in now if r["conf"] is not None]
    counts = Counter(d for r in now for d in r["diff"])
    prev_counts = Counter(d for r in before for d in r["diff"])
    return {
        "n": len(now), "prev_n": len(before), "counts": counts,
        "shares": {i: counts[i] / len(now) for i in IDS},
        "prev_shares": {i: prev_counts[i] / len(before) for i in IDS} if before else {},
        "active": sum(r["msg"] == "10+" for r in staff), "base": len(staff),
        "confidence": sum(conf) / len(conf),
    }


def check_text(text: str, exp: dict[str, Any]) -> None:
    assert f"Ответили: {exp['n']} (за 4 предыдущие недели: {exp['prev_n']})" in text
    for option in OPTIONS:
        count = exp["counts"][option.id]
        assert f"• {option.label}: {count} — {round(100 * count / exp['n'])} %" in text, option
    share = round(100 * exp["active"] / exp["base"])
    assert f"{exp['active']} из {exp['base']} педагогов — {share} %" in text
    assert "цель — более 25 %" in text
    assert ("Цель достигнута." in text) == (exp["active"] / exp["base"] > 0.25)
    assert f"Средняя уверенность: {exp['confidence']:.1f}".replace(".", ",") in text


def attachment_bytes(emulator: VKEmulator, message: Any) -> tuple[str, bytes]:
    assert message.attachments, message.text
    stored = emulator.upload_of(message.attachments[0])
    assert stored is not None, message.attachments
    return stored


async def test_summaries_text_chart_and_spreadsheets(bot_inprocess: InProcessBot,
                                                     emulator: VKEmulator, users: Any) -> None:
    assert OPTIONS and "calls" in IDS  # the survey file defines the difficulties
    data = await seed(bot_inprocess.app)
    rows, muns = data["rows"], data["muns"]
    coordinator = await start_as(users, COORDINATOR, "Координатор")

    # The latest week with answers, for the whole region.
    await coordinator.send("сводка")
    summary = await coordinator.next_reply()
    assert "Тестовая область, неделя 16–22 ноября." in summary.text and "W47" not in summary.text
    region = expected(rows, "2026-W47")
    check_text(summary.text, region)
    assert summary.buttons == ["График", "Таблица XLSX", "Таблица CSV", "← 9–15 ноября",
                               "23–29 ноября →", "Другая территория"]

    # The chart: a valid PNG uploaded through the photo flow.
    await coordinator.press("График")
    chart_msg = await coordinator.next_reply()
    assert chart_msg.attachments[0].startswith("photo-1_")
    name, chart = attachment_bytes(emulator, chart_msg)
    assert chart.startswith(PNG) and name.endswith(".png")
    from PIL import Image

    with Image.open(io.BytesIO(chart)) as image:
        image.verify()
        assert image.size[0] > 800 and image.size[1] > 400
    (OUTPUT / "charts").mkdir(parents=True, exist_ok=True)
    (OUTPUT / "charts" / "summary.png").write_bytes(chart)

    # XLSX through the document flow: opens with openpyxl, with the right rows.
    await coordinator.press("Таблица XLSX")
    xlsx_msg = await coordinator.next_reply()
    assert xlsx_msg.attachments[0].startswith("doc-1_")
    name, xlsx = attachment_bytes(emulator, xlsx_msg)
    assert name == "svodka-2026-11-16.xlsx"  # named by the week's Monday
    book = load_workbook(io.BytesIO(xlsx))
    assert book.sheetnames == ["Сводка", "Трудности", "По неделям"]
    key_figures = {r[0]: r[1] for r in book["Сводка"].iter_rows(min_row=2, values_only=True)}
    assert key_figures["Ответили"] == region["n"]
    assert key_figures["Написали 10+ сообщений"] == region["active"]
    assert key_figures["Доля 10+"] == pytest.approx(region["active"] / region["base"], abs=1e-4)
    assert key_figures["Средняя уверенность (1–5)"] == pytest.approx(region["confidence"], abs=0.01)
    table = list(book["Трудности"].iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in table] == IDS
    for label, option_id, count, share, previous in table:
        assert label == LABEL[option_id]
        assert count == region["counts"][option_id]
        assert share == pytest.approx(region["shares"][option_id], abs=1e-4)
        assert previous == pytest.approx(region["prev_shares"][option_id], abs=1e-4)
    weeks = list(book["По неделям"].iter_rows(values_only=True))
    assert [w[0] for w in weeks[1:]] == [shown(w) for w in WEEKS[1:]]  # W47 and 4 before it
    assert key_figures["Неделя"] == "16–22 ноября"
    for line in weeks[1:]:
        assert line[1] == expected(rows, ISO_OF[line[0]])["n"]

    # CSV: the same week table, «;»-separated, with a BOM for Excel.
    await coordinator.press("Таблица CSV")
    name, raw = attachment_bytes(emulator, await coordinator.next_reply())
    assert name.endswith(".csv") and raw.startswith("\ufeff".encode())
    table_csv = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert table_csv[0][:2] == ["Неделя", "Ответили"]
    assert table_csv[0][2:2 + len(IDS)] == [LABEL[i] for i in IDS]
    for line in table_csv[1:]:
        exp = expected(rows, ISO_OF[line[0]])
        assert int(line[1]) == exp["n"]
        assert [int(v) for v in line[2:2 + len(IDS)]] == [exp["counts"][i] for i in IDS]

    # Another week and one municipality; then one organisation.
    await coordinator.send("сводка 2026-W46 Искитимский")
    text = (await coordinator.next_reply()).text
    assert "Искитимский район, неделя 9–15 ноября." in text
    check_text(text, expected(rows, "2026-W46", mun=muns["Искитимский район"]))
    org_id = next(o for o, m in data["orgs"].items() if m == muns["Мирнинский район"])
    await coordinator.send(f"сводка орг {org_id}")
    text = (await coordinator.next_reply()).text
    assert f"Школа №{org_id}" in text or "Школа №" in text
    # 2 respondents: below the minimum group (5), so nothing of their answers is shown
    assert expected(rows, "2026-W47", org=org_id)["n"] == 2
    assert "ответивших меньше 5" in text and "Ответили" not in text and "%" not in text

    # A direct export by command, and an unknown place.
    await coordinator.send("сводка xlsx Мирнинский")
    name, _ = attachment_bytes(emulator, await coordinator.next_reply())
    assert name.endswith(".xlsx")
    await coordinator.send("сводка Тридевятый район")
    assert "Не нашёл такой муниципалитет" in (await coordinator.next_reply()).text


async def test_funnel_and_municipal_scope(bot_inprocess: InProcessBot, emulator: VKEmulator,
                                          users: Any) -> None:
    data = await seed(bot_inprocess.app)
    rows, muns, steps = data["rows"], data["muns"], data["steps"]
    iskitim = muns["Искитимский район"]

    coordinator = await start_as(users, COORDINATOR, "Координатор")
    await coordinator.send("воронка")
    funnel = (await coordinator.next_reply()).text
    per_step = Counter(step for _, step, _ in steps.values())
    stuck = Counter(step for _, step, age in steps.values() if age > 7 and step < 9)
    assert f"Всего организаций: {len(steps)}, активированы: {per_step[9]}" in funnel
    for step in range(1, 9):
        line = next(line for line in funnel.splitlines() if line.startswith(f"Шаг {step}."))
        assert line.split(": ")[1].split(" ")[0] == str(per_step[step]), line
        assert (f"без движения больше 7 дн.: {stuck[step]}" in line) == bool(stuck[step])
    # The whole region: each municipality too, organisations per step.
    assert "По муниципалитетам" in funnel
    for name, mid in muns.items():
        here = Counter(step for m, step, _ in steps.values() if m == mid)
        parts = ", ".join(("активированы" if step == 9 else f"шаг {step}") + f" — {here[step]}"
                          for step in sorted(here))
        assert f"• {name} — {sum(here.values())}: {parts}" in funnel, name
    # The coordinator panel's «Воронка» is the same funnel.
    await coordinator.send("координатору")
    await coordinator.next_reply()
    await coordinator.press("Воронка")
    assert (await coordinator.next_reply()).text == funnel
    await coordinator.press("График воронки")
    _, png = attachment_bytes(emulator, await coordinator.next_reply())
    assert png.startswith(PNG)
    (OUTPUT / "charts").mkdir(parents=True, exist_ok=True)
    (OUTPUT / "charts" / "funnel.png").write_bytes(png)

    # A bot admin makes 9002 a coordinator of one municipality.
    admin = users(BOT_ADMIN, "Админ", "Бота")
    await admin.send(f"назначить координатора {MUNICIPAL_COORDINATOR} Искитимский район")
    assert "назначена координатором: Искитимский район" in (await admin.next_reply()).text

    municipal = await start_as(users, MUNICIPAL_COORDINATOR, "Координатор", "Ирина")
    await municipal.send("сводка")
    text = (await municipal.next_reply()).text
    assert "Искитимский район, неделя 16–22 ноября." in text
    check_text(text, expected(rows, "2026-W47", mun=iskitim))
    await municipal.press("Таблица XLSX")
    _, xlsx = attachment_bytes(emulator, await municipal.next_reply())
    figures_ = {r[0]: r[1] for r in load_workbook(io.BytesIO(xlsx))["Сводка"].iter_rows(values_only=True)}
    assert figures_["Территория"] == "Искитимский район"
    assert figures_["Ответили"] == expected(rows, "2026-W47", mun=iskitim)["n"]

    # Another municipality or its organisation: not found, whatever way it is asked.
    other_org = next(o for o, m in data["orgs"].items() if m == muns["г. Новосибирск"])
    for asked in ("сводка г. Новосибирск", f"сводка орг {other_org}", "сводка Мирнинский",
                  "воронка г. Новосибирск"):
        await municipal.send(asked)
        assert "Не нашёл такой муниципалитет" in (await municipal.next_reply()).text, asked
    await municipal.press_payload({"cmd": "sum.file", "w": "2026-W47", "m": muns["г. Новосибирск"],
                                   "o": None, "f": "xlsx"}, label="Таблица XLSX")
    assert "Не нашёл такой муниципалитет" in (await municipal.next_reply()).text
    await municipal.press_payload({"cmd": "sum.file", "w": "2026-W47", "m": None, "o": None,
                                   "f": "csv"}, label="Таблица CSV")  # the whole region
    assert "Не нашёл такой муниципалитет" in (await municipal.next_reply()).text

    await municipal.send("воронка")
    own = (await municipal.next_reply()).text
    own_steps = [s for mid, s, _ in steps.values() if mid == iskitim]
    assert "— Искитимский район." in own
    assert f"Всего организаций: {len(own_steps)}, активированы: {own_steps.count(9)}" in own
    assert "По муниципалитетам" not in own and "Новосибирск" not in own
    await municipal.send("координатору")
    await municipal.next_reply()
    await municipal.press("Воронка")
    assert (await municipal.next_reply()).text == own

    # The audit log: the regional coordinator sees everything, the municipal one only theirs.
    await coordinator.send("журнал")
    log = (await coordinator.next_reply()).text
    assert "выдана роль координатора — Искитимский район: Ирина Петрова" in log
    assert "сводка опроса — Искитимский район, неделя 16–22 ноября" in log and "воронка" in log
    await municipal.send("/audit")
    log = (await municipal.next_reply()).text
    assert "· Ирина Петрова: " in log and "Ольга Петрова" not in log  # actors by name

    async with bot_inprocess.app.deps.db.read() as tx:
        entries = await tx.summaries.list_audit(None, 100)
    actions = Counter(e.action for e in entries)
    assert actions["coordinator_grant"] == 1 and actions["summary_export"] == 1
    assert actions["funnel_export"] == 1 and actions["audit_view"] == 2
    assert all(e.details.get("municipality_id") == iskitim
               for e in entries if e.actor_id == MUNICIPAL_COORDINATOR)


# What each command of the help answers when typed without arguments (by its /form).
COMMAND_ANSWERS = {
    "/help": "Команды, доступные Вам",
    "/menu": "Главное меню",
    "/unsubscribe": "рассылки координаторов больше не будут приходить",
    "/subscribe": "рассылки координаторов снова будут приходить",
    "/coord": "«Заявки» (/applications)",
    "/applications": "Заявки в работе",
    "/export": "Новых заявок для выгрузки нет",
    "/funnel": "Активация профилей организаций",
    "/stuck": "Организаций без движения больше 7 дн.",
    "/questions": "Открытых вопросов нет",
    "/misses": "Частые вопросы без ответа",
    "/summary": "Ответов на опрос о трудностях",
    "/broadcast": "Новая рассылка",
    "/broadcasts": "Рассылок пока не было",
    "/cancel": "Напишите номер рассылки",
    "/audit": "Журнал действий",
    "/reload_faq": "Справка обновлена",
    "/faq_drafts": "Черновиков справки нет",
    "/status": "Состояние бота",
    "/grant": "Напишите так: «назначить координатора",
    "/revoke": "Напишите так: «снять координатора",
}
HELP_LINE = re.compile(r"^• «([^»]+)» \((/[^)]+)\) — ")


def help_commands(text: str) -> list[tuple[str, str]]:
    """(«слово», /form) of every line of the help, arguments left out:
    «сводка [неделя] …» (/summary) -> ("сводка", "/summary")."""
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    found = []
    for line in lines:
        match = HELP_LINE.match(line)
        assert match, line
        word, slash = (re.split(r" [\[<]| N$", form)[0] for form in match.groups())
        found.append((word, slash))
    return found


async def check_commands_work(person: Any) -> set[str]:
    """Type every command the person's help lists, both ways; each answers as that command."""
    await person.send("команды")
    listed = help_commands((await person.next_reply()).text)
    for word, slash in listed:
        for typed in (word, slash):
            await person.send(typed)
            text = "\n".join(m.text for m in await person.replies())
            assert COMMAND_ANSWERS[slash] in text, (person.uid, typed, text)
            if slash == "/broadcast":  # leave the dialog it opened
                await person.send("главное меню")
                await person.replies()
    return {slash for _, slash in listed}


async def test_help_lists_only_what_a_person_may_use(bot_inprocess: InProcessBot,
                                                     users: Any) -> None:
    teacher = await start_as(users, 7001, "Педагог или сотрудник")
    assert await check_commands_work(teacher) == {"/help", "/menu", "/unsubscribe", "/subscribe"}

    coordinator_only = {"/coord", "/applications", "/export", "/funnel", "/stuck", "/questions",
                        "/misses", "/summary", "/broadcast", "/broadcasts", "/cancel", "/audit"}
    admin = await start_as(users, BOT_ADMIN, "Координатор", "Админ")
    await admin.send(f"назначить координатора {MUNICIPAL_COORDINATOR} Искитимский район")
    await admin.next_reply()
    municipal = await start_as(users, MUNICIPAL_COORDINATOR, "Координатор", "Ирина")
    listed = await check_commands_work(municipal)
    assert listed == {"/help", "/menu", "/unsubscribe", "/subscribe", *coordinator_only}

    coordinator = await start_as(users, COORDINATOR, "Координатор")
    assert await check_commands_work(coordinator) == listed

    everything = await check_commands_work(admin)
    assert everything == set(COMMAND_ANSWERS) == listed | {"/reload_faq", "/faq_drafts", "/grant",
                                                                "/revoke", "/status"}


def test_summarise_pure() -> None:
    """The arithmetic on a handful of rows, worked out by hand."""
    options = [figures.Option("calls", "Звонки"), figures.Option("chats", "Чаты")]
    rows = [
        AnswerRow("2026-W47", "staff", ("calls",), 4, "10+"),
        AnswerRow("2026-W47", "staff", ("calls", "chats"), 2, "1-9"),
        AnswerRow("2026-W47", "parent", ("chats",), None, "10+"),   # parents: not in 10+ share
        AnswerRow("2026-W47", "staff", (), 3, None),
        AnswerRow("2026-W46", "staff", ("calls",), 5, "10+"),
        AnswerRow("2026-W43", "staff", ("chats", "calls"), 1, "0"),
        AnswerRow("2026-W42", "staff", ("calls",), 1, "10+"),       # 5 weeks back: ignored
    ]
    s = figures.summarise("2026-W47", rows, options, "Тест")
    assert s.weeks == ["2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert s.current.respondents == 4 and s.previous_respondents == 2
    calls, chats = s.difficulties
    assert (calls.count, calls.share, calls.previous) == (2, 0.5, 1.0)
    assert (chats.count, chats.share, chats.previous) == (2, 0.5, 0.5)
    assert calls.trend == "down" and chats.trend == "same"
    assert (s.current.active, s.current.active_base) == (1, 2)
    assert s.current.confidence == 3.0
    assert s.previous_active_share == 0.5
    assert figures.shift_week("2026-W01", -1) == "2025-W52"
    assert figures.parse_week("2026-w5") == "2026-W05" and figures.parse_week("W47") is None
    assert json.dumps(figures.summary_weeks("2027-W02")) == json.dumps(
        ["2026-W51", "2026-W52", "2026-W53", "2027-W01", "2027-W02"])

    # Identical answers come from SQL grouped, with their count: the same figures.
    grouped = [AnswerRow(r.week, r.role, r.difficulties, r.confidence, r.messages, 3)
               for r in rows]
    g = figures.summarise("2026-W47", grouped, options, "Тест")
    assert (g.current.respondents, g.previous_respondents) == (12, 6)
    assert [(d.count, d.share, d.previous) for d in g.difficulties] == [
        (6, 0.5, 1.0), (6, 0.5, 0.5)]
    assert (g.current.active, g.current.active_base, g.current.confidence) == (3, 6, 3.0)
    assert g.previous_active_share == 0.5
