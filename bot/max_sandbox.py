"""``sferum-bot sandbox --messenger max``: the terminal chat with the real bot as a MAX user.

The bot is built by the same factory as in production and serves both messengers (as a
region moving to MAX runs it); the person types as a MAX user against the built-in MAX
emulator (bot/maxemu), with the VK emulator beside it. The same commands as the VK sandbox
(bot/sandbox.py): a digit presses that numbered button (every MAX keyboard is under its
message, and older ones stay pressable), ``/as``, ``/ref`` (the invitation link
``max.ru/<bot>?start=<code>``), ``/tick``, ``/clock``, ``/quit``. A person who never started the
bot presses «Начать» with their first line, as the MAX app makes them do.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.app import App, build_bot, configure_logging
from bot.config import Settings, settings_from_dict
from bot.maxemu import MaxEmulator, MaxUser, ReceivedMessage
from bot.sandbox import (
    CLOCK_STEP, CONTENT, INDENT, SANDBOX_GROUP, SANDBOX_TOKEN, SANDBOX_USER, SETTLE_TIMEOUT,
    STEP_SECONDS, SandboxClock, _texts, converse,
)
from bot.vkemu import VKEmulator

MAX_TOKEN = "sandbox-max-token"


def max_sandbox_settings(db_path: Path, vk_url: str, max_url: str, base: Path | None) -> Settings:
    raw = tomllib.loads((base or CONTENT / "config.toml").read_text(encoding="utf-8"))
    raw["vk"] = {"token": SANDBOX_TOKEN, "group_id": SANDBOX_GROUP, "api_url": vk_url,
                 "long_poll_wait": 2, "skip_old_events": True}
    access = raw.get("access") or {}
    raw["max"] = {"enabled": True, "token": MAX_TOKEN, "api_url": max_url, "poll_timeout": 2,
                  "admins": access.get("admins", []),
                  "coordinators": access.get("coordinators", [])}
    raw["storage"] = {"path": str(db_path)}
    return settings_from_dict(raw, "sandbox", environ={})


class MaxSandbox:
    def __init__(self, app: App, emu: MaxEmulator, clock: SandboxClock, out: TextIO,
                 texts: dict[str, str], files: Path) -> None:
        assert app.max is not None
        self.app = app
        self.side = app.max
        self.emu = emu
        self.clock = clock
        self.out = out
        self.texts = texts
        self.files = files
        self.users: dict[int, MaxUser] = {}
        self.current: MaxUser | None = None
        # one number, one button, forever: number -> (user, message mid, row, col, label)
        self.numbers: dict[int, tuple[int, str, int, int, str]] = {}
        self._by_place: dict[tuple[str, int, int], int] = {}
        self._answers_seen = 0

    def write(self, line: str) -> None:
        self.out.write(line + "\n")

    def user(self, uid: int) -> MaxUser:
        if uid not in self.users:
            self.users[uid] = MaxUser(self.emu, uid, auto_start=True)
        return self.users[uid]

    @property
    def me(self) -> MaxUser:
        assert self.current is not None
        return self.current

    async def handle(self, line: str) -> bool:
        command = line.strip()
        word, _, arg = command.partition(" ")
        if command in ("/quit", "/exit"):
            return False
        if command == "/who":
            self.write(self.texts["who_max"].format(uid=self.me.uid))
        elif word == "/as":
            if arg.strip().isdigit():
                self.current = self.user(int(arg))
                self.show_new()
            else:
                self.write(self.texts["as_usage"])
        elif word == "/ref":
            if not arg.strip():
                self.write(self.texts["ref_usage"])
            else:
                await self.act(self.me.start(arg.strip()))
        elif word == "/tick":
            schedule = self.app.deps.services["schedule"]
            report = await schedule.tick(self.clock.now())
            await self.settle(self.side.dispatcher.received)
            when = self._local()
            if report.queued:
                self.write(self.texts["tick_queued"].format(
                    when=when, reminders=report.queued.get("reminders", 0),
                    surveys=report.queued.get("survey", 0)))
            else:
                self.write(self.texts["tick_nothing"].format(when=when))
            self.show_new()
        elif word == "/clock":
            self.move_clock(arg.strip())
        elif command.isdigit():
            await self.press(int(command))
        else:
            await self.act(self.me.send(line))
        return True

    def _local(self) -> str:
        zone = ZoneInfo(self.app.settings.region.timezone)
        return self.clock.now().astimezone(zone).strftime("%d.%m.%Y %H:%M")

    def move_clock(self, arg: str) -> None:
        if arg:
            step = CLOCK_STEP.match(arg)
            if step is None:
                self.write(self.texts["clock_usage"])
                return
            self.clock.offset += int(step.group(1)) * STEP_SECONDS[step.group(2)]
        self.write(self.texts["clock_now"].format(when=self._local(),
                                                  days=round(self.clock.offset / 86400, 2)))

    async def act(self, action: Any) -> None:
        received = self.side.dispatcher.received
        was_new = self.emu.user_status(self.me.uid) == "none"
        if await action is not None:
            received += 2 if was_new else 1  # a first line is «Начать» and the line itself
        await self.settle(received)
        self.show_new()

    async def press(self, number: int) -> None:
        found = self.numbers.get(number)
        if found is None:
            self.write(self.texts["no_button"].format(n=number))
            return
        uid, mid, row, col, label = found
        if uid != self.me.uid:
            self.write(self.texts["other_dialog"].format(n=number, uid=uid))
            return
        message = self.emu.message(mid)
        rows = (message.keyboard or {}).get("buttons", []) if message else []
        button = rows[row][col] if row < len(rows) and col < len(rows[row]) else None
        if message is None or button is None or button.get("text") != label:
            self.write(self.texts["button_gone"].format(n=self._short(mid)))
            return
        self.write(self.texts["pressed"].format(label=label, n=self._short(mid)))
        if button.get("type") == "link":
            self.write(self.texts["opens_link"].format(link=button.get("url")))
            return
        await self.act(self.me.press_button(button, message))

    async def settle(self, received: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        while loop.time() < deadline:
            dispatcher = self.side.dispatcher
            if (dispatcher.received >= received and not dispatcher.busy
                    and await self.app.sender.idle()):
                return
            await asyncio.sleep(0.02)

    @staticmethod
    def _short(mid: str) -> str:
        return mid[-6:]

    def show_new(self) -> None:
        uid = self.me.uid
        for answer in self.emu.answers[self._answers_seen:]:
            if answer.user_id == uid and answer.notification:
                self.write(INDENT + self.texts["snackbar"].format(text=answer.notification))
        self._answers_seen = len(self.emu.answers)
        for message in self.me.pending():
            self.show(uid, message)

    def show(self, uid: int, message: ReceivedMessage) -> None:
        text = message.text.replace("\n", "\n" + INDENT)
        self.write(self.texts["bot"].format(n=self._short(message.mid)) + text)
        for r, row in enumerate((message.keyboard or {}).get("buttons", [])):
            cells = []
            for c, button in enumerate(row):
                label = str(button.get("text", ""))
                place = (message.mid, r, c)
                number = self._by_place.get(place)
                if number is None:
                    number = len(self.numbers) + 1
                    self.numbers[number] = (uid, message.mid, r, c, label)
                    self._by_place[place] = number
                cell = f"[{number}] {label}"
                if button.get("type") == "link":
                    cell += " " + self.texts["link_cell"].format(link=button.get("url"))
                cells.append(cell)
            self.write(INDENT + "   ".join(cells))
        for attachment in message.attachments:
            token = (attachment.get("payload") or {}).get("token")
            upload = self.emu.upload_of(token) if token else None
            if upload is None:
                continue
            _, name, data = upload
            safe = re.sub(r"[^\w.-]+", "_", name) or "file"
            self.files.mkdir(parents=True, exist_ok=True)
            path = self.files / f"{self._short(message.mid)}-{safe}"
            path.write_bytes(data)
            self.write(INDENT + self.texts["file_saved"].format(path=path))


async def run_max_sandbox(db: Path | None, config: Path | None, user_id: int | None,
                          stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                          files: Path | None = None) -> int:
    texts = _texts()
    configure_logging("WARNING")
    workdir = tempfile.TemporaryDirectory(prefix="sferum-sandbox-")
    db_path = db or Path(workdir.name) / "sandbox.sqlite3"
    clock = SandboxClock()
    vk = VKEmulator(group_id=SANDBOX_GROUP, token=SANDBOX_TOKEN, clock=clock.timestamp)
    emu = MaxEmulator(token=MAX_TOKEN)
    await vk.start()
    await emu.start()
    files = (files or Path("sandbox-files")).resolve()
    app = build_bot(max_sandbox_settings(db_path, vk.api_url, emu.base_url, config), clock=clock)
    bot_task = asyncio.create_task(app.run())
    await emu.wait_for_poll(30)
    sandbox = MaxSandbox(app, emu, clock, stdout, texts, files)
    sandbox.current = sandbox.user(user_id or SANDBOX_USER)
    stdout.write(texts["intro_max"].format(files=files) + "\n")
    try:
        await converse(sandbox, bot_task, stdin, stdout, texts)
    finally:
        bot_task.cancel()
        await asyncio.gather(bot_task, return_exceptions=True)
        await emu.stop()
        await vk.stop()
        workdir.cleanup()
    stdout.write("\n" + texts["bye"] + "\n")
    return 0
