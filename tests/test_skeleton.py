"""The walking skeleton through the emulator: the real `sferum-bot run` process, as VK drives it;
answers to bad input with the same bot built in-process (the fast tier)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.vkemu import EmulatedUser, VKEmulator
from tests.conftest import COORDINATOR, ROOT, BotProcess, InProcessBot
from tests.dsl import become

ROLE_BUTTONS = ["Администратор школы", "Педагог или сотрудник", "Родитель"]


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_first_conversation_and_role_choice(bot: BotProcess, users) -> None:
    teacher = users(1001)
    await teacher.send("Здравствуйте")
    greeting = await teacher.next_reply()
    assert "Здравствуйте" in greeting.text and "Кто Вы?" in greeting.text
    assert teacher.buttons() == ROLE_BUTTONS  # no «Координатор» for a teacher

    await teacher.press("Педагог или сотрудник")
    saved = await teacher.next_reply()
    assert "педагог или сотрудник" in saved.text
    assert "Главное меню" in saved.text
    assert "Сменить роль" in teacher.buttons()


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_coordinator_is_offered_the_coordinator_role(bot: BotProcess, users) -> None:
    coordinator = users(COORDINATOR)
    await coordinator.send("Начать")
    await coordinator.next_reply()
    assert coordinator.buttons() == ROLE_BUTTONS + ["Координатор"]
    await coordinator.press("Координатор")
    assert "координатор" in (await coordinator.next_reply()).text


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_forged_coordinator_role_is_refused(bot: BotProcess, users) -> None:
    parent = users(1002)
    await parent.send("привет")
    await parent.next_reply()
    await parent.press_payload({"cmd": "role", "role": "coordinator"}, label="Координатор")
    refusal = await parent.next_reply()
    assert "назначается администратором бота" in refusal.text
    assert parent.buttons() == ROLE_BUTTONS


async def test_role_survives_restart(bot: BotProcess, users) -> None:
    parent = users(1003)
    await parent.send("Начать")
    await parent.next_reply()
    await parent.press("Родитель")
    await parent.replies()
    await bot.restart()
    await parent.send("Главное меню")  # typed, not pressed: the bot must still know the role
    reply = await parent.next_reply()
    assert "Кто Вы?" not in reply.text  # not greeted as a newcomer again
    assert "Сменить роль" in parent.buttons()


@pytest.mark.parametrize("messenger", ["vk", "max"])
async def test_deep_link_ref_is_kept(bot: BotProcess, users, tmp_path: Path,
                                     messenger: str) -> None:
    """VK's ?ref= and MAX's ?start= (the bot_started payload) are the same invitation code."""
    teacher = users(1004)
    await teacher.send("Начать", ref="SCH-7F3K", ref_source="club1")
    reply = await teacher.next_reply()
    assert "по приглашению организации" in reply.text
    await bot.stop()
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
        assert db.execute(
            "SELECT u.ref FROM users u JOIN accounts a ON a.person_id = u.vk_id"
            " WHERE a.messenger = ? AND a.external_id = 1004", (messenger,)
        ).fetchone() == ("SCH-7F3K",)
    await bot.start()


@pytest.mark.parametrize("code", [1, 2, 3])
async def test_long_poll_failures_are_survived(bot: BotProcess, emulator: VKEmulator, users,
                                               code: int) -> None:
    person = users(1010 + code)
    emulator.fail_long_poll(code)
    # The bot has had the failure and polls again.
    assert await emulator.wait_until(lambda: emulator.long_poll_failures_pending == 0
                                     and emulator.long_poll_clients > 0, 10)
    await person.send("Привет")
    assert "Кто Вы?" in (await person.next_reply(timeout=10)).text


async def test_dropped_long_poll_connection_loses_nothing(bot: BotProcess, emulator: VKEmulator,
                                                          users) -> None:
    person = users(1020)
    emulator.drop_long_poll_connection()
    await person.send("Привет")
    assert "Кто Вы?" in (await person.next_reply(timeout=10)).text


async def test_replayed_event_is_answered_once(bot: BotProcess, emulator: VKEmulator, users) -> None:
    person = users(1021)
    event = await person.send("Привет")
    await person.next_reply()
    emulator.replay_event(event["event_id"])
    await person.send("Родитель")  # a later message proves the replay was read and skipped
    await person.replies()
    greetings = [m for m in emulator.inbox(1021) if "Кто Вы?" in m.text]
    assert len(greetings) == 1


async def test_error_10_on_send_is_retried(bot: BotProcess, emulator: VKEmulator, users) -> None:
    person = users(1030)
    emulator.inject_error("messages.send", 10, count=2)
    await person.send("Привет")
    assert "Кто Вы?" in (await person.next_reply(timeout=10)).text
    assert len(emulator.inbox(1030)) == 1


async def test_error_901_does_not_crash_or_loop(bot: BotProcess, emulator: VKEmulator, users) -> None:
    blocked, other = users(1040), users(1041)
    emulator.inject_error("messages.send", 901, count=1, peer_id=1040)
    await blocked.send("Привет")
    await other.send("Привет")
    assert "Кто Вы?" in (await other.next_reply()).text
    await emulator.settle()
    assert emulator.inbox(1040) == []
    attempts = [c for c in emulator.calls if c.method == "messages.send"
                and "1040" in (c.params.get("peer_id", "") + c.params.get("peer_ids", ""))]
    assert len(attempts) == 1  # not retried
    await blocked.send("Я разрешил сообщения")  # writing again allows messages again
    assert (await blocked.next_reply()).text


GARBAGE = [
    ("empty", dict(text="")),
    ("5000 characters", dict(text="очень длинный вопрос " * 250)),
    ("emoji only", dict(text="😀😀👍🔥")),
    ("forged payload", dict(text="admin", payload=json.dumps({"cmd": "admin"}))),
    ("payload not json", dict(text="x", payload="{not json")),
    ("payload not object", dict(text="x", payload="[1, 2]")),
]


@pytest.mark.parametrize("name,event", GARBAGE, ids=[g[0] for g in GARBAGE])
async def test_garbage_gets_a_polite_answer(bot_fast: InProcessBot, emulator: VKEmulator, users,
                                            name: str, event: dict) -> None:
    person = users(1050)
    await become(person, "Педагог или сотрудник")
    await emulator.user_message(1050, event["text"], payload=event.get("payload"))
    reply = await person.next_reply()
    assert reply.text and len(reply.text) <= 4096
    assert person.buttons(), "the person must always see what they can do next"
    # ... and the bot keeps serving others
    other = users(1051)
    await other.send("Привет")
    assert "Кто Вы?" in (await other.next_reply()).text


async def test_sticker_and_photo_get_a_polite_answer(bot_fast: InProcessBot, users) -> None:
    person = users(1060)
    await become(person, "Родитель")
    await person.send_sticker()
    assert "Вложения" in (await person.next_reply()).text
    await person.send_photo()
    assert "Вложения" in (await person.next_reply()).text


async def test_forged_payload_is_explained(bot_fast: InProcessBot, users) -> None:
    person = users(1061)
    await become(person, "Родитель")
    await person.press_payload({"cmd": "admin"}, label="admin")
    reply = await person.next_reply()
    assert "кнопка устарела" in reply.text
    assert "Главное меню" in reply.text


async def test_callback_button_press_is_acknowledged_and_routed(bot: BotProcess,
                                                               emulator: VKEmulator, users) -> None:
    person = users(1070)
    await person.send("Начать")
    await person.next_reply()
    await emulator.callback(1070, {"cmd": "role", "role": "parent"}, 1)
    assert "родитель" in (await person.next_reply()).text
    assert len(emulator.event_answers) == 1


def test_bad_config_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[vk]\ntoken = "x"\ngroup_id = "abc"\n[region]\nname = "X"\n',
                      encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--config", str(config)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "vk.group_id" in result.stderr and "Traceback" not in result.stderr


def test_missing_token_names_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[vk]\ngroup_id = 5\n[region]\nname = "X"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="vk.token: is required"):
        load_settings(config, environ={})
    assert load_settings(config, environ={"SFERUM_VK_TOKEN": "secret"}).vk.token == "secret"


def test_example_config_is_valid() -> None:
    settings = load_settings(ROOT / "config.example.toml", environ={})
    assert settings.vk.api_url == "https://api.vk.ru/method/"


def test_sandbox_through_standard_input(tmp_path: Path) -> None:
    script = "привет\n3\n/quit\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, run from another directory
    result = subprocess.run([sys.executable, "-m", "bot", "sandbox"], input=script,
                            capture_output=True, text=True, cwd=tmp_path, timeout=90, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    (ROOT / "tests" / "output").mkdir(exist_ok=True)
    (ROOT / "tests" / "output" / "sandbox_session.txt").write_text(out, encoding="utf-8")
    assert "[1] Администратор школы" in out
    assert "Вы — родитель" in out
    assert "Вы (1001)> привет\n" in out  # piped input is echoed
    assert "До свидания" in out
    assert not (tmp_path / ".vkbottle").exists()


async def test_two_quick_presses_of_one_person_are_serialised(bot: BotProcess,
                                                              emulator: VKEmulator, users) -> None:
    person = users(1080)
    await person.send("Начать")
    await person.next_reply()
    await asyncio.gather(person.press("Родитель"), emulator.user_message(
        1080, "Педагог или сотрудник", payload=json.dumps({"cmd": "role", "role": "staff"})))
    replies = await person.replies()
    saved = [m.text for m in replies if m.text.startswith("Готово")]
    assert len(saved) == 2 and "родитель" in saved[0] and "педагог" in saved[1]


async def test_many_people_at_once_all_get_answers(bot: BotProcess, emulator: VKEmulator) -> None:
    people = [EmulatedUser(emulator, 5000 + n) for n in range(60)]
    await asyncio.gather(*(p.send("Привет") for p in people))
    for p in people:
        assert "Кто Вы?" in (await p.next_reply(timeout=15)).text
    assert not [c for c in emulator.calls if c.error_code == 6]
