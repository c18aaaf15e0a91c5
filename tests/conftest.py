"""Test harness: the VK API emulator, the real bot (as a `sferum-bot run` process or built
in-process by the same factory), and emulated VK users.

Every conversation a test has is written to tests/output/transcripts/<test>.txt, to be read as
a teacher would read it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import App, build_bot
from bot.config import Settings, settings_from_dict
from bot.maxemu import MaxEmulator, MaxUser
from bot.vkemu import EmulatedUser, VKEmulator
from core.kernel.clock import Clock, FixedClock, SystemClock

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "output"
TOKEN = "test-token"
GROUP = 1
COORDINATOR = 9001
MUNICIPAL_COORDINATOR = 9002
BOT_ADMIN = 9000
MAX_TOKEN = "max-test-token"


def base_config(api_url: str, db_path: Path, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "vk": {"token": TOKEN, "group_id": GROUP, "api_url": api_url, "long_poll_wait": 2},
        "storage": {"path": str(db_path)},
        "access": {"admins": [BOT_ADMIN], "coordinators": [COORDINATOR]},
        "region": {
            "name": "Тестовая область",
            "timezone": "Asia/Novosibirsk",
            "municipalities": [{"name": "г. Новосибирск"}, {"name": "Искитимский район"},
                               {"name": "Мирнинский район", "timezone": "Asia/Yakutsk"}],
        },
        "log": {"level": "INFO"},
    }
    for section, values in overrides.items():
        raw.setdefault(section, {}).update(values)
    return raw


def max_section(api_url: str) -> dict[str, Any]:
    """[max] of a bot that also serves MAX: the same people are its admin and coordinator
    (as MAX user ids; rights are per messenger)."""
    return {"enabled": True, "token": MAX_TOKEN, "api_url": api_url, "poll_timeout": 2,
            "admins": [BOT_ADMIN], "coordinators": [COORDINATOR]}


def max_caught_up(max_emu: MaxEmulator | None) -> bool:
    """The bot has taken every MAX update: none is left uncommitted, and the poller commits a
    batch (polls with the next marker) only after it has handed every update of it on. Webhook
    pushes have no such fact: with a subscription this is never true."""
    return max_emu is None or (not max_emu.subscriptions and max_emu.pending_updates == 0)


def toml_dump(raw: dict[str, Any]) -> str:
    """Enough TOML for our config (tables of scalars, lists, inline tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return '"' + str(v) + '"'

    lines = []
    for section, table in raw.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {value(v)}" for k, v in table.items())
        lines.append("")
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_pythonpath() -> str:
    """The bot process runs in its own folder: it must import this checkout, not a copy
    installed into the venv's site-packages."""
    return os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)


