"""Every keyboard the bot shows is valid for VK with the largest data: 20 municipalities with long
names, organisations with 300-character names, more survey difficulties than fit one screen,
many open questions, applications and broadcasts. People press every button they can reach (a
bounded crawl through the in-process bot); each keyboard they received is checked against VK's
limits (bot/vkemu/keyboard.py), and the bot must answer every press and log no refused keyboard.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.vkemu import EmulatedUser, VKEmulator
from bot.vkemu.keyboard import iter_buttons, payload_to_string, validate_keyboard
from core.kernel.clock import unix
from core.admin.figures import load_options
from core.surveys.service import load_survey
from core.kernel.texts import content_root
from tests.conftest import BOT_ADMIN, COORDINATOR, MUNICIPAL_COORDINATOR, InProcessBot

LONG = "Муниципальное образование «Очень длинное название района с историей» "
MUNICIPALITIES = [{"name": f"{n:02d} {LONG}"[:70]} for n in range(1, 21)]
ORG = ("Муниципальное бюджетное общеобразовательное учреждение «Средняя общеобразовательная "
       "школа с углублённым изучением отдельных предметов» ")
WEEK = "2026-W47"
EXTRA_DIFFICULTIES = ["x-one", "x-two", "x-three"]  # ids found in answers, not in the survey
# Buttons that end the walk or leave its territory (their screens are reached by other tests).
AVOID = ("Удалить мои данные", "Отозвать согласие", "Сменить роль", "Отправить сейчас")
PRESSES = 160


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"region": {"municipalities": MUNICIPALITIES},
            "access": {"admins": [BOT_ADMIN], "coordinators": [COORDINATOR]}}


async def seed(app: Any) -> None:
    now = unix(app.deps.clock)
    ids = [o.id for o in load_options(load_survey(content_root() / "surveys")) if o.id != "none"] + EXTRA_DIFFICULTIES
    async with app.deps.db.transaction() as tx:
        muns = [m.id for m in await tx.territory.list_municipalities()]
        vk_id = 80_000
        for n, mid in enumerate(muns):
            org = await tx.territory.insert_organisation((f"{n} " + ORG * 3)[:300], "school", mid,
                                                         None, now)
            for _ in range(3):
                vk_id += 1
                await tx.execute(
                    "INSERT INTO survey_answers (week, vk_id, org_id, municipality_id, role,"
                    " difficulties, confidence, messages, completed, started_at, updated_at)"
                    " VALUES (?, ?, ?, ?, 'staff', ?, 3, '10+', 1, ?, ?)",
                    (WEEK, vk_id, org.id, mid, ",".join(ids), now, now))
                await tx.tickets.insert_ticket(vk_id, "faq", ("Вопрос " + LONG * 10)[:2000],
                                               mid, now)
        await tx.territory.upsert_grant(MUNICIPAL_COORDINATOR, muns[0], BOT_ADMIN, now)


async def settle(app: Any, received: int, user: EmulatedUser | None = None,
                 answers: int = 0) -> None:
    """Until the bot has the update (and, given a user, has answered them), no handler runs
    and nothing is queued or in flight."""
    for _ in range(1000):
        if (app.dispatcher.received > received and not app.dispatcher.busy
                and (user is None or len(user.inbox) > answers) and await app.sender.idle()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the bot did not settle")


def visible(user: EmulatedUser) -> list[tuple[str, str]]:
    message = user.latest_inline()
    buttons = iter_buttons(message.keyboard) if message else []
    buttons += iter_buttons(user.keyboard)
    return [(b["action"].get("label", ""), payload_to_string(b["action"].get("payload", "")))
            for b in buttons if b["action"].get("type") in ("text", "callback")]


async def crawl(app: Any, user: EmulatedUser, opening: list[str]) -> int:
    """Press every reachable button once (bounded); returns how many were pressed."""
    pressed: set[tuple[str, str]] = set()
    for text in opening:
        before, answers = app.dispatcher.received, len(user.inbox)
        await user.send(text)
        await settle(app, before, user, answers)
    for _ in range(PRESSES):
        todo = [b for b in visible(user) if b not in pressed and not b[0].startswith(AVOID)]
        if not todo:
            before, answers = app.dispatcher.received, len(user.inbox)
            await user.send("главное меню")
            await settle(app, before, user, answers)
            todo = [b for b in visible(user) if b not in pressed and not b[0].startswith(AVOID)]
            if not todo:
                break
        label, payload = todo[0]
        pressed.add((label, payload))
        before, answers = app.dispatcher.received, len(user.inbox)
        await user.send(label, payload=payload)
        await settle(app, before, user, answers)
        assert len(user.inbox) > answers, f"no answer to {label!r}:\n{user.format_transcript()}"
    return len(pressed)


async def test_every_keyboard_is_valid_with_the_largest_data(
        bot_inprocess: InProcessBot, emulator: VKEmulator, users: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    app = bot_inprocess.app
    await seed(app)
    caplog.set_level(logging.WARNING)
    people = [
        (users(BOT_ADMIN, "Анна", "Админова"), ["Начать", "Координатор"]),
        (users(COORDINATOR, "Галина", "Петрова"), ["Начать", "Координатор", "рассылка"]),
        (users(MUNICIPAL_COORDINATOR, "Ирина", "Муниципальная"), ["Начать", "Координатор"]),
        (users(7001, "Ольга", "Иванова"), ["Начать", "Администратор школы"]),
        (users(7002, "Пётр", "Учителев"), ["Начать", "Педагог или сотрудник"]),
        (users(7003, "Мария", "Родителева"), ["Начать", "Родитель"]),
    ]
    total = 0
    for person, opening in people:
        total += await crawl(app, person, opening)
    assert total > 100  # the walk reached far, not only the first screen

    checked = 0
    for person, _ in people:
        for message in person.inbox:
            if message.keyboard:
                problem = validate_keyboard(message.keyboard)
                assert problem is None, f"{message.text[:80]!r}: {problem}"
                checked += 1
    refused = [r.getMessage() for r in caplog.records if "keyboard" in r.getMessage().lower()]
    assert not refused, refused
    assert not [c for c in emulator.calls if getattr(c, "error", None) == 911]
    assert checked > 100

    # the difficulty audience: more difficulties than one screen holds, all reachable
    coordinator = people[1][0]
    seen: set[str] = set()
    before, answers = app.dispatcher.received, len(coordinator.inbox)
    await coordinator.send("рассылка")
    await settle(app, before, coordinator, answers)
    before, answers = app.dispatcher.received, len(coordinator.inbox)
    await coordinator.press("Трудность из опроса")
    await settle(app, before, coordinator, answers)
    while True:
        seen |= {label for label, _ in visible(coordinator)}
        if "Ещё →" not in seen or not any(label == "Ещё →" for label, _ in visible(coordinator)):
            break
        before, answers = app.dispatcher.received, len(coordinator.inbox)
        await coordinator.press("Ещё →")
        await settle(app, before, coordinator, answers)
    labels = {o.label for o in load_options(load_survey(content_root() / "surveys")) if not o.exclusive}
    assert labels | set(EXTRA_DIFFICULTIES) <= seen
