"""A terminal chat with the real bot, running against the built-in VK API emulator.

No VK token and no network: the emulator listens on 127.0.0.1, the bot is built by the same
factory as in production, and you type as a VK user. Buttons are numbered; type the number to
press one. ``/as <vk_id>`` switches the user.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from bot.app import build_bot, configure_logging
from bot.config import Settings, settings_from_dict
from bot.vkemu import EmulatedUser, VKEmulator

SANDBOX_GROUP = 1
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_USER = 1001
CONTENT = Path(str(resources.files("content"))) / "sandbox"


def _texts() -> dict[str, str]:
    return {k: v.strip("\n") for k, v in
            tomllib.loads((CONTENT / "texts.toml").read_text(encoding="utf-8")).items()}


def sandbox_settings(db_path: Path, api_url: str, base: Path | None) -> Settings:
    raw = tomllib.loads((base or CONTENT / "config.toml").read_text(encoding="utf-8"))
    raw["vk"] = {"token": SANDBOX_TOKEN, "group_id": SANDBOX_GROUP, "api_url": api_url,
                 "long_poll_wait": 2, "skip_old_events": True}  # the emulator starts afresh
    raw["storage"] = {"path": str(db_path)}
    return settings_from_dict(raw, "sandbox", environ={})


def _cells(labels: list[str], numbering: list[str]) -> str:
    return "   ".join(f"[{numbering.index(label) + 1}] {label}" if label in numbering
                      else f"({label})" for label in labels)


def show(messages: list[Any], visible: list[str], out: TextIO, numbering: list[str],
         prefix: str) -> None:
    """Print bot messages with their buttons. Numbers go to the buttons a person can press now
    (the latest inline keyboard and the one under the input field); the field's keyboard is
    printed again at the end when an inline one came after it."""
    batch = [b["action"].get("label", "") for m in messages
             for row in (m.keyboard or {}).get("buttons", []) for b in row]
    ordered = [label for label in dict.fromkeys(batch) if label in visible]
    numbering[:] = ordered + [label for label in visible if label not in ordered]
    shown: set[str] = set()
    for message in messages:
        out.write(prefix + message.text.replace("\n", "\n     ") + "\n")
        for row in (message.keyboard or {}).get("buttons", []):
            labels = [b["action"].get("label", "") for b in row]
            shown.update(labels)
            out.write("     " + _cells(labels, numbering) + "\n")
    rest = [label for label in numbering if label not in shown]
    if rest and messages:
        out.write("     " + _cells(rest, numbering) + "\n")


async def run_sandbox(db: Path | None, config: Path | None, user_id: int | None,
                      stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    texts = _texts()
    configure_logging("WARNING")
    workdir = tempfile.TemporaryDirectory(prefix="sferum-sandbox-")
    db_path = db or Path(workdir.name) / "sandbox.sqlite3"
    emulator = VKEmulator(group_id=SANDBOX_GROUP, token=SANDBOX_TOKEN)
    await emulator.start()
    app = build_bot(sandbox_settings(db_path, emulator.api_url, config))
    bot_task = asyncio.create_task(app.run())
    # vkbottle skips what was written before its first long poll: wait until it listens.
    await emulator.wait_for_long_poll(30)
    users: dict[int, EmulatedUser] = {}
    numbering: list[str] = []

    def user(uid: int) -> EmulatedUser:
        if uid not in users:
            users[uid] = EmulatedUser(emulator, uid)
        return users[uid]

    current = user(user_id or SANDBOX_USER)
    stdout.write(texts["intro"] + "\n")
    loop = asyncio.get_running_loop()
    try:
        while True:
            stdout.write(texts["prompt"].format(uid=current.uid))
            stdout.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if bot_task.done():
                stdout.write(texts["stopped"] + "\n")
                break
            command = line.strip()
            if command in ("/quit", "/exit"):
                break
            if command == "/who":
                stdout.write(texts["who"].format(uid=current.uid) + "\n")
                continue
            if command.startswith("/as"):
                parts = command.split()
                if len(parts) == 2 and parts[1].isdigit():
                    current = user(int(parts[1]))
                    show(current.pending(), current.buttons(), stdout, numbering, texts["bot"])
                else:
                    stdout.write(texts["as_usage"] + "\n")
                continue
            if command.isdigit() and 1 <= int(command) <= len(numbering):
                await current.press(numbering[int(command) - 1])
            else:
                await current.send(line)
            replies = await current.replies(timeout=10.0, quiet=0.6)
            show(replies, current.buttons(), stdout, numbering, texts["bot"])
    finally:
        bot_task.cancel()
        await asyncio.gather(bot_task, return_exceptions=True)
        await emulator.stop()
        workdir.cleanup()
    stdout.write("\n" + texts["bye"] + "\n")
    return 0
