"""How late a request is counted by the server after the sender sent it, and how busy the
server's busiest second was.

This is why bot/vk/sender.py's RateLimiter bounds a request's arrival by its answer and not by
its send plus a margin: a server working through large executes counts the ones queued behind
them tens to hundreds of milliseconds after they were sent (75–600 ms measured here on the
shared machine when twenty left at once), so no small margin is safe. Sent evenly, the requests
find the server free and their answers come back fast, which keeps the answer bound cheap.

The emulator runs in its own process (as in bench/scale.py); the sender in this one sends one
text to N people and personal texts to a few thousand. Every request's send moment (right before
the HTTP post) is paired with the moment the emulator counted it against the limit; both are
wall-clock times of one machine.

    .venv/bin/python bench/jitter.py [--people 100000] [--personal 3000]

BENCH_TIMELINE=1 prints (seconds after the first send, delay in ms) for every request.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from common import percentile

from bot.config import SenderSettings
from bot.vk.api import VkApi
from bot.vk.sender import VkSender
from bot.vkemu import VKEmulator
from core.kernel.clock import SystemClock, unix
from core.kernel.outgoing import Multicast, Outgoing
from core.kernel.ui import Reply
from storage import Database

TOKEN = "bench-token"
BASE = 10_000_000


def emulator_main(conn: Any, people: int) -> None:
    async def serve() -> None:
        emu = VKEmulator(group_id=1, token=TOKEN, rate_limit=20, record_calls=True)
        await emu.start()
        for uid in range(BASE, BASE + people):
            emu.add_user(uid, allows_messages=True)
        gc.freeze()  # the people stay: collections need not walk them (emulator CPU / 2)
        conn.send(emu.api_url)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)
        conn.send({"arrivals": [(c.params.get("code", c.params.get("peer_id", ""))[:200], c.arrived)
                                for c in emu.calls if not c.via_execute and c.arrived],
                   "rate_peak": emu.rate_peak,
                   "errors6": sum(1 for c in emu.calls if c.error_code == 6)})
        await emu.stop()

    asyncio.run(serve())


class RecordingApi(VkApi):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sent: dict[str, float] = {}

    async def raw(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        key = str(params.get("code", params.get("peer_id", "")))[:200]
        self.sent[key] = time.time()
        return await super().raw(method, params)


async def main(people: int, personal: int) -> None:
    conn, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=emulator_main, args=(child, people))
    proc.start()
    loop = asyncio.get_running_loop()
    api_url = await loop.run_in_executor(None, conn.recv)
    folder = Path(tempfile.mkdtemp(prefix="sferum-jitter-"))
    db = await Database(folder / "bot.sqlite3").open()
    clock = SystemClock()
    async with db.transaction() as tx:
        await tx.bulk.upsert_people([(BASE + i, f"Имя {i}", "Фамилия", "parent", None, 1,
                                      unix(clock) - 60) for i in range(people)])
    api = RecordingApi(api_url, TOKEN, "5.199")
    sender = VkSender(api, SenderSettings(), db, clock)
    await sender.start()
    began = time.monotonic()
    await sender.enqueue_bulk("jitter:all", [Multicast(
        list(range(BASE, BASE + people)), Reply("Один текст всем.", template="bench.jitter"),
        "broadcast", "jitter:all")])
    await sender.enqueue_bulk("jitter:personal", (
        Outgoing(BASE + i, Reply(f"Текст № {i} лично Вам.", template="bench.jitter"),
                 "broadcast", f"jitter:personal:{i}") for i in range(personal)))
    while not await sender.idle():
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - began
    await sender.stop()
    await api.close()
    await db.close()
    conn.send("stop")
    got = await loop.run_in_executor(None, conn.recv)
    proc.join()
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    pairs = sorted((api.sent[key], arrived - api.sent[key]) for key, arrived in got["arrivals"]
                   if key in api.sent)
    delays = [d for _, d in pairs]
    if os.environ.get("BENCH_TIMELINE"):
        start = pairs[0][0]
        print([(round(t - start, 3), round(d * 1000)) for t, d in pairs])
    load = os.getloadavg()[0]
    print(f"jitter: {len(delays)} requests in {elapsed:.1f} s ({len(delays) / elapsed:.1f}/s), "
          f"load average {load:.1f}; send -> counted by the emulator: min "
          f"{min(delays) * 1000:.1f} ms, p50 {percentile(delays, 0.5) * 1000:.1f} ms, p99 "
          f"{percentile(delays, 0.99) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms; "
          f"most requests in one second as the emulator counted: {got['rate_peak']} (limit 20),"
          f" error 6: {got['errors6']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--personal", type=int, default=3_000)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.personal))
