"""What an operator meets: starting without network or with a wrong token, config mistakes said in
Russian as well as English, `check` that warns about what is not ready yet."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import ConfigError, load_settings, settings_from_dict
from bot.vkemu import EmulatedUser, VKEmulator
from tests.conftest import (BOT_ADMIN, COORDINATOR, GROUP, TOKEN, BotProcess, base_config, bot_pythonpath,
                            toml_dump)

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HEALTH_PORT = _free_port()


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"health": {"enabled": True, "port": HEALTH_PORT}}


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


def bot_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")}
    env["PYTHONPATH"] = bot_pythonpath()
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


free_port = _free_port


def write_config(tmp_path: Path, raw: dict[str, Any]) -> Path:
    raw.setdefault("schedule", {}).setdefault("enabled", False)
    config = tmp_path / "config.toml"
    config.write_text(toml_dump(raw), encoding="utf-8")
    return config


async def wait_for(predicate: Any, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)  # polling a log file written by another process
    return predicate()


# -- starting: no network, a wrong token ----------------------------------------------------------

async def test_run_without_vk_retries_with_one_line_per_attempt(tmp_path: Path) -> None:
    port, health = free_port(), free_port()
    raw = base_config(f"http://127.0.0.1:{port}/method/", tmp_path / "data" / "bot.sqlite3",
                      health={"enabled": True, "port": health})
    config = write_config(tmp_path, raw)
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), cwd=tmp_path,
            env=bot_env(), stdout=out, stderr=out)
        emu = VKEmulator(group_id=GROUP, token=TOKEN)
        try:
            text = lambda: log.read_text(errors="replace")  # noqa: E731
            assert await wait_for(lambda: "attempt 2," in text(), 90), text()
            status, body = await get(f"http://127.0.0.1:{health}/healthz")
            assert status == 503 and "not connected" in body
            # the network is back: the bot connects and answers
            await emu.start(port=port)
            await emu.wait_for_long_poll(30)
            assert (await get(f"http://127.0.0.1:{health}/healthz"))[0] == 200
            person = EmulatedUser(emu, 1201)
            await person.send("Привет")
            assert "Кто Вы?" in (await person.next_reply(timeout=15)).text
        finally:
            proc.terminate()
            await proc.wait()
            await emu.stop()
    output = log.read_text(errors="replace")
    assert "Traceback" not in output
    attempts = [line for line in output.splitlines() if "VK API is not reachable" in line]
    assert len(attempts) >= 2
    assert all("next in" in line and "[redacted]" not in line for line in attempts)
    assert "attempt 1, next in 1 s" in attempts[0] and "attempt 2, next in 2 s" in attempts[1]


async def test_run_with_a_refused_token_says_what_to_fix_and_exits(tmp_path: Path) -> None:
    async with VKEmulator(group_id=GROUP, token="the-real-token") as emu:
        raw = base_config(emu.api_url, tmp_path / "data" / "bot.sqlite3")  # token: test-token
        config = write_config(tmp_path, raw)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), cwd=tmp_path,
            env=bot_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    stderr = err.decode()
    assert proc.returncode == 3, stderr
    assert "Traceback" not in stderr
    last = [line for line in stderr.splitlines() if line.startswith("sferum-bot:")]
    assert len(last) == 1
    assert "error 5" in last[0] and "SFERUM_VK_TOKEN" in last[0] and "Ключи доступа" in last[0]
    assert not emu.calls_of("groups.getLongPollServer")


# -- config mistakes ---------------------------------------------------------------------------

def _raw(**region: Any) -> dict[str, Any]:
    return {"vk": {"token": "t", "group_id": 5},
            "region": {"name": "Новосибирская область", **region}}


def test_config_error_in_the_file_is_said_in_russian_too(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[vk]\ntoken = "x"\ngroup_id = "abc"\n[region]\nname = "X"\n',
                      encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert f"{config}: setting vk.group_id: Input should be a valid integer" in message
    assert "настройка vk.group_id: нужно целое число" in message
    with pytest.raises(ConfigError, match="обязательная настройка не задана"):
        settings_from_dict({"vk": {"group_id": 5}, "region": {"name": "X"}}, "c.toml", {})
    with pytest.raises(ConfigError, match="неизвестный часовой пояс"):
        settings_from_dict(_raw(timezone="Asia/Novosibirk"), "c.toml", {})


def test_environment_errors_name_the_variable_not_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[vk]\ntoken = "x"\ngroup_id = 5\n[region]\nname = "X"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={"SFERUM_VK_GROUP_ID": "двадцать"})
    message = str(caught.value)
    assert message.startswith("environment variable SFERUM_VK_GROUP_ID (setting vk.group_id)")
    assert "переменная окружения SFERUM_VK_GROUP_ID" in message and str(config) not in message
    with pytest.raises(ConfigError, match="environment variable SFERUM_LOG_LEVEL"):
        load_settings(config, environ={"SFERUM_LOG_LEVEL": "LOUD"})


def test_duplicate_municipalities_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(_raw(municipalities=[{"name": "Искитимский район"},
                                                {"name": "г. Новосибирск"},
                                                {"name": " искитимский  район"}]), "c.toml", {})
    assert "listed twice" in str(caught.value)
    assert "муниципалитет «искитимский  район» указан дважды" in str(caught.value)


def test_check_warns_about_the_placeholder_token_and_no_coordinators(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--config", str(ROOT / "config.example.toml")],
        capture_output=True, text=True, cwd=tmp_path, timeout=90, env=bot_env())
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "vk.token" in out and "ЗАМЕНИТЕ" not in out  # the token itself is never printed
    assert "placeholder" in out and "заготовка" in out
    assert "access.coordinators" in out and "координатор" in out
    assert "valid" not in out.splitlines()[-1] or "warning" in out.splitlines()[-1]
    # a ready config: no warnings
    raw = base_config("https://api.vk.ru/method/", tmp_path / "bot.sqlite3")
    raw["vk"]["token"] = "vk1.a." + "x" * 80
    config = write_config(tmp_path, raw)
    ready = subprocess.run([sys.executable, "-m", "bot", "check", "--config", str(config)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=90, env=bot_env())
    assert ready.returncode == 0 and "warning" not in ready.stdout, ready.stdout


# -- notices to a coordinator who never wrote to the community ------------------------------------

def held_notices(tmp_path: Path, peer: int) -> int:
    with sqlite3.connect(tmp_path / "data" / "bot.sqlite3") as db:
        return db.execute("SELECT COUNT(*) FROM held_notices WHERE peer_id = ?",
                          (peer,)).fetchone()[0]


async def test_notice_waits_for_a_coordinator_who_never_wrote_and_survives_a_restart(
        bot: BotProcess, emulator: VKEmulator, users, tmp_path: Path) -> None:
    teacher = users(2106)
    await teacher.send("Начать")
    await teacher.next_reply()
    await teacher.press("Педагог или сотрудник")
    await teacher.replies()
    await teacher.send("когда в нашей школе выдадут новые ноутбуки")
    await teacher.next_reply()
    await teacher.press("Спросить координатора")
    assert "Передал Ваш вопрос координатору" in (await teacher.next_reply()).text
    # VK refused the notice (901: the coordinator never wrote to the community): it waits
    assert await wait_for(lambda: held_notices(tmp_path, COORDINATOR) == 1, 30)
    assert not emulator.inbox(COORDINATOR)
    await bot.restart()
    # the coordinator writes for the first time: the question reaches them
    coordinator = users(COORDINATOR)
    await coordinator.send("Здравствуйте")
    texts = [m.text for m in await coordinator.replies(timeout=10)]
    while not any("новые ноутбуки" in t for t in texts):
        texts.append((await coordinator.next_reply(timeout=10)).text)
    assert held_notices(tmp_path, COORDINATOR) == 0
    notice = next(m for m in emulator.inbox(COORDINATOR) if "новые ноутбуки" in m.text)
    assert notice.buttons == ["Ответить"]


# -- health and metrics ------------------------------------------------------------------------

async def test_health_and_metrics_are_scraped(bot: BotProcess, emulator: VKEmulator,
                                              users) -> None:
    status, body = await get(f"http://127.0.0.1:{HEALTH_PORT}/healthz")
    assert status == 200 and '"ok"' in body
    person = users(2107)
    await person.send("Привет")
    await person.next_reply()
    # a reply VK refuses (the person forbade the community's messages meanwhile)
    emulator.inject_error("messages.send", 901, peer_id=2107)
    await person.send("Привет ещё раз")
    assert await emulator.wait_until(
        lambda: any(c.error_code == 901 for c in emulator.calls), 10)
    status, metrics = await get(f"http://127.0.0.1:{HEALTH_PORT}/metrics")
    assert status == 200

    def value(line_start: str) -> float:
        found = [ln for ln in metrics.splitlines() if ln.startswith(line_start)]
        assert found, f"{line_start} missing in:\n{metrics}"
        return float(found[0].rsplit(" ", 1)[1])

    assert value('sferum_updates_handled_total{type="message_new"}') >= 1
    assert value('sferum_messages_sent_total{kind="reply"}') >= 1
    assert value("sferum_reply_latency_seconds_count") >= 1
    assert value('sferum_outbox_pending{kind="survey"}') == 0
    assert value("sferum_notices_waiting") == 0
    # the refused reply is counted once the bot has VK's answer
    await emulator.settle()
    assert await get(f"http://127.0.0.1:{HEALTH_PORT}/idle") == (200, '{"idle": true}')
    status, metrics = await get(f"http://127.0.0.1:{HEALTH_PORT}/metrics")
    assert value('sferum_send_errors_total{code="901"}') == 1
    assert "2107" not in metrics  # nobody's id in the metrics


async def test_check_online_asks_vk_about_the_community_and_the_coordinators(
        tmp_path: Path) -> None:
    async with VKEmulator(group_id=GROUP, token="vk1.a." + "k" * 80) as emu:
        EmulatedUser(emu, 9000, allows_messages=True)  # the bot admin wrote to the community
        raw = base_config(emu.api_url, tmp_path / "bot.sqlite3")  # coordinator 9001 never did
        raw["vk"]["token"] = "vk1.a." + "k" * 80
        config = write_config(tmp_path, raw)

        def check() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "bot", "check", "--online", "--config", str(config)],
                capture_output=True, text=True, cwd=tmp_path, timeout=90, env=bot_env())

        result = await asyncio.to_thread(check)
        out = result.stdout
        assert result.returncode == 1, out + result.stderr
        assert "ok: community messages are on" in out
        assert "ok: Long Poll API is on" in out
        assert "ok: event types message_new and message_event are on" in out
        assert "ok: bot admin 9000 can receive" in out
        assert "problem / проблема: coordinator 9001 has not allowed" in out
        assert "один раз написать сообществу" in out
        # VK's settings changed by someone: each is named
        emu.set_allows_messages(9001, True)
        emu.long_poll_events["message_event"] = 0
        emu.long_poll_version = "5.131"
        emu.messages_enabled = False
        out = (await asyncio.to_thread(check)).stdout
        assert "Long Poll event types off: message_event" in out
        assert "Long Poll API version is 5.131, the bot needs 5.199" in out
        assert "community messages are off" in out
        assert "ok: coordinator 9001 can receive" in out
        assert {c.method for c in emu.calls} >= {"groups.getLongPollSettings",
                                                 "messages.isMessagesFromGroupAllowed"}


# -- backups -----------------------------------------------------------------------------------

async def test_backup_while_the_bot_runs(bot: BotProcess, users, tmp_path: Path) -> None:
    person = users(2108)
    await person.send("Привет")
    await person.next_reply()
    target = tmp_path / "backups" / "bot-copy.sqlite3"

    def run_backup() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "backup", str(target), "--config", str(bot.config)],
            capture_output=True, text=True, cwd=tmp_path, timeout=90, env=bot_env())

    result = await asyncio.to_thread(run_backup)
    assert result.returncode == 0, result.stderr
    assert "backup written" in result.stdout and "копия записана" in result.stdout
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT COUNT(*) FROM users WHERE vk_id = 2108").fetchone() == (1,)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not (tmp_path / "backups" / "bot-copy.sqlite3.partial").exists()
    # the bot goes on answering after the copy
    await person.send("Ещё раз привет")
    assert (await person.next_reply()).text
    # the database itself is never the target
    again = subprocess.run(
        [sys.executable, "-m", "bot", "backup", str(tmp_path / "data" / "bot.sqlite3"),
         "--config", str(bot.config)], capture_output=True, text=True, cwd=tmp_path,
        timeout=90, env=bot_env())
    assert again.returncode == 1 and "не может заменить" in again.stderr


# -- «состояние» -------------------------------------------------------------------------------

async def test_bot_admin_sees_the_state_of_the_bot(bot: BotProcess, emulator: VKEmulator,
                                                   users) -> None:
    teacher = users(2109)
    await teacher.send("Начать")
    await teacher.next_reply()
    # a message VK refuses is counted among the last errors, by code and time only
    emulator.inject_error("messages.send", 902, peer_id=2109)
    await teacher.press("Педагог или сотрудник")
    assert await emulator.wait_until(lambda: any(c.error_code == 902 for c in emulator.calls), 10)
    assert await emulator.wait_until(
        lambda: any("Присылать" in m.text for m in emulator.inbox(2109)), 10)
    teacher.pending()  # the offer after the refused role reply
    admin = users(BOT_ADMIN)
    await admin.send("Начать")
    await admin.next_reply()
    await admin.press("Координатор")
    await admin.replies()
    assert "Состояние бота" in admin.buttons()
    await admin.send("состояние")
    text = (await admin.next_reply()).text
    assert text.startswith("Состояние бота") and "Версия: 0.1.0" in text
    assert "Работает: 0 ч" in text and "Очередь отправки: пуста" in text
    assert re.search(r"Отправлено сегодня \(с момента запуска\): [1-9]", text)
    assert re.search(r"• \d\d\.\d\d \d\d:\d\d — 902 — ответы", text)
    assert "2109" not in text
    await admin.press("Состояние бота")
    assert (await admin.next_reply()).text.startswith("Состояние бота")
    # nobody else may see it, typed or by a forged button
    await teacher.send("состояние")
    assert "недоступна" in (await teacher.next_reply()).text
    await teacher.press_payload({"cmd": "status"}, "Состояние бота")
    assert "недоступна" in (await teacher.next_reply()).text


def test_operator_lines_used_in_code_exist_and_all_are_used() -> None:
    """content/operator.toml: every line the code asks for exists, and every line is asked for."""
    from bot.operator_text import catalog

    def keys(node: dict[str, Any], prefix: str = "") -> set[str]:
        out: set[str] = set()
        for name, value in node.items():
            if isinstance(value, dict) and not {"en", "ru"} >= set(value):
                out |= keys(value, f"{prefix}{name}.")
            else:
                out.add(f"{prefix}{name}")
        return out

    code = "\n".join(p.read_text(encoding="utf-8")
                     for folder in ("bot", "storage", "core") for p in (ROOT / folder).rglob("*.py"))
    known = keys(catalog())
    used = set(re.findall(r'line\(\s*"([a-z_.]+)"', code))
    used |= {f"problem.{k}" for k in re.findall(r'SettingProblem\(\s*"([a-z_]+)"', code)}
    used |= {f"backup.{k}" for k in re.findall(r'BackupError\(\s*"([a-z_]+)"', code)}
    used |= {k for k in known if k.startswith("pydantic.")}  # looked up by pydantic's type
    used |= {"check.ok", "check.problem", "check.role_coordinator", "check.role_admin"}
    assert used - known == set()
    assert known - used == set()


async def test_health_is_served_on_the_callback_port(emulator: VKEmulator, tmp_path: Path) -> None:
    port = free_port()
    raw = base_config(emulator.api_url, tmp_path / "data" / "bot.sqlite3",
                      vk={"transport": "callback"}, health={"enabled": True, "port": free_port()},
                      callback={"port": port, "confirmation": "c0nf1rm", "secret": "s3cret"})
    config = write_config(tmp_path, raw)
    with (tmp_path / "bot.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), cwd=tmp_path,
            env=bot_env(), stdout=log, stderr=log)
        try:
            status = 0
            for _ in range(600):
                try:
                    status, body = await get(f"http://127.0.0.1:{port}/healthz")
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)  # the process is still starting
            assert status == 200 and '"ok"' in body
            event = await emulator.user_message(3101, "Начать")
            person = EmulatedUser(emulator, 3101)
            async with aiohttp.ClientSession() as http, http.post(
                    f"http://127.0.0.1:{port}/vk/callback",
                    json={**event, "secret": "s3cret"}) as resp:
                assert await resp.text() == "ok"
            await person.next_reply(timeout=15)
            _, metrics = await get(f"http://127.0.0.1:{port}/metrics")
            assert 'sferum_updates_handled_total{type="message_new"} 1.0' in metrics
        finally:
            proc.terminate()
            await proc.wait()
