"""New variants of issue 15's classes, tried as an attacker would after the hardening landed.

Each test names the class it attacks; the variants are ones the first security tests did not
try: invisible or compatibility characters before a formula sign, VK link markup with targets
other than ``id``/``club``, chat-wide mentions, placeholders with look-alikes and nesting,
typed command variants and odd payload values from people without the right, and callback
requests with a missing or malformed secret.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.config import CallbackSettings
from bot.vk.callback import callback_app
from bot.vkemu import VKEmulator
from core.kernel.clock import unix
from core.kernel.fill_in import TemplateProblem, parse
from core.kernel.untrusted import relayed, spreadsheet_cell
from tests.conftest import COORDINATOR, MUNICIPAL_COORDINATOR, BOT_ADMIN, GROUP, InProcessBot
from tests.dsl import admin_with_consent, become, press, said, say, start_as
from tests.test_broadcasts import municipality_ids, new_org, seed_people, wait_for_report
from tests.test_security_injection import apply_as_admin, document, reply_with
from tests.test_security_privacy import raw_bytes
from tests.test_security_rights import _leaks, _seed_other_municipality

# -- class 2: a formula behind something invisible --------------------------------------------
INVISIBLE_STARTS = [
    "\ufeff=1+1",             # a byte order mark
    "\u200b+SUM(1,1)",        # a zero-width space
    "\u2060@cmd",             # a word joiner
    "\u200e-2+3",             # a left-to-right mark
    "\u2003=1+1",             # an em space (not only the blanks the first version knew)
    "\u2028=1+1",             # a line separator
    "\ufe66HYPERLINK(1)",     # the small equals sign, NFKC «=»
    "\ufe62SUM(1)",           # the small plus sign
    "\ufe6bcmd",              # the small commercial at
]


@pytest.mark.parametrize("value", INVISIBLE_STARTS)
def test_spreadsheet_cell_sees_through_invisible_and_compatibility_starts(value: str) -> None:
    assert spreadsheet_cell(value) == "'" + value


def test_spreadsheet_cell_leaves_plain_text_with_invisible_characters() -> None:
    assert spreadsheet_cell("\u200bШкола № 5 -1") == "\u200bШкола № 5 -1"
    assert spreadsheet_cell("Школа\u200b=1") == "Школа\u200b=1"


# -- class 10: every VK link markup and chat-wide mention --------------------------------------
@pytest.mark.parametrize("text", [
    "[vk.com/id1|Откройте]", "[https://vk.com/id1|Откройте]", "[https://evil.example/x|Откройте]",
    "[id1:bp-1_2|Откройте]", "[ club1 |Откройте]", "[m.vk.com/club1|Откройте]",
])
def test_relayed_breaks_every_bracket_link(text: str) -> None:
    out = relayed(text)
    assert "|" not in out and "Откройте" in out, out


@pytest.mark.parametrize("text", ["@all срочно", "@online", "@все сюда", "@здесь", "*все"])
def test_relayed_breaks_chat_wide_mentions(text: str) -> None:
    out = relayed(text)
    assert not out.startswith(("@", "*")) and out[1:] == text[1:], out


def test_relayed_keeps_ordinary_text() -> None:
    assert relayed("olga@school.ru, кабинет [3]|4") == "olga@school.ru, кабинет [3]|4"
    assert relayed("x" * 20_000) == "x" * 999 + "…"  # a very long line is cut, not split


HOSTILE_NAMES = ["\ufeff=HYPERLINK(\"http://evil.example/\",\"Жми\")",
                 "\u200b+SUM(1,1) школа",
                 "\ufe66 1+1 школа [vk.com/id1|Откройте] @все"]


async def test_invisible_formula_names_and_link_markup_through_the_bot(
        bot, emulator: VKEmulator, users) -> None:
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await coordinator.send("Начать")
    await reply_with(coordinator, "Кто Вы")
    for n, org in enumerate(HOSTILE_NAMES):
        number = await apply_as_admin(users(400 + n, "Ольга", "Иванова"), org,
                                      f"school{n}@example.ru")
        notice = await reply_with(coordinator, f"Новая заявка №{number} ")
        assert "[vk.com/id1|" not in notice and "@все" not in notice, notice

    await coordinator.send("выгрузка")
    message = await coordinator.next_reply(timeout=30)
    while not message.attachments:
        message = await coordinator.next_reply(timeout=30)
    _, data = document(emulator, message)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    names = [cell for row in rows[1:] for cell in row if "SUM" in cell or "HYPERLINK" in cell
             or "1+1 школа" in cell]
    assert len(names) == len(HOSTILE_NAMES), rows
    for cell in names:
        assert cell.startswith("'"), f"live cell {cell!r}"


# -- class 1: placeholders with look-alikes, blanks and nesting --------------------------------
NAMES = {"имя": "first_name", "фамилия": "last_name"}


@pytest.mark.parametrize("text,key", [
    ("{{ {{ имя }} }}", "broadcasts.template_syntax"),
    ("{{ имя {{ фамилия }} }}", "broadcasts.template_syntax"),
    ("{{ имя }", "broadcasts.template_syntax"),
    ("{{\u200bимя}}", "broadcasts.template_not_allowed"),
    ("{{ им\u0301я }}", "broadcasts.template_not_allowed"),
    ("{{ имя\u2028|upper }}", "broadcasts.template_not_allowed"),
    ("{{ imya }}", "broadcasts.template_unknown"),
    ("{{ 1 }}", "broadcasts.template_not_allowed"),
    ("{%- for x in y -%}", "broadcasts.template_not_allowed"),
])
def test_fill_in_refuses_look_alikes_and_nesting(text: str, key: str) -> None:
    with pytest.raises(TemplateProblem) as caught:
        parse(text, NAMES)
    assert caught.value.key == key


def test_fill_in_look_alike_braces_stay_literal() -> None:
    for text in ("\uff5b\uff5b 9**(9**9) \uff5d\uff5d", "{ {имя} }", "\ufe5b\ufe5bимя\ufe5c\ufe5c"):
        fill = parse(text, NAMES)
        assert fill.fields == set() and fill.render({"first_name": "Оля"}) == text
    fill = parse("{{\u00a0ИМЯ\u3000}}}{{фамилия}}", NAMES)  # blanks and case are spelling
    assert fill.render({"first_name": "Оля", "last_name": "{{ имя }}"}) == "Оля}{{ имя }}"


# -- classes 3 and 7: typed variants and odd payloads from people without the right ------------
async def test_other_municipality_by_typed_variants_and_odd_payloads(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    seeded = await _seed_other_municipality(app)
    admin_user = users(BOT_ADMIN, "Админ", "Бота")
    await admin_user.send(f"назначить координатора {MUNICIPAL_COORDINATOR} Искитимский")
    await admin_user.next_reply()
    municipal = await start_as(users, MUNICIPAL_COORDINATOR, "Координатор", "Ирина", "Соколова")
    teacher = await start_as(users, 7001, "Педагог или сотрудник", "Анна", "Иванова")
    parent = await start_as(users, 7002, "Родитель", "Мария", "Смирнова")
    org, app_id, ticket = seeded["org"], seeded["app"], seeded["ticket"]
    typed = ["СВОДКА  г. Новосибирск", "сводка г.Новосибирск", "сводка новосибирск",
             "Сводка 2026-W47 г. Новосибирск xlsx", f"сводка 2026-W47 орг {org} csv",
             f"сводка орг  {org}", f"сводка орг {org:+d}", "воронка  Новосибирск",
             "воронка г. новосибирск", "выгрузка г. Новосибирск", "выгрузка все",
             "частые вопросы г. Новосибирск", "частые  вопросы", "ЧАСТЫЕ ВОПРОСЫ",
             "заявки г. Новосибирск", "вопросы г. Новосибирск"]
    odd = [{"cmd": "crd.status", "app": app_id, "status": "done", "m": None},
           {"cmd": "crd.status", "app": -app_id, "status": "rejected"},
           {"cmd": "crd.status", "app": 10**30, "status": "rejected"},
           {"cmd": "crd.status", "app": str(app_id), "status": "rejected"},
           {"cmd": "ticket.answer", "id": f"{ticket} OR 1=1"},
           {"cmd": "ticket.answer", "id": ticket, "scope": "region"},
           {"cmd": "fun.chart", "m": -1}, {"cmd": "fun.chart", "m": 10**30},
           {"cmd": "fun.chart", "m": [seeded["nsk"]]},
           {"cmd": "sum.file", "w": "2026-W47", "m": seeded["nsk"], "o": org, "f": "csv",
            "region": True},
           {"cmd": "sum.file", "w": "../../etc", "m": -1, "o": -org, "f": "xlsx"},
           {"cmd": "crd.mark", "upto": 10**30}, {"cmd": "crd.export", "m": seeded["nsk"]},
           {"cmd": "bc.kind", "kind": "all", "m": seeded["nsk"]},
           {"cmd": "learn.pub", "id": "../../config"}, {"cmd": "pd.erase_yes", "vk_id": 5001}]
    for person in (municipal, teacher, parent):
        for text in typed:
            await person.send(text)
            got = await person.replies(timeout=20)
            assert got, (person.uid, text, "no answer at all")
            for reply in got:
                assert not _leaks(reply.text), (person.uid, text, reply.text)
                if person is not municipal:
                    assert not reply.attachments, (person.uid, text)
        for payload in odd:
            await person.press_payload(payload, label="…")
            got = await person.replies(timeout=20)
            assert got, (person.uid, payload, "no answer at all")
            for reply in got:
                assert not _leaks(reply.text), (person.uid, payload, reply.text)
                assert not reply.attachments, (person.uid, payload)
        for reply in emulator.inbox(person.uid):
            for attachment in reply.attachments or []:
                found = emulator.upload_of(attachment)
                if found is not None:
                    assert not _leaks(found[1].decode("utf-8", "replace")), (person.uid, found[0])

    async with app.deps.db.read() as tx:
        application = await tx.activation.get_application(app_id)
        question = await tx.tickets.get_ticket(ticket)
        other = await tx.users.get_user(5001)
    assert application is not None and application.status == "new"
    assert question is not None and question.status == "open"
    assert other is not None  # nobody erased someone else


# -- class 12: callback requests with a missing or malformed secret ----------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_callback_refuses_every_malformed_secret_and_foreign_group() -> None:
    fed: list[dict[str, Any]] = []

    async def feed(event: dict[str, Any]) -> None:
        fed.append(event)

    port = _free_port()
    settings = CallbackSettings(host="127.0.0.1", port=port, path="/vk/callback",
                                confirmation="c0nf", secret="s3cret")
    runner = web.AppRunner(callback_app(settings, GROUP, feed))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    url = f"http://127.0.0.1:{port}/vk/callback"
    event = {"type": "message_new", "group_id": GROUP, "event_id": "e1",
             "object": {"message": {"from_id": BOT_ADMIN, "peer_id": BOT_ADMIN, "text": "журнал"}}}
    try:
        async with aiohttp.ClientSession() as http:
            for secret in ("", " s3cret", "s3cret ", "S3CRET", "s3cre", "s3cret\x00", 0, None,
                           ["s3cret"], {"s": "s3cret"}, True):
                async with http.post(url, json={**event, "secret": secret}) as resp:
                    assert resp.status == 403, secret
            async with http.post(url, json=event) as resp:  # no secret at all
                assert resp.status == 403
            for group in (-GROUP, GROUP + 1, str(GROUP), None):
                async with http.post(url, json={**event, "secret": "s3cret",
                                                "group_id": group}) as resp:
                    assert resp.status == 403, group
                async with http.post(url, json={"type": "confirmation",
                                                "group_id": group}) as resp:
                    assert resp.status == 403 and "c0nf" not in await resp.text(), group
            for body in ("[]", "null", "\"ok\"", "{", "x" * 100):
                async with http.post(url, data=body) as resp:
                    assert resp.status in (400, 403), body
            assert fed == []
            async with http.post(url, json={**event, "secret": "s3cret"}) as resp:
                assert await resp.text() == "ok"
            assert len(fed) == 1
    finally:
        await runner.cleanup()


# -- class 4: erasure in the middle of a dialog, then registering again ------------------------
DRAFT_NAME = "Черновикова Агния Львовна"
DRAFT_PHONE = "+79130001122"
NEW_NAME = "Повторнова Вера Ильинична"
NEW_EMAIL = "vera.povtor@school7.ru"


async def test_erasure_mid_dialog_then_registering_again(
        bot, emulator: VKEmulator, users: Any, tmp_path: Path) -> None:
    db_path = tmp_path / "data" / "bot.sqlite3"
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await become(coordinator, "Координатор")
    person = users(6101, "Агния", "Черновикова")
    await admin_with_consent(person)
    await say(person, "МБОУ «Черновая школа»")
    await press(person, "Школа (общее образование)")
    await press(person, "г. Новосибирск")
    await say(person, DRAFT_NAME)
    assert "Вопрос 6 из 6" in await say(person, DRAFT_PHONE)

    # What the unfinished application holds is stored, so «Мои данные» shows it ...
    await person.press_payload({"cmd": "pd"}, label="Мои данные")  # the menu's button
    stored = await said(person)
    assert DRAFT_NAME in stored and DRAFT_PHONE in stored, stored
    # ... and erasure removes it from the database file and its WAL.
    await press(person, "Отозвать согласие и удалить")
    assert "согласие отозвано" in await press(person, "Да, удалить мои данные")
    data = raw_bytes(db_path)
    for value in (DRAFT_NAME, "Черновикова", DRAFT_PHONE, "0001122", "Черновая школа"):
        assert value.encode() not in data, value

    # Registering again: a new consent and a new application, nothing of the old one returns.
    number = await apply_as_admin(person, "МБОУ «Школа № 7»", NEW_EMAIL, full_name=NEW_NAME,
                                  phone="+79139998877")
    stored = await say(person, "мои данные")
    assert NEW_NAME in stored and NEW_EMAIL in stored and "Школа № 7" in stored, stored
    assert DRAFT_NAME not in stored and DRAFT_PHONE not in stored, stored
    await reply_with(coordinator, f"Новая заявка №{number} ")
    await coordinator.send("заявки")
    card = await reply_with(coordinator, f"Заявка №{number}")
    assert "Повторнова" in card, card  # not hidden as erased

    # Erasing again leaves neither the first nor the second set of values.
    await press(person, "Отозвать согласие и удалить")
    assert "согласие отозвано" in await press(person, "Да, удалить мои данные")
    data = raw_bytes(db_path)
    for value in (NEW_NAME, "Повторнова", NEW_EMAIL, "9998877", DRAFT_NAME, DRAFT_PHONE):
        assert value.encode() not in data, value


# -- class 3: contacts in «частые вопросы» written the ways people write them ------------------
HIDDEN_CONTACTS = [
    ("Не пускает в кабинет, звоните 8.913.765.43.21", "765.43.21"),
    ("Срочно, номер +7—913—765—43—22 спросить Ольгу", "765—43—22"),
    ("Связь через +7/913/765-43-23 после обеда", "765-43-23"),
    ("Мой номер 8913\u200b7654324, перезвоните", "7654324"),
    ("Пишите в телеграм t.me/direktor_shkoly99", "direktor_shkoly99"),
    ("Почта boss99 @ nsk-school.ru, жду ответа", "nsk-school"),
]


async def test_contacts_written_every_way_are_masked_in_frequent_questions(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    now = unix(app.deps.clock)
    async with app.deps.db.transaction() as tx:
        for n, (text, _) in enumerate(HIDDEN_CONTACTS):
            await tx.users.upsert_seen(5100 + n, now)
            await tx.tickets.insert_miss(text, f"вопрос {n}", now, 5100 + n, None)
        await tx.tickets.insert_miss("Не работает с 01.09.2026, приём 10.00-12.00", "даты",
                                     now, 5199, None)
    regional = await start_as(users, COORDINATOR, "Координатор")
    await regional.send("частые вопросы")
    shown = (await regional.next_reply()).text
    for text, contact in HIDDEN_CONTACTS:
        assert contact not in shown, f"{contact!r} shown:\n{shown}"
        assert text.split()[0] in shown, shown  # the question itself is kept
    assert "01.09.2026" in shown and "10.00-12.00" in shown, shown  # dates are not phones


# -- classes 1 and 10: a typed organisation name inside a coordinator's broadcast ---------------
async def test_organisation_placeholder_brings_no_live_markup_to_recipients(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any) -> None:
    app = bot_inprocess.app
    muns = await municipality_ids(app)
    org = await new_org(app, "Школа [id1|Откройте ссылку] [vk.com/club1|Новости] @all "
                             "\u202eавтор", muns["г. Новосибирск"])
    await seed_people(app, emulator, [7301], org, "staff")
    coordinator = await start_as(users, COORDINATOR, "Координатор")
    await coordinator.send("рассылка")
    await coordinator.next_reply()
    await coordinator.press("Всем")
    await coordinator.next_reply()
    await coordinator.send("{{ организация }}: собрание в пятницу.")
    await coordinator.replies()
    await coordinator.press("Отправить сейчас")
    await wait_for_report(emulator, COORDINATOR, "Рассылка №1 завершена")
    [got] = emulator.inbox(7301)
    assert got.text.endswith(": собрание в пятницу.") and "Откройте ссылку" in got.text, got.text
    for live in ("[id1|", "[vk.com/club1|", "@all", "\u202e"):
        assert live not in got.text, got.text


# -- numbers no one expects, from people who do have the right ---------------------------------
HUGE = 10**30


async def test_huge_and_odd_numbers_from_coordinators_and_admins_are_answered_politely(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    """A number beyond SQLite's integers or a digit that is not ASCII («²») is bad input,
    answered as such, never a failed handler (or a typed command taken for a help question)."""
    app = bot_inprocess.app
    await _seed_other_municipality(app)
    regional = await start_as(users, COORDINATOR, "Координатор")
    admin_user = users(BOT_ADMIN, "Админ", "Бота")
    typed = [(regional, f"сводка орг {HUGE}"), (regional, "сводка орг ²"),
             (regional, f"сводка орг -{HUGE}"), (regional, "сводка 2026-W99"),
             (regional, f"воронка {HUGE}"), (regional, "сводка ²³"),
             (admin_user, f"назначить координатора {HUGE}"),
             (admin_user, f"назначить координатора {HUGE} Искитимский"),
             (admin_user, f"снять координатора {HUGE}"), (admin_user, "снять координатора ²"),
             (admin_user, "назначить координатора id" + "9" * 40)]
    payloads = [{"cmd": "crd.status", "app": HUGE, "status": "rejected"},
                {"cmd": "crd.mark", "upto": HUGE}, {"cmd": "ticket.answer", "id": HUGE},
                {"cmd": "fun.chart", "m": HUGE}, {"cmd": "bc.cancel", "id": HUGE},
                {"cmd": "sum.file", "w": "2026-W47", "m": HUGE, "o": None, "f": "csv"},
                {"cmd": "sum.file", "w": "2026-W47", "m": None, "o": HUGE, "f": "xlsx"},
                {"cmd": "crd.status", "app": 1.5e308, "status": "done"},
                {"cmd": "ticket.answer", "id": -HUGE}]
    errors: list[str] = []
    for person, text in typed:
        await person.send(text)
        got = await person.replies(timeout=20)
        errors += [f"{text}: {r.text}" for r in got
                   if "ошибк" in r.text.lower() or "точного ответа" in r.text]
        assert got, (text, "no answer at all")
    for payload in payloads:
        await regional.press_payload(payload, label="…")
        got = await regional.replies(timeout=20)
        errors += [f"{payload}: {r.text}" for r in got if "ошибк" in r.text.lower()]
        assert got, (payload, "no answer at all")
    assert not errors, "\n".join(errors)
    failed = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failed, failed
    async with app.deps.db.read() as tx:
        assert await tx.territory.list_grants() == []


def test_a_question_taught_to_the_faq_carries_no_contacts_or_markup() -> None:
    """«Добавить в справку» writes the asker's words into content everyone reads: their phone,
    e-mail and live VK markup stay behind."""
    from core.faq.learning import _public

    taught = _public("как войти?\nмой тел 8 913 123-45-67, почта ivan@mail.ru [id1|я] @все")
    assert "123-45-67" not in taught and "ivan@mail.ru" not in taught
    assert "[id1|" not in taught and "\n" not in taught and "как войти?" in taught
