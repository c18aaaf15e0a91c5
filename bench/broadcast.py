"""Outbound ceiling: the delivery engine against the VK API emulator (20 requests/s enforced).

Two jobs, each measured from the first request to the last delivery:
- one text to 30 000 recipients: peer_ids (100) inside execute (25 calls) -> ceiling 50 000/s;
- 5 000 personalised texts: 25 messages.send calls per execute -> ceiling 500/s.
The emulator runs in a child process (as VK is another machine), so the figures are the
delivery engine's own; --same-process puts it in this process for comparison.

    .venv/bin/python bench/broadcast.py [--identical 30000] [--personal 5000] [--rps 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path

from common import ROOT  # noqa: F401  (puts the repository on sys.path)

from bot.config import SenderSettings
from bot.vk.api import VkApi
from bot.vk.sender import VkSender
from bot.vkemu import VKEmulator
from core.kernel.clock import SystemClock, unix
from core.kernel.outgoing import Outgoing
from core.kernel.ui import Button, Keyboard, Reply
from storage import Database

TOKEN = "bench-token"
REQUESTS_PER_SECOND = 20  # VK's limit for a community token


def emulator_process(conn: "multiprocessing.connection.Connection", people: list[int]) -> None:
    """The emulator on its own core: reports its port, then its counts when told to stop."""

    async def serve() -> None:
        emu = VKEmulator(group_id=1, token=TOKEN, rate_limit=REQUESTS_PER_SECOND)
        await emu.start()
        for uid in people:
            emu.add_user(uid, allows_messages=True)
        conn.send(emu.api_url)
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        delivered = sum(emu.inbox_size(uid) for uid in people)
        conn.send({"delivered": delivered,
                   "rate_errors": sum(1 for c in emu.calls if c.error_code == 6)})
        await emu.stop()

    asyncio.run(serve())


class LocalEmulator:
    """The same interface over an emulator in this process."""

    def __init__(self, people: list[int]) -> None:
        self.people = people
        self.emu = VKEmulator(group_id=1, token=TOKEN, rate_limit=REQUESTS_PER_SECOND)

    async def start(self) -> str:
        await self.emu.start()
        for uid in self.people:
            self.emu.add_user(uid, allows_messages=True)
        return self.emu.api_url

    async def finish(self) -> dict[str, int]:
        stats = {"delivered": sum(self.emu.inbox_size(uid) for uid in self.people),
                 "rate_errors": sum(1 for c in self.emu.calls if c.error_code == 6)}
        await self.emu.stop()
        return stats


class ChildEmulator:
    def __init__(self, people: list[int]) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(target=emulator_process, args=(child, people))

    async def start(self) -> str:
        self.proc.start()
        return await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)

    async def finish(self) -> dict[str, int]:
        self.conn.send("stop")
        stats = await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)
        self.proc.join()
        return stats


async def run_job(db: Database, sender: VkSender, job: str,
                  messages: list[Outgoing]) -> tuple[float, int, int]:
    queued = time.perf_counter()
    await sender.enqueue_bulk(job, messages)
    queue_time = time.perf_counter() - queued
    requests_before = sender.requests
    start = time.perf_counter()
    while True:
        async with db.read() as tx:
            counts = await tx.outbox.get_job_counts(job)
        if counts.pending == 0:
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - start
    print(f"    (queued in SQLite in {queue_time:.2f} s before the first request)")
    return elapsed, counts.delivered, sender.requests - requests_before


async def main(identical: int, personal: int, rps: float, same_process: bool) -> None:
    people = list(range(1_000_000, 1_000_000 + max(identical, personal)))
    emu = LocalEmulator(people) if same_process else ChildEmulator(people)
    api_url = await emu.start()
    folder = tempfile.TemporaryDirectory(prefix="sferum-bench-")
    db = await Database(Path(folder.name) / "bot.sqlite3").open()
    clock = SystemClock()
    async with db.transaction() as tx:
        await tx.users.upsert_seen(people[0], unix(clock))
        await tx.conn.executemany(
            "INSERT OR IGNORE INTO users (vk_id, last_inbound_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?)", [(p, unix(clock), 0, 0) for p in people])

    sender = VkSender(VkApi(api_url, TOKEN, "5.199"),
                      SenderSettings(requests_per_second=rps), db, clock)
    await sender.start()
    keyboard = Keyboard.of([Button("Не присылать рассылки", {"cmd": "bc.off"})], inline=True)
    where = "in this process" if same_process else "in a child process"
    print(f"broadcast bench: sender limited to {rps:g} requests/s, emulator ({where}) enforces "
          f"{REQUESTS_PER_SECOND}/s")

    text = "Уважаемые коллеги! В четверг в 15:00 — вебинар о чатах в «Сферуме»."
    elapsed, delivered, requests = await run_job(db, sender, "bench:identical", [
        Outgoing(uid, Reply(text, keyboard), "broadcast", "bench:identical")
        for uid in people[:identical]])
    speed = delivered / elapsed
    print(f"  one text to {identical} recipients: {delivered} delivered in {elapsed:.2f} s, "
          f"{requests} requests -> {speed:,.0f} recipients/s = {speed / 50_000:.0%} of the "
          f"50 000/s ceiling")

    elapsed, delivered, requests = await run_job(db, sender, "bench:personal", [
        Outgoing(uid, Reply(f"Здравствуйте, коллега №{uid}! Ваш опрос за неделю ждёт Вас.",
                            keyboard), "survey", f"bench:personal:{uid}")
        for uid in people[:personal]])
    speed = delivered / elapsed
    print(f"  {personal} personalised texts: {delivered} delivered in {elapsed:.2f} s, "
          f"{requests} requests -> {speed:,.0f} messages/s = {speed / 500:.0%} of the "
          f"500/s ceiling")
    await sender.stop()
    await sender.api.close()
    await db.close()
    stats = await emu.finish()
    print(f"  messages the emulator holds: {stats['delivered']} "
          f"(expected {identical + personal}: none lost, none twice); "
          f"error 6 (too many requests): {stats['rate_errors']}")
    folder.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--identical", type=int, default=30_000)
    parser.add_argument("--personal", type=int, default=5_000)
    parser.add_argument("--rps", type=float, default=20.0)
    parser.add_argument("--same-process", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.identical, args.personal, args.rps, args.same_process))
