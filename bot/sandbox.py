"""A terminal chat with the real bot, running against the built-in VK API emulator.

No VK token and no network: the emulator listens on 127.0.0.1, the bot is built by the same
factory as in production, and you type as a VK user. What makes it a demo rather than a toy:

- every button gets a number once, the first time it is printed, and keeps it: typing the number
  presses exactly that button of that message (an older inline keyboard stays pressable, as in
  VK; the keyboard under the input field only while it is shown), so a new «Да» can never be
  mistaken for an old one;
- after each line the sandbox waits for facts (the bot received the update, no handler is
  running, nothing is queued or in flight), not for a quiet pause;
- photos and documents the bot uploads (charts, spreadsheets) are saved into a folder;
- the clock is the sandbox's own (``/clock +7d``), shared by the bot and the emulator, so the
  weekly reminders and the survey (``/tick``) can be seen without waiting a week;
- with ``--db`` what VK remembers about people (who allowed messages, when they last wrote) and
  the clock are kept beside the database, so a restarted sandbox behaves as VK would.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.app import App, build_bot, configure_logging
from bot.config import Settings, settings_from_dict
from bot.vkemu import EmulatedUser, ReceivedMessage, VKEmulator

SANDBOX_GROUP = 1
SANDBOX_TOKEN = "sandbox-token"
SANDBOX_USER = 1001
CONTENT = Path(str(resources.files("content"))) / "sandbox"
SETTLE_TIMEOUT = 30.0
INDENT = "     "
CLOCK_STEP = re.compile(r"^\+(\d+)([dhm])$")
STEP_SECONDS = {"d": 86400, "h": 3600, "m": 60}


def _texts() -> dict[str, str]:
    return {k: v.strip("\n") for k, v in
            tomllib.loads((CONTENT / "texts.toml").read_text(encoding="utf-8")).items()}


def sandbox_settings(db_path: Path, api_url: str, base: Path | None) -> Settings:
    raw = tomllib.loads((base or CONTENT / "config.toml").read_text(encoding="utf-8"))
    raw["vk"] = {"token": SANDBOX_TOKEN, "group_id": SANDBOX_GROUP, "api_url": api_url,
                 "long_poll_wait": 2, "skip_old_events": True}  # the emulator starts afresh
    raw["storage"] = {"path": str(db_path)}
    return settings_from_dict(raw, "sandbox", environ={})


class SandboxClock:
    """Real time moved forward by /clock; the bot and the emulator both read it."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset)

    def timestamp(self) -> float:
        return self.now().timestamp()


@dataclass
class Numbered:
    """A printed button: whose dialog, which message, where in its keyboard."""

    uid: int
    message: ReceivedMessage
    row: int
    col: int
    label: str


class Screen:
    """Prints the bot's messages and owns the button numbers (one number, one button, forever)."""

    def __init__(self, emulator: VKEmulator, out: TextIO, texts: dict[str, str],
                 files: Path) -> None:
        self.emu = emulator
        self.out = out
        self.texts = texts
        self.files = files
        self.numbers: dict[int, Numbered] = {}
        self._by_place: dict[tuple[int, int, int], int] = {}

    def write(self, line: str) -> None:
        self.out.write(line + "\n")

    def number_of(self, uid: int, message: ReceivedMessage, row: int, col: int,
                  label: str) -> int:
        place = (message.id, row, col)
        number = self._by_place.get(place)
        if number is None or self.numbers[number].label != label:  # an edit changed the button
            number = len(self.numbers) + 1
            self.numbers[number] = Numbered(uid, message, row, col, label)
            self._by_place[place] = number
        return number

    def keyboard_lines(self, uid: int, message: ReceivedMessage) -> list[str]:
        lines = []
        for r, row in enumerate((message.keyboard or {}).get("buttons", [])):
            cells = []
            for c, button in enumerate(row):
                action = button["action"]
                label = str(action.get("label", ""))
                number = self.number_of(uid, message, r, c, label)
                cell = f"[{number}] {label}"
                if action.get("type") == "open_link":
                    cell += " " + self.texts["link_cell"].format(link=action.get("link"))
                cells.append(cell)
            lines.append(INDENT + "   ".join(cells))
        return lines

    def show(self, uid: int, messages: list[ReceivedMessage], edited: bool = False) -> None:
        header = self.texts["edited" if edited else "bot"]
        for message in messages:
            text = message.text.replace("\n", "\n" + INDENT)
            self.write(header.format(n=message.id) + text)
            for line in self.keyboard_lines(uid, message):
                self.write(line)
            for attachment in message.attachments:
                self.write(INDENT + self.save(message, attachment))

    def show_field_keyboard(self, uid: int, printed: list[ReceivedMessage]) -> None:
        """The keyboard under the input field, when it came before this reply's messages: the
        same numbers again, with the message they belong to."""
        field = self.emu.keyboard_message_of(uid)
        if field is None or any(m.id == field.id for m in printed) or not printed:
            return
        cells = "   ".join(line.strip() for line in self.keyboard_lines(uid, field))
        self.write(INDENT + self.texts["field_keyboard"].format(n=field.id) + " " + cells)

    def save(self, message: ReceivedMessage, attachment: str) -> str:
        upload = self.emu.upload_of(attachment)
        if upload is None:
            return self.texts["attachment"].format(name=attachment)
        name, data = upload
        safe = re.sub(r"[^\w.-]+", "_", name) or "file"
        self.files.mkdir(parents=True, exist_ok=True)
        path = self.files / f"{message.id:03d}-{safe}"
        path.write_bytes(data)
        return self.texts["file_saved"].format(path=path)


