"""No personal data in the log at any level: the real bot at DEBUG, a whole conversation (an
administrator's application with ФИО, phone and e-mail, a question to a coordinator and the
answer), then the log file is searched for every value those people typed."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest

from bot.logs import RedactingFilter, pin_third_party, redact
from bot.vkemu import VKEmulator
from tests.conftest import COORDINATOR, BotProcess
from tests.test_security_injection import apply_as_admin, reply_with

FULL_NAME = "Скворцова Алевтина Игоревна"
PHONE = "8 (913) 765-43-21"
EMAIL = "alevtina.skv@school42.ru"
ORG = "МБОУ «Гимназия Скворцовых»"
QUESTION = "Где купить зелёного попугая для живого уголка? Звоните 8 913 765 43 21"
ANSWER = "Алевтина Игоревна, проверьте номер в профиле VK"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"log": {"level": "DEBUG"}}


async def test_whole_conversation_at_debug_leaves_no_personal_data(
        bot: BotProcess, emulator: VKEmulator, users) -> None:
    coordinator = users(COORDINATOR, "Галина", "Петрова")
    await coordinator.send("Начать")
    await reply_with(coordinator, "Кто Вы")
    admin = users(4242, "Алевтина", "Скворцова")
    number = await apply_as_admin(admin, ORG, EMAIL, full_name=FULL_NAME, phone=PHONE)
    await reply_with(coordinator, f"Новая заявка №{number}")

    # a question nobody answers in the FAQ goes to the coordinator, and the answer comes back
    await admin.send(QUESTION)
    await reply_with(admin, "")
    assert "Спросить координатора" in admin.buttons(), admin.format_transcript()
    await admin.press("Спросить координатора")
    await reply_with(admin, "№")
    await reply_with(coordinator, "Новый вопрос")
    await coordinator.press("Ответить")
    await reply_with(coordinator, "Напишите ответ")
    await coordinator.send(ANSWER)
    await reply_with(admin, "Ответ координатора")

    log = bot.log_text()
    assert "INFO" in log  # the process did log (migrations) at the configured level
    digits = "".join(ch for ch in PHONE if ch.isdigit())
    values = [FULL_NAME, *FULL_NAME.split(), EMAIL, "alevtina", "school42", ORG, "Скворцовых",
              QUESTION, "попугая", ANSWER, "проверьте номер", "Алевтина", digits,
              "9137654321", "765-43-21", "765 43 21", "Галина"]
    leaks = [v for v in values if v.lower() in log.lower()]
    assert not leaks, f"personal data in the log: {leaks}\n{log[-3000:]}"


def _capture(level: int = logging.DEBUG) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    return root, stream, handler


@pytest.mark.parametrize("name", ["aiosqlite", "vkbottle", "aiohttp.access", "apscheduler.x",
                                  "asyncio", "some.library"])
def test_third_party_debug_and_info_never_reach_a_handler(name: str) -> None:
    root, stream, handler = _capture()
    before = root.level
    try:
        root.setLevel(logging.DEBUG)
        pin_third_party()
        lib = logging.getLogger(name)
        lib.setLevel(logging.DEBUG)  # a library that lowers its own level later
        lib.debug("executing INSERT INTO users VALUES (?, ?) ('Иванова Ольга', '+79131234567')")
        lib.info("message_new {'text': 'мой вопрос', 'from_id': 5}")
        lib.warning("connection lost to %s, phone %s", "vk", "+79131234567")
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
        logging.getLogger(name).setLevel(logging.NOTSET)
    out = stream.getvalue()
    assert "Иванова" not in out and "мой вопрос" not in out and "79131234567" not in out
    assert "connection lost to vk" in out  # warnings still come through, redacted


def test_own_records_and_tracebacks_are_redacted() -> None:
    root, stream, handler = _capture()
    log = logging.getLogger("core.something")
    before = root.level
    try:
        root.setLevel(logging.DEBUG)
        try:
            raise ValueError("bad input_value='Петров Иван' email petrov@mail.ru")
        except ValueError:
            log.exception("handler failed for %s", "8-913-111-22-33")
        log.debug("payload %s", {"text": "hello, my secret", "peer_id": 7})
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
    out = stream.getvalue()
    for value in ("Петров", "petrov@mail.ru", "913-111-22-33", "hello, my secret"):
        assert value not in out, value
    assert "handler failed for [redacted]" in out and "ValueError" in out and "peer_id" in out


def test_redaction_keeps_what_operators_need() -> None:
    line = "broadcast 12: 340 of 400 delivered at 2026-11-23 10:00:00, ts 1700000000, peer 2000001"
    assert redact(line) == line
