"""Regional scale: N people in the database, the REAL bot process, the emulator in its own process.

1. A region of N people (default 300 000: a fifth staff, the rest parents), N/10 organisations,
   a municipality per 7 500 people and last week's survey answers is built in a temporary
   database through the storage layer (``storage/bulk.py``).
2. The bot starts on it (startup = from the process spawn to its first long poll).
3. A coordinator, through the emulator as a person would: the audience count (from choosing
   «Всем» to the reply that shows it), the funnel («воронка»), the stuck list («застряли») and the
   survey summary («сводка») — each timed from the message to the reply.
4. One text to everyone, timed from «Отправить сейчас» to the last delivery -> ratio to the
   50 000 recipients/s ceiling (execute 25 x peer_ids 100 x 20 requests/s).
5. A personalised text («{{ имя }}, ...») to the organisations on step 1 (about 3 000 people) ->
   ratio to 500 messages/s (execute 25 x messages.send x 20 requests/s).
6. A burst of 600 newcomers asking a question within one second: reply latency p50/p95 and how
   many messages each got.
7. kill -9 of the bot in the middle of a second text to everyone, a restart, and a check that
   every recipient holds that text exactly once.
Peak RSS is the bot process's own (VmHWM), the database size is read from the file.

    .venv/bin/python bench/scale.py [--people 300000] [--no-kill]

BENCH_TIMELINE=1 prints, per bulk job, when each request reached the emulator (seconds after the
press): gaps show the bot waiting on itself, even spacing the emulator's own pace.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from common import ROOT, percentile

from bot.vkemu import EmulatedUser, VKEmulator
from core.kernel.calendar import iso_week
from storage import Database

TOKEN = "bench-token"
COORDINATOR = 1
BASE = 10_000_000          # region people are BASE .. BASE + N - 1
NEWCOMERS = 5_000_000      # the burst's newcomers, unknown to the bot
PEOPLE_PER_ORG = 10
PEOPLE_PER_MUNICIPALITY = 7_500
STEP1_ORGS = 300           # organisations on step 1: the personalised broadcast's audience
QUESTION = "как ученику поднять руку на уроке в сферуме"
TEXT_ALL = "Уважаемые коллеги и родители! В четверг в 15:00 — вебинар о чатах в «Сферуме»."
TEXT_KILL = "Напоминаем: в пятницу в 16:00 — вторая часть вебинара о «Сферуме»."
TEXT_PERSONAL = "{{ имя }}, добрый день! Проверьте, пожалуйста, чаты классов до пятницы."


# -- the region -----------------------------------------------------------------------------
async def build_region(db_path: Path, people: int) -> dict[str, Any]:
    began = time.perf_counter()
    db = await Database(db_path).open()
    now = int(time.time())
    orgs = max(STEP1_ORGS + 10, people // PEOPLE_PER_ORG)
    municipalities = max(2, people // PEOPLE_PER_MUNICIPALITY)
    week = iso_week((datetime.now(timezone.utc) - timedelta(days=7)).date())
    async with db.transaction() as tx:
        mids = await tx.bulk.upsert_municipalities(
            [f"Муниципальный район № {n + 1}" for n in range(municipalities)])
    first_names = ["Ольга", "Ирина", "Сергей", "Анна", "Павел", "Мария", "Дмитрий", "Елена"]
    for start in range(0, orgs, 20_000):
        rows = []
        for o in range(start + 1, min(orgs, start + 20_000) + 1):
            # Organisations 1..STEP1_ORGS wait on step 1 for weeks (the stuck list); the rest
            # are spread over the steps, a third activated.
            step = 1 if o <= STEP1_ORGS else (9 if o % 3 == 0 else 2 + o % 7)
            rows.append((o, f"Школа № {o}", "school", mids[o % len(mids)], step,
                         BASE + (o - 1) * PEOPLE_PER_ORG, f"inv{o:08d}", now - 40 * 86400))
        async with db.transaction() as tx:
            await tx.bulk.upsert_organisations(rows)
    for start in range(0, people, 20_000):
        rows, staff, answers = [], [], []
        for i in range(start, min(people, start + 20_000)):
            vk_id, org = BASE + i, i // PEOPLE_PER_ORG % orgs + 1
            role = "staff" if i % 5 == 0 else "parent"
            if i % PEOPLE_PER_ORG == 0:
                role = "org_admin"
            # A name of one's own: the personalised broadcast is then one text per person
            # (identical texts would go together in peer_ids, the other ceiling).
            rows.append((vk_id, f"{first_names[i % len(first_names)]} {i}", "Петрова", role, org,
                         1, now - 3600))
            if role == "staff":
                staff.append((vk_id, org, now - 30 * 86400, now - 29 * 86400))
            if i % 7 == 0:
                answers.append((week, vk_id, org, mids[org % len(mids)], role,
                                "chats,login" if i % 2 else "calls", 3 + i % 3, now - 7 * 86400))
        async with db.transaction() as tx:
            await tx.bulk.upsert_people(rows)
            await tx.bulk.upsert_staff(staff)
            await tx.bulk.upsert_survey_answers(answers)
    await db.close()
    return {"orgs": orgs, "municipalities": municipalities,
            "seconds": time.perf_counter() - began, "bytes": file_size(db_path)}


def file_size(db_path: Path) -> int:
    return sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))


# -- the emulator, in its own process ---------------------------------------------------------
def emulator_main(conn: Any, people: int) -> None:
    asyncio.run(EmulatorSide(conn, people).serve())


class EmulatorSide:
    """Runs the emulator and the coordinator's and newcomers' side of the conversation; the
    bench process sends it commands over a pipe."""

    def __init__(self, conn: Any, people: int) -> None:
        self.conn = conn
        self.people = people
        self.emu = VKEmulator(group_id=1, token=TOKEN, rate_limit=20, record_calls=True)
        self.by_text: Counter[str] = Counter()
        self.coordinator: EmulatedUser | None = None

    def _listen(self, kind: str, obj: Any) -> None:
        if kind == "message" and obj.peer_id >= BASE:
            self.by_text[obj.text] += 1

    async def serve(self) -> None:
        await self.emu.start()
        for uid in range(BASE, BASE + self.people):
            self.emu.add_user(uid, allows_messages=True)
            self.emu.subscribe(uid, 1)
        # The emulator keeps every person and every message delivered for the whole run, and
        # makes hardly any reference cycles: collecting garbage in this process only walks the
        # growing heap again and again (2/3 of its CPU per delivered message, measured), so it
        # is off here. The bot's own process is untouched.
        gc.freeze()
        gc.disable()
        self.emu.add_listener(self._listen)
        self.conn.send(self.emu.api_url)
        loop = asyncio.get_running_loop()
        while True:
            command, args = await loop.run_in_executor(None, self.conn.recv)
            if command == "stop":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                self.conn.send({"cpu": usage.ru_utime + usage.ru_stime})
                await self.emu.stop()
                return
            self.conn.send(await getattr(self, command)(*args))

    async def wait_poll(self, polls_before: int) -> float:
        emu = self.emu
        await emu.wait_until(lambda: len(emu.calls_of("groups.getLongPollServer")) > polls_before,
                             600)
        await emu.wait_for_long_poll(600)
        return time.monotonic()

    async def polls(self) -> int:
        return len(self.emu.calls_of("groups.getLongPollServer"))

    async def become_coordinator(self) -> None:
        self.coordinator = person = EmulatedUser(self.emu, COORDINATOR)
        await person.send("Начать")
        await person.next_reply(timeout=60)
        await person.press("Координатор")
        await person.next_reply(timeout=60)
        person.pending()

    async def ask(self, text: str) -> tuple[float, str]:
        """A coordinator's typed command: seconds to the first reply, its text."""
        person = self.coordinator
        assert person is not None
        person.pending()
        began = time.monotonic()
        await person.send(text)
        reply = await person.next_reply(timeout=120)
        elapsed = time.monotonic() - began
        await asyncio.sleep(0.5)
        person.pending()
        return elapsed, reply.text[:200]

    async def start_broadcast(self, audience: list[str], text: str) -> dict[str, Any]:
        """Through the coordinator's dialog up to «Отправить сейчас»: the audience count time,
        the count itself, the moment of the press."""
        person = self.coordinator
        assert person is not None
        person.pending()
        await person.send("рассылка")
        await person.next_reply(timeout=60)
        for label in audience[:-1]:
            await person.press(label)
            await person.next_reply(timeout=60)
        began = time.monotonic()
        await person.press(audience[-1])
        prompt = await person.next_reply(timeout=120)
        count_time = time.monotonic() - began
        found = re.search(r"Получателей сейчас:\s*([\d\s\u00a0\u202f]+)", prompt.text)
        count = int(re.sub(r"\D", "", found.group(1))) if found else -1
        await person.send(text)
        for _ in range(3):
            await person.next_reply(timeout=120)
        requests_before = self._send_requests()
        pressed = time.monotonic()
        self.pressed_wall = time.time()
        await person.press("Отправить сейчас")
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"count_time": count_time, "count": count, "pressed": pressed,
                "emu_cpu_before": usage.ru_utime + usage.ru_stime,
                "requests_before": requests_before}

    def _send_requests(self) -> int:
        return sum(1 for c in self.emu.calls
                   if c.method in ("execute", "messages.send") and not c.via_execute)

    async def delivered(self, text: str) -> int:
        return self.by_text[text] if "{{" not in text else sum(
            n for t, n in self.by_text.items() if t.endswith(text.split("}}", 1)[1]))

    async def wait_delivered(self, text: str, expected: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last, last_at = -1, time.monotonic()
        while time.monotonic() < deadline:
            now_count = await self.delivered(text)
            if now_count != last:
                last, last_at = now_count, time.monotonic()
            if now_count >= expected:
                break
            await asyncio.sleep(0.01)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        if os.environ.get("BENCH_TIMELINE"):
            print("timeline", [(round(c.time - self.pressed_wall, 2), c.method)
                               for c in self.emu.calls if c.time >= self.pressed_wall
                               and not c.via_execute][:60], flush=True)
        return {"delivered": last, "at": last_at, "requests": self._send_requests(),
                "emu_cpu": usage.ru_utime + usage.ru_stime,
                "rate_errors": sum(1 for c in self.emu.calls if c.error_code == 6),
                "rate_peak": self.emu.rate_peak}

    async def exactly_once(self, text: str) -> dict[str, int]:
        counts: Counter[int] = Counter()
        for uid in range(BASE, BASE + self.people):
            counts[sum(1 for m in self.emu.inbox(uid) if m.text == text)] += 1
        return {str(k): v for k, v in counts.items()}

    async def newcomers(self, count: int, seconds: float) -> dict[str, Any]:
        latencies: list[float] = []
        messages: Counter[int] = Counter()

        async def one(n: int) -> None:
            user = EmulatedUser(self.emu, NEWCOMERS + n)
            began = time.monotonic()
            await user.send(QUESTION)
            try:
                await user.next_reply(timeout=120)
            except AssertionError:
                return
            latencies.append(time.monotonic() - began)

        tasks = []
        began = time.monotonic()
        for n in range(count):
            tasks.append(asyncio.create_task(one(n)))
            await asyncio.sleep(max(0.0, began + (n + 1) * seconds / count - time.monotonic()))
        await asyncio.gather(*tasks)
        await asyncio.sleep(1.0)  # a second message, if any, arrives meanwhile
        for n in range(count):
            messages[self.emu.inbox_size(NEWCOMERS + n)] += 1
        return {"answered": len(latencies), "p50": percentile(latencies, 0.5),
                "p95": percentile(latencies, 0.95), "max": max(latencies, default=0.0),
                "messages_each": dict(messages),
                "rate_errors": sum(1 for c in self.emu.calls if c.error_code == 6)}


class Emulator:
    def __init__(self, people: int) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(target=emulator_main, args=(child, people))

    async def start(self) -> str:
        self.proc.start()
        return await self._recv()

    async def _recv(self) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)

    async def call(self, command: str, *args: Any) -> Any:
        self.conn.send((command, args))
        return await self._recv()

    async def stop(self) -> dict[str, float]:
        stats = await self.call("stop")
        self.proc.join()
        return stats