class Sandbox:
    def __init__(self, app: App, emulator: VKEmulator, clock: SandboxClock, screen: Screen,
                 texts: dict[str, str], state_file: Path | None) -> None:
        self.app = app
        self.emu = emulator
        self.clock = clock
        self.screen = screen
        self.texts = texts
        self.state_file = state_file
        self.users: dict[int, EmulatedUser] = {}
        self.current: EmulatedUser | None = None
        self._edits: dict[int, ReceivedMessage] = {}
        self._news: set[int] = set()
        self._answers_seen = 0
        emulator.add_listener(self._on_event)

    def _on_event(self, kind: str, obj: Any) -> None:
        if kind == "edit":
            self._edits[obj.id] = obj
        elif kind == "message":
            self._news.add(obj.peer_id)

    def user(self, uid: int) -> EmulatedUser:
        if uid not in self.users:
            self.users[uid] = EmulatedUser(self.emu, uid)
        return self.users[uid]

    @property
    def me(self) -> EmulatedUser:
        assert self.current is not None
        return self.current

    # -- one line of input -----------------------------------------------------------------
    async def handle(self, line: str) -> bool:
        """False when the person asked to quit."""
        command = line.strip()
        word, _, arg = command.partition(" ")
        if command in ("/quit", "/exit"):
            return False
        if command == "/who":
            self.screen.write(self.texts["who"].format(uid=self.me.uid))
        elif word == "/as":
            if arg.strip().isdigit():
                self.current = self.user(int(arg))
                self._news.discard(self.me.uid)
                self.show_new()
            else:
                self.screen.write(self.texts["as_usage"])
        elif word == "/ref":
            code = arg.strip()
            if not code:
                self.screen.write(self.texts["ref_usage"])
            else:
                await self.act(self.me.send(self.texts["start_button"],
                                            payload='{"command":"start"}', ref=code))
        elif word == "/tick":
            await self.tick()
        elif word == "/clock":
            self.move_clock(arg.strip())
        elif command.isdigit():
            await self.press(int(command))
        else:
            await self.act(self.me.send(line))
        self.save_state()
        return True

    async def act(self, event: Any) -> None:
        received = self.app.dispatcher.received
        if await event is not None:
            received += 1
        await self.settle(received)
        self.show_new()

    async def press(self, number: int) -> None:
        found = self.screen.numbers.get(number)
        if found is None:
            self.screen.write(self.texts["no_button"].format(n=number))
            return
        if found.uid != self.me.uid:
            self.screen.write(self.texts["other_dialog"].format(n=number, uid=found.uid))
            return
        message = found.message
        rows = (message.keyboard or {}).get("buttons", [])
        button = (rows[found.row][found.col] if found.row < len(rows)
                  and found.col < len(rows[found.row]) else None)
        if button is None or button["action"].get("label") != found.label:
            self.screen.write(self.texts["button_gone"].format(n=message.id))
            return
        if not message.inline and self.emu.keyboard_message_of(self.me.uid) is not message:
            self.screen.write(self.texts["keyboard_hidden"].format(n=message.id))
            return
        action = button["action"]
        self.screen.write(self.texts["pressed"].format(label=found.label, n=message.id))
        if action.get("type") == "open_link":
            self.screen.write(self.texts["opens_link"].format(link=action.get("link")))
            return
        await self.act(self.me.press_button(button, message))

    async def tick(self) -> None:
        schedule = self.app.deps.services["schedule"]
        report = await schedule.tick(self.clock.now())
        await self.settle(self.app.dispatcher.received)
        local = self.clock.now().astimezone(ZoneInfo(self.app.settings.region.timezone))
        when = local.strftime("%d.%m.%Y %H:%M")
        if report.queued:
            self.screen.write(self.texts["tick_queued"].format(
                when=when, reminders=report.queued.get("reminders", 0),
                surveys=report.queued.get("survey", 0)))
        else:
            self.screen.write(self.texts["tick_nothing"].format(when=when))
        self.show_new()

    def move_clock(self, arg: str) -> None:
        if arg:
            step = CLOCK_STEP.match(arg)
            if step is None:
                self.screen.write(self.texts["clock_usage"])
                return
            seconds = int(step.group(1)) * STEP_SECONDS[step.group(2)]
            self.clock.offset += seconds
        local = self.clock.now().astimezone(ZoneInfo(self.app.settings.region.timezone))
        self.screen.write(self.texts["clock_now"].format(
            when=local.strftime("%d.%m.%Y %H:%M"), days=round(self.clock.offset / 86400, 2)))

    # -- waiting and printing --------------------------------------------------------------
    async def settle(self, received: int) -> None:
        """Until the bot has the update, no handler runs and nothing is queued or in flight."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_TIMEOUT
        while loop.time() < deadline:
            dispatcher = self.app.dispatcher
            if (dispatcher.received >= received and not dispatcher.busy
                    and await self.app.sender.idle()):
                return
            await asyncio.sleep(0.02)

    def show_new(self) -> None:
        uid = self.me.uid
        fresh = self.me.pending()
        fresh_ids = {m.id for m in fresh}
        edited = [m for m in self._edits.values() if m.peer_id == uid and m.id not in fresh_ids]
        self._edits = {k: m for k, m in self._edits.items() if m.peer_id != uid}
        self.screen.show(uid, edited, edited=True)
        self.screen.show(uid, fresh)
        answers = self.emu.event_answers[self._answers_seen:]
        self._answers_seen = len(self.emu.event_answers)
        for answer in answers:
            data = answer.event_data or {}
            if answer.user_id == uid and data.get("type") == "show_snackbar":
                self.screen.write(INDENT + self.texts["snackbar"].format(text=data.get("text")))
            elif answer.user_id == uid and data.get("type") == "open_link":
                self.screen.write(INDENT + self.texts["opens_link"].format(link=data.get("link")))
        self.screen.show_field_keyboard(uid, edited + fresh)
        self._news.discard(uid)
        for other in sorted(self._news):
            self.screen.write(self.texts["news"].format(uid=other))
        self._news.clear()

    # -- what survives a restart with --db -------------------------------------------------
    def save_state(self) -> None:
        if self.state_file is None:
            return
        state = {"clock_offset": self.clock.offset, "vk_users": self.emu.export_users()}
        self.state_file.write_text(json.dumps(state, ensure_ascii=False, indent=1),
                                   encoding="utf-8")


def load_state(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


async def converse(sandbox: Any, bot_task: "asyncio.Task[Any]", stdin: Any, stdout: Any,
                   texts: dict[str, str]) -> None:
    """Read lines as the person types them and hand each to the sandbox, until end of input,
    /quit or the bot stopping. A piped transcript shows what the person "typed"."""
    echo = not stdin.isatty()
    loop = asyncio.get_running_loop()
    while True:
        stdout.write(texts["prompt"].format(uid=sandbox.me.uid))
        stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            return
        line = line.rstrip("\n")
        if echo:
            stdout.write(line + "\n")
        if bot_task.done():
            stdout.write(texts["stopped"] + "\n")
            return
        if not await sandbox.handle(line):
            return


async def run_sandbox(db: Path | None, config: Path | None, user_id: int | None,
                      stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
                      files: Path | None = None) -> int:
    texts = _texts()
    configure_logging("WARNING")
    workdir = tempfile.TemporaryDirectory(prefix="sferum-sandbox-")
    db_path = db or Path(workdir.name) / "sandbox.sqlite3"
    state_file = db_path.with_name(db_path.name + ".sandbox.json") if db else None
    state = load_state(state_file)
    clock = SandboxClock(float(state.get("clock_offset", 0.0)))
    emulator = VKEmulator(group_id=SANDBOX_GROUP, token=SANDBOX_TOKEN, clock=clock.timestamp)
    emulator.import_users(state.get("vk_users", []))
    await emulator.start()
    files = (files or Path("sandbox-files")).resolve()
    app = build_bot(sandbox_settings(db_path, emulator.api_url, config), clock=clock)
    bot_task = asyncio.create_task(app.run())
    # vkbottle skips what was written before its first long poll: wait until it listens.
    await emulator.wait_for_long_poll(30)
    screen = Screen(emulator, stdout, texts, files)
    sandbox = Sandbox(app, emulator, clock, screen, texts, state_file)
    sandbox.current = sandbox.user(user_id or SANDBOX_USER)
    stdout.write(texts["intro"].format(files=files) + "\n")
    try:
        await converse(sandbox, bot_task, stdin, stdout, texts)
    finally:
        sandbox.save_state()
        bot_task.cancel()
        await asyncio.gather(bot_task, return_exceptions=True)
        await emulator.stop()
        workdir.cleanup()
    stdout.write("\n" + texts["bye"] + "\n")
    return 0