class BotProcess:
    """The real bot: `python -m bot run --config ...` in its own working directory."""

    def __init__(self, emu: VKEmulator, workdir: Path, raw: dict[str, Any],
                 max_emu: MaxEmulator | None = None) -> None:
        self.emu = emu
        self.max_emu = max_emu
        self.max_webhook = (raw.get("max") or {}).get("transport") == "webhook"
        self.workdir = workdir
        self.config = workdir / "config.toml"
        self.config.write_text(toml_dump(raw), encoding="utf-8")
        self.log = workdir / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None
        # The bot says whether it is idle at GET /idle of its health server.
        health = raw.get("health", {})
        self.idle_url = (f"http://127.0.0.1:{health['port']}/idle"
                         if health.get("enabled") and health.get("port") else None)
        self._http: aiohttp.ClientSession | None = None

    async def idle(self) -> bool:
        """Every event taken (checked first, so none is taken unseen), then nothing handled,
        queued or in flight in the bot."""
        if (self.proc is None or self.idle_url is None or not self.emu.long_poll_caught_up
                or not max_caught_up(self.max_emu)):
            return False
        if self._http is None:
            self._http = aiohttp.ClientSession()
        try:
            async with self._http.get(self.idle_url) as resp:
                return resp.status == 200 and (await resp.json())["idle"] is True
        except aiohttp.ClientError:
            return False  # not serving yet

    async def start(self, timeout: float = 90.0) -> None:
        servers_before = len(self.emu.calls_of("groups.getLongPollServer"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = bot_pythonpath()
        self._log_file = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(self.config),
            cwd=self.workdir, env=env, stdout=self._log_file, stderr=self._log_file)
        ok = await self.emu.wait_until(
            lambda: len(self.emu.calls_of("groups.getLongPollServer")) > servers_before, timeout)
        if not ok:
            await self.stop()
            raise RuntimeError("bot did not start:\n" + self.log.read_text(errors="replace"))
        await self.emu.wait_for_long_poll(timeout)
        if self.max_emu is not None and self.max_webhook:
            max_emu = self.max_emu
            assert await max_emu.wait_until(lambda: bool(max_emu.subscriptions), timeout)
        elif self.max_emu is not None:
            await self.max_emu.wait_for_poll(timeout)
        self.emu.bot_idle = self.idle

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._log_file.close()
        self.proc = None

    async def kill(self) -> None:
        """A crash: SIGKILL, no cleanup."""
        await self.stop(signal.SIGKILL)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


class InProcessBot:
    """The same factory in this event loop, with a clock the test moves."""

    def __init__(self, emu: VKEmulator, settings: Settings, clock: Clock,
                 max_emu: MaxEmulator | None = None) -> None:
        self.emu = emu
        self.max_emu = max_emu
        self.settings = settings
        self.clock = clock
        self.app: App | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        servers_before = len(self.emu.calls_of("groups.getLongPollServer"))
        self.app = build_bot(self.settings, clock=self.clock)
        self.task = asyncio.create_task(self.app.run())
        if self.settings.vk is not None:  # a MAX-only bot never calls VK
            await self.emu.wait_until(
                lambda: len(self.emu.calls_of("groups.getLongPollServer")) > servers_before, 10)
            await self.emu.wait_for_long_poll(10)
        if self.max_emu is not None:
            await self.max_emu.wait_for_poll(10)
        self.emu.bot_idle = self.idle

    async def idle(self) -> bool:
        return (self.app is not None and self.task is not None
                and (self.settings.vk is None or self.emu.long_poll_caught_up)
                and max_caught_up(self.max_emu)
                and await self.app.idle())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


def _files_state(*folders: Path | None) -> tuple[Any, ...]:
    """Every file a loader reads, by path and content digest: the same state, the same result.
    A missing or empty folder (a bot's own «faq_learned» before anyone taught it) reads as
    nothing, wherever it is."""
    state: list[Any] = []
    for folder in folders:
        files = [p for p in sorted(Path(folder).rglob("*")) if p.is_file()] if folder else []
        state.append((str(folder), tuple(
            (str(p), hashlib.blake2b(p.read_bytes(), digest_size=16).digest()) for p in files))
            if files else None)
    return tuple(state)


def _by_files(load: Callable[..., Any], cache: dict[Any, Any]) -> Callable[..., Any]:
    """``load(folder, [learned])``, reused while the files it reads are unchanged."""
    def cached(*folders: Any) -> Any:
        key = (load, *_files_state(*folders))
        if key not in cache:
            cache[key] = load(*folders)
        return cache[key]
    return cached


@pytest.fixture(scope="session", autouse=True)
def content_loaded_once() -> Iterator[None]:
    """Every bot a test builds reads the same texts and FAQ files (about 0.35 s a bot): load them
    once per state of the files. What is loaded is never changed afterwards (a FAQ reload builds
    new objects), and a test that edits a file gets a fresh load. If the loaders move, this only
    stops saving time."""
    import core.faq.dialog as faq_dialog
    from core.kernel.texts import Texts

    cache: dict[Any, Any] = {}
    indexes: dict[int, Any] = {}
    patch = pytest.MonkeyPatch()
    texts_load = Texts.__dict__.get("load")
    if isinstance(texts_load, classmethod):
        plain = _by_files(lambda folder: texts_load.__func__(Texts, folder), cache)
        patch.setattr(Texts, "load", classmethod(lambda cls, folder: plain(folder)))
    for name in ("load_faq", "load_smalltalk"):
        if callable(getattr(faq_dialog, name, None)):
            patch.setattr(faq_dialog, name, _by_files(getattr(faq_dialog, name), cache))
    index_type = getattr(faq_dialog, "FaqIndex", None)
    build = getattr(index_type, "build", None)
    if build is not None:
        def build_once(book: Any) -> Any:  # the same (cached) book, the same index
            if id(book) not in indexes:
                indexes[id(book)] = (book, build(book))
            return indexes[id(book)][1]
        patch.setattr(faq_dialog, "FaqIndex", type(index_type.__name__, (index_type,), {
            "build": staticmethod(build_once)}))
    yield
    patch.undo()


@pytest.fixture
async def emulator() -> AsyncIterator[VKEmulator]:
    emu = VKEmulator(group_id=GROUP, token=TOKEN, rate_limit=20)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def messenger() -> str:
    """Which messenger the test's people write from; parametrise a test with
    ``@pytest.mark.parametrize("messenger", ["vk", "max"])`` to run it on both. With "max" the
    bot serves both messengers (VK stays on) and the people are MAX users."""
    return "vk"


@pytest.fixture
async def max_emulator(messenger: str) -> AsyncIterator[MaxEmulator | None]:
    if messenger != "max":
        yield None
        return
    emu = MaxEmulator(token=MAX_TOKEN)
    await emu.start()
    yield emu
    await emu.stop()


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Override in a test module to change settings of the bot under test."""
    return {}


@pytest.fixture
async def bot(emulator: VKEmulator, tmp_path: Path, config_overrides: dict[str, Any],
              max_emulator: MaxEmulator | None) -> AsyncIterator[BotProcess]:
    raw = base_config(emulator.api_url, tmp_path / "data" / "bot.sqlite3", **config_overrides)
    if max_emulator is not None:
        raw["max"] = {**max_section(max_emulator.base_url), **raw.get("max", {})}
    # The real process runs on the real clock: its weekly tick would send reminders or surveys
    # to the test's people on some days and hours. Scheduler tests use the in-process bot.
    raw.setdefault("schedule", {}).setdefault("enabled", False)
    # Its health server answers GET /idle: what tests wait on instead of quiet windows.
    health = raw.setdefault("health", {})
    health.setdefault("enabled", True)
    health.setdefault("port", free_port())
    process = BotProcess(emulator, tmp_path, raw, max_emulator)
    await process.start()
    yield process
    await process.stop()
    # vkbottle logs a dropped long-poll connection as an ERROR before it retries: expected here.
    errors = [line for line in process.log_text().splitlines()
              if (" ERROR " in line or "Traceback" in line) and "retrying" not in line]
    assert not errors, "the bot logged errors:\n" + process.log_text()[-4000:]


@pytest.fixture
def clock() -> FixedClock:
    # Monday 23 November 2026, 10:00 in Novosibirsk.
    return FixedClock(datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc))


@pytest.fixture
async def bot_inprocess(emulator: VKEmulator, tmp_path: Path, clock: FixedClock,
                        config_overrides: dict[str, Any],
                        max_emulator: MaxEmulator | None) -> AsyncIterator[InProcessBot]:
    raw = base_config(emulator.api_url, tmp_path / "data" / "bot.sqlite3", **config_overrides)
    if max_emulator is not None:
        raw["max"] = {**max_section(max_emulator.base_url), **raw.get("max", {})}
    runner = InProcessBot(emulator, settings_from_dict(raw, "test", environ={}), clock,
                          max_emulator)
    await runner.start()
    yield runner
    await runner.stop()


class ErrorRecords(logging.Handler):
    """ERROR records the bot logs in this process (the `bot` fixture reads them from its log)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        # vkbottle logs a dropped long-poll connection as an ERROR before it retries: expected.
        if "retrying" not in line:
            self.lines.append(line)


@pytest.fixture
async def bot_fast(emulator: VKEmulator, tmp_path: Path, config_overrides: dict[str, Any],
                   max_emulator: MaxEmulator | None) -> AsyncIterator[InProcessBot]:
    """The fast tier: the bot the `bot` fixture runs — same config, real clock, the weekly tick
    off, no ERROR in its log — built in this process instead of started as one (a process
    start costs seconds of imports). For conversations that need neither the process, its
    signals nor its log file."""
    raw = base_config(emulator.api_url, tmp_path / "data" / "bot.sqlite3", **config_overrides)
    raw.setdefault("schedule", {}).setdefault("enabled", False)
    if max_emulator is not None:
        raw["max"] = {**max_section(max_emulator.base_url), **raw.get("max", {})}
    runner = InProcessBot(emulator, settings_from_dict(raw, "test", environ={}), SystemClock(),
                          max_emulator)
    errors = ErrorRecords()
    logging.getLogger().addHandler(errors)
    try:
        await runner.start()
        yield runner
        await runner.stop()
    finally:
        logging.getLogger().removeHandler(errors)
    assert not errors.lines, "the bot logged errors:\n" + "\n".join(errors.lines)[-4000:]


class MaxPerson(MaxUser):
    """A MAX user with the VK driver's test API, so one conversation test runs on both.

    In MAX nobody can write to a bot before pressing «Начать» (bot_started), from the bot's
    page or an invitation link ``?start=<code>``: a person's first ``send`` is that press, with
    ``ref`` (VK's deep-link parameter) as the start payload; what they would have typed is not
    sent, as the greeting is what both messengers answer first."""

    def __init__(self, emu: MaxEmulator, uid: int, first_name: str | None = None,
                 last_name: str | None = None,
                 settle: Callable[[float], Awaitable[None]] | None = None) -> None:
        super().__init__(emu, uid, first_name, last_name, auto_start=False)
        self.settle = settle

    async def send(self, text: str | None, attachments: list[dict[str, Any]] | None = None,
                   ref: str | None = None, ref_source: str | None = None,
                   payload: Any = None) -> dict[str, Any]:
        if self.emu.user_status(self.user_id) != "active":
            return await self.start(ref)
        if payload is not None:
            return await self.press_payload(payload)
        return await super().send(text, attachments)

    async def replies(self, count: int | None = None, timeout: float = 10.0,
                      quiet: float = 0.3) -> list[Any]:
        """Everything the bot answers to what was sent so far, once it is idle (the VK
        emulator's settle: both messengers' updates taken, nothing handled, queued or in
        flight — MAX's 2 messages a second into one dialog included)."""
        if count is not None or self.emu.subscriptions or self.settle is None:
            # By webhook no fact says the bot has every update: a pause longer than MAX's
            # per-dialog pace (a third message in a row comes up to a second later).
            return await super().replies(count, timeout, max(quiet, 1.1))
        await self.settle(timeout)
        return self.pending()

    async def press_payload(self, payload: Any, label: str = "",  # type: ignore[override]
                            message: Any = None) -> dict[str, Any]:
        raw = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        return await super().press_payload(raw, message or self.latest_keyboard())


class Users:
    """Creates emulated users (of the test's messenger) and saves their transcripts."""

    def __init__(self, emu: VKEmulator, name: str, max_emu: MaxEmulator | None = None) -> None:
        self.emu = emu
        self.max_emu = max_emu
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        self.made: list[Any] = []

    def __call__(self, uid: int, first_name: str | None = None,
                 last_name: str | None = None, sex: int | None = None) -> Any:
        user: Any
        if self.max_emu is not None:
            user = MaxPerson(self.max_emu, uid, first_name, last_name, self.emu.settle)
        else:
            user = EmulatedUser(self.emu, uid, first_name=first_name, last_name=last_name,
                                sex=sex)
        self.made.append(user)
        return user

    def save(self) -> None:
        if not self.made:
            return
        folder = OUTPUT / "transcripts"
        folder.mkdir(parents=True, exist_ok=True)
        parts = [f"=== user {u.uid}\n{u.format_transcript()}" for u in self.made]
        (folder / f"{self.name}.txt").write_text("\n\n".join(parts) + "\n", encoding="utf-8")


@pytest.fixture
def users(emulator: VKEmulator, request: pytest.FixtureRequest,
          max_emulator: MaxEmulator | None) -> Any:
    made = Users(emulator, request.node.name, max_emulator)
    yield made
    made.save()