# -- the bot process --------------------------------------------------------------------------
def config_text(api_url: str, db_path: Path) -> str:
    return "\n".join([
        "[vk]", f'token = "{TOKEN}"', "group_id = 1", f'api_url = "{api_url}"',
        "long_poll_wait = 5", "[storage]", f'path = "{db_path}"',
        "[access]", f"coordinators = [{COORDINATOR}]",
        "[region]", 'name = "Область для замеров"',
        "[schedule]", "enabled = false",  # the weekly tick would time itself into the figures
        "[log]", 'level = "WARNING"',
    ]) + "\n"


def bot_env(folder: Path) -> dict[str, str]:
    """The bot process's environment: this repository first, and its compiled bytecode kept
    (in the run's folder, not beside the sources) as an installed package keeps it. Without
    it (PYTHONDONTWRITEBYTECODE, as on this machine) every start compiles the bot's ~150
    modules again, which no installed bot does (pip writes their .pyc at install)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(folder / "pycache")}


def people_of(bot: "Bot") -> int:
    return bot.people


class Bot:
    def __init__(self, folder: Path, api_url: str, db_path: Path, people: int) -> None:
        self.people = people  # the region's: the emulator counts deliveries to them only
        self.folder = folder
        self.config = folder / "config.toml"
        self.config.write_text(config_text(api_url, db_path))
        self.proc: asyncio.subprocess.Process | None = None
        self.peak_kb = 0

    async def spawn(self) -> float:
        began = time.monotonic()
        # BENCH_PROFILE=file.prof runs the bot under cProfile (read it with pstats).
        profile = os.environ.get("BENCH_PROFILE")
        prefix = ["-m", "cProfile", "-o", profile] if profile else []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *prefix, "-m", "bot", "run", "--config", str(self.config),
            cwd=self.folder, env=bot_env(self.folder))
        return began

    def peak_rss_mb(self) -> float:
        """The bot process's peak resident memory (VmHWM) so far, in MB."""
        assert self.proc is not None
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except FileNotFoundError:
            return self.peak_kb / 1024
        found = re.search(r"VmHWM:\s+(\d+) kB", status)
        self.peak_kb = max(self.peak_kb, int(found.group(1)) if found else 0)
        return self.peak_kb / 1024

    def rss_mb(self) -> float:
        """The bot process's resident memory right now, in MB (what a step added shows)."""
        assert self.proc is not None
        found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{self.proc.pid}/status").read_text())
        return int(found.group(1)) / 1024 if found else 0.0

    def cpu_seconds(self) -> float:
        return self.cpu_split()[0]

    def cpu_split(self) -> tuple[float, float]:
        """(the whole process's CPU seconds, its main thread's): the rest is SQLite's
        threads (aiosqlite runs each connection in its own) and the executor's."""
        assert self.proc is not None
        return (_cpu(Path(f"/proc/{self.proc.pid}/stat")),
                _cpu(Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/stat")))

    async def kill9(self) -> None:
        assert self.proc is not None
        self.peak_rss_mb()
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.peak_rss_mb()
            self.proc.terminate()
            await self.proc.wait()


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the run ----------------------------------------------------------------------------------
async def import_time(folder: Path) -> float:
    """Seconds a bare ``import bot.app`` takes right now: the part of startup that does not
    depend on the data (vkbottle's generated types, numpy, the morphology dictionaries)."""
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import bot.app, bot.services", cwd=folder,
        env=bot_env(folder))
    await proc.wait()
    return time.monotonic() - began


async def start_bot(bot: Bot, emu: Emulator) -> float:
    polls = await emu.call("polls")
    began = await bot.spawn()
    ready = await emu.call("wait_poll", polls)
    return ready - began


async def broadcast(emu: Emulator, bot: Bot, audience: list[str], text: str,
                    timeout: float) -> dict[str, Any]:
    cpu_before, main_before = bot.cpu_split()
    started = await emu.call("start_broadcast", audience, text)
    started["count"] = min(started["count"], people_of(bot))  # the coordinator is not counted
    done = await emu.call("wait_delivered", text, started["count"], timeout)
    elapsed = max(1e-9, done["at"] - started["pressed"])
    return {**started, **done, "elapsed": elapsed, "speed": done["delivered"] / elapsed,
            "requests": done["requests"] - started["requests_before"],
            "bot_cpu": bot.cpu_split()[0] - cpu_before,
            "bot_main": bot.cpu_split()[1] - main_before,
            "emu_cpu": done["emu_cpu"] - started["emu_cpu_before"]}


def per_k(result: dict[str, Any], key: str, minus: str | None = None) -> str:
    """CPU milliseconds per 1 000 delivered recipients: the figure to compare runs by on a
    shared machine (wall time depends on what else runs, CPU per recipient hardly does)."""
    seconds = result[key] - (result[minus] if minus else 0.0)
    return f"{seconds * 1e6 / max(1, result['delivered']):.1f}"


async def main(people: int, kill: bool) -> None:
    load = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="sferum-scale-"))
    db_path = folder / "bot.sqlite3"
    print(f"scale bench: {people:,} people; load average {load[0]:.1f} on {os.cpu_count()} CPUs "
          "(other work on the machine makes the figures pessimistic)".replace(",", " "))
    region = await build_region(db_path, people)
    print(f"  region built through storage/bulk.py in {region['seconds']:.1f} s: "
          f"{region['orgs']} organisations, {region['municipalities']} municipalities; "
          f"database {region['bytes'] / 2**20:.1f} MB = "
          f"{region['bytes'] / 2**20 * 100_000 / people:.1f} MB per 100 000 people")
    emu = Emulator(people)
    api_url = await emu.start()
    bot = Bot(folder, api_url, db_path, people)
    try:
        await import_time(folder)  # the first compiles the bot's modules (see bot_env)
        imports = await import_time(folder)
        startup = await start_bot(bot, emu)
        startup_cpu = bot.cpu_split()
        print(f"  startup: {startup:.2f} s to the first long poll (goal < 3 s: "
              f"{startup / 3:.2f} of it), of which importing the libraries alone takes "
              f"{imports:.2f} s now; startup CPU {startup_cpu[0]:.2f} s (main thread "
              f"{startup_cpu[1]:.2f} s); peak RSS so far {bot.peak_rss_mb():.0f} MB, "
              f"RSS now {bot.rss_mb():.0f} MB")
        await emu.call("become_coordinator")
        for command, what in (("воронка", "funnel"), ("застряли", "stuck list"),
                              ("сводка", "survey summary")):
            elapsed, first = await emu.call("ask", command)
            print(f"  {what} («{command}»): {elapsed:.2f} s to the reply (goal < 1 s: "
                  f"{elapsed:.2f} of it) — {first.splitlines()[0][:70]!r}")

        print(f"  before the broadcast: RSS {bot.rss_mb():.0f} MB, peak {bot.peak_rss_mb():.0f} MB")
        size_before = file_size(db_path)
        result = await broadcast(emu, bot, ["Всем"], TEXT_ALL, timeout=600)
        print(f"  audience count shown to the coordinator: {result['count']:,} in "
              f"{result['count_time']:.2f} s (goal < 1 s)".replace(",", " "))
        print(f"  one text to everyone: {result['delivered']:,} of {result['count']:,} delivered "
              f"in {result['elapsed']:.1f} s from «Отправить сейчас», {result['requests']} "
              f"requests -> {result['speed']:,.0f} recipients/s = "
              f"{result['speed'] / 50_000:.2f} of the 50 000/s ceiling; bot CPU "
              f"{result['bot_cpu']:.2f} s = {per_k(result, 'bot_cpu')} ms per 1 000 recipients "
              f"(main thread {per_k(result, 'bot_main')} / SQLite and other threads "
              f"{per_k(result, 'bot_cpu', 'bot_main')}); emulator CPU {result['emu_cpu']:.2f} s = "
              f"{per_k(result, 'emu_cpu')} ms per 1 000; error 6: "
              f"{result['rate_errors']}, busiest second {result['rate_peak']} requests (limit 20); "
              f"bot peak RSS {bot.peak_rss_mb():.0f} MB".replace(",", " "))
        await asyncio.sleep(1.0)  # the job's report and last counters are written
        grown = file_size(db_path) - size_before
        print(f"  database growth for that broadcast: {grown / 2**20:.1f} MB "
              f"({grown / max(1, result['delivered']):.0f} bytes a recipient, until retention)")

        result = await broadcast(emu, bot, ["Шаг активации", "Шаг 1"], TEXT_PERSONAL,
                                 timeout=600)
        print(f"  personalised texts: {result['delivered']:,} of {result['count']:,} in "
              f"{result['elapsed']:.1f} s -> {result['speed']:,.0f} messages/s = "
              f"{result['speed'] / 500:.2f} of the 500/s ceiling; "
              f"audience count in {result['count_time']:.2f} s; bot CPU {result['bot_cpu']:.1f} s,"
              f" emulator CPU {result['emu_cpu']:.1f} s; bot peak RSS {bot.peak_rss_mb():.0f} MB"
              .replace(",", " "))

        cpu_before, main_before = bot.cpu_split()
        burst = await emu.call("newcomers", 600, 1.0)
        burst_cpu = bot.cpu_split()[0] - cpu_before
        burst_main = bot.cpu_split()[1] - main_before
        print(f"  600 newcomers asking within 1 s: {burst['answered']} answered, p50 "
              f"{burst['p50']:.2f} s, p95 {burst['p95']:.2f} s (goal < 1.5 s: "
              f"{burst['p95'] / 1.5:.2f} of it), max {burst['max']:.2f} s; messages each "
              f"{burst['messages_each']}; bot CPU {burst_cpu:.1f} s "
              f"({burst_cpu / 0.6:.1f} ms a newcomer, main thread {burst_main / 0.6:.1f} ms); "
              f"error 6: {burst['rate_errors']}; bot peak RSS "
              f"{bot.peak_rss_mb():.0f} MB")

        if kill:
            cpu_before = bot.cpu_seconds()
            started = await emu.call("start_broadcast", ["Всем"], TEXT_KILL)
            expected = min(started["count"], people)
            await emu.call("wait_delivered", TEXT_KILL, expected // 3, 600)
            await bot.kill9()
            at_kill = await emu.call("delivered", TEXT_KILL)
            restart = await start_bot(bot, emu)
            done = await emu.call("wait_delivered", TEXT_KILL, expected, 600)
            once = await emu.call("exactly_once", TEXT_KILL)
            print(f"  kill -9 at {at_kill:,} of {expected:,} delivered, restart in "
                  f"{restart:.2f} s, then {done['delivered']:,} delivered; recipients holding "
                  f"the text 0/1/2+ times: {once} (exactly once: "
                  f"{'yes' if set(once) == {'1'} else 'NO'}); bot CPU before the kill "
                  f"{cpu_before:.0f} s".replace(",", " "))
        print(f"  peak RSS of the bot process: {bot.peak_rss_mb():.0f} MB (goal < 150 MB: "
              f"{bot.peak_rss_mb() / 150:.2f} of it)")
        print(f"  database now {file_size(db_path) / 2**20:.1f} MB; load average now "
              f"{os.getloadavg()[0]:.1f}")
    finally:
        await bot.stop()
        stats = await emu.stop()
        print(f"  emulator process CPU: {stats['cpu']:.1f} s in all")
        shutil.rmtree(folder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300_000)
    parser.add_argument("--no-kill", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.people, not args.no_kill))
