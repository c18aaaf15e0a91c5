"""The Callback API transport: VK posts events to the bot's web server."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import aiohttp

from bot.vkemu import EmulatedUser, VKEmulator
from tests.conftest import GROUP, base_config, bot_pythonpath, toml_dump


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_callback_confirmation_secret_and_replay(emulator: VKEmulator, tmp_path: Path) -> None:
    port = free_port()
    raw = base_config(emulator.api_url, tmp_path / "data" / "bot.sqlite3",
                      vk={"transport": "callback"}, health={"enabled": True},
                      callback={"port": port, "confirmation": "c0nf1rm", "secret": "s3cret"})
    (tmp_path / "config.toml").write_text(toml_dump(raw), encoding="utf-8")
    log = (tmp_path / "bot.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(tmp_path / "config.toml"),
        cwd=tmp_path, stdout=log, stderr=log,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")},
             "PYTHONPATH": bot_pythonpath()})
    url = f"http://127.0.0.1:{port}/vk/callback"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.post(url, json={"type": "confirmation",
                                                    "group_id": GROUP}) as resp:
                        confirmation = await resp.text()
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            assert confirmation == "c0nf1rm"

            person = EmulatedUser(emulator, 3001)
            event = await emulator.user_message(3001, "Начать")  # the event VK would post
            async with http.post(url, json={**event, "secret": "wrong"}) as resp:
                assert resp.status == 403
            async with http.post(url, json={**event, "secret": "s3cret"}) as resp:
                assert await resp.text() == "ok"
            assert "Кто Вы?" in (await person.next_reply()).text
            # VK re-sends an event it did not get "ok" for: it is answered once.
            async with http.post(url, data=json.dumps({**event, "secret": "s3cret"})) as resp:
                assert await resp.text() == "ok"

            async def bot_idle() -> bool:  # "ok" came after the event was taken: ask the rest
                async with http.get(f"http://127.0.0.1:{port}/idle") as resp:
                    return (await resp.json())["idle"] is True

            emulator.bot_idle = bot_idle
            await emulator.settle()
            assert len(emulator.inbox(3001)) == 1
    finally:
        proc.terminate()
        await proc.wait()
        log.close()
