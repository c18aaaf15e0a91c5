"""MAX through the delivery engine: a bulk job from the SQLite outbox and interactive replies,
as ratios of MAX's 30 requests/s, beside VK's ceilings for the same work.

MAX has no execute/peer_ids: every message is one request, so the ceiling is 30 messages/s
whatever the texts (VK: 20 requests/s, i.e. 500 personal or 50 000 identical messages/s, see
bench/broadcast.py). Prints messages/s as a ratio of 30/s (goal ≥ 0.8), the most requests the
emulator saw in any 1-s window (must be ≤ 30) and its 429 answers.

    .venv/bin/python bench/max_engine.py [--bulk 600] [--replies 120] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)

from bot.max import MaxApi
from bot.max.sender import MaxSender
from bot.maxemu import MaxEmulator
from core.kernel.clock import SystemClock
from core.kernel.outgoing import Multicast, Outgoing
from core.kernel.ui import Button, Keyboard, Reply
from storage import Database

LIMIT = 30
TOKEN = "bench-token"
VK_PERSONAL, VK_IDENTICAL = 500, 50_000  # VK's ceilings at 20 requests/s (bench/broadcast.py)


async def main(bulk: int, replies: int, latency: float) -> None:
    emu = MaxEmulator(token=TOKEN, rate_limit=LIMIT, latency=latency, record_calls=True)
    await emu.start()
    people = bulk + replies
    externals = [500_000 + n for n in range(people)]
    emu.import_users([{"user_id": e, "status": "active"} for e in externals])
    folder = tempfile.TemporaryDirectory(prefix="sferum-bench-")
    db = await Database(Path(folder.name) / "bot.sqlite3").open()
    async with db.transaction() as tx:
        await tx.conn.executemany(
            "INSERT INTO accounts (person_id, messenger, external_id) VALUES (?, 'max', ?)",
            [(-(n + 1), e) for n, e in enumerate(externals)])
        await tx.conn.executemany(
            "INSERT INTO users (vk_id, last_inbound_at, created_at, updated_at) VALUES (?, 1, 0, 0)",
            [(-(n + 1),) for n in range(people)])
    api = MaxApi(TOKEN, emu.base_url, rate=LIMIT)
    sender = MaxSender(api, LIMIT, db, SystemClock())
    await sender.start()
    keyboard = Keyboard.of([Button("Не присылать рассылки", {"cmd": "bc.off"})], inline=True)
    print(f"MAX engine bench: {LIMIT} requests/s, simulated round trip {latency * 1000:.0f} ms")

    ids = [-(n + 1) for n in range(bulk)]
    start = time.perf_counter()
    await sender.enqueue_bulk("bench:max", [Multicast(ids, Reply(
        "Уважаемые родители! В четверг в 18:00 — собрание о чатах в «Сферуме».", keyboard),
        "broadcast", "bench:max")])
    while True:
        async with db.read() as tx:
            counts = await tx.outbox.get_job_counts("bench:max")
        if counts.pending == 0:
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - start
    rate = counts.delivered / elapsed
    print(f"  bulk, one text to {bulk}: {counts.delivered} delivered in {elapsed:.2f} s -> "
          f"{rate:.1f}/s = {rate / LIMIT:.2f} of {LIMIT}/s (VK, same job: {VK_IDENTICAL:,}/s "
          f"ceiling by peer_ids)")

    start = time.perf_counter()
    answers = await asyncio.gather(*(sender.send([Outgoing(
        -(bulk + n + 1), Reply(f"Ответ №{n}", keyboard), "reply", f"bench:reply:{n}")])
        for n in range(replies)))
    elapsed = time.perf_counter() - start
    ok = sum(1 for [d] in answers if d.status == "delivered")
    rate = ok / elapsed
    print(f"  replies to {replies} people at once: {ok} delivered in {elapsed:.2f} s -> "
          f"{rate:.1f}/s = {rate / LIMIT:.2f} of {LIMIT}/s (VK: {VK_PERSONAL}/s ceiling by execute)")
    refused = sum(1 for c in emu.api_calls("POST", "/messages") if c.status == 429)
    print(f"  max requests in any 1-s window: {emu.max_requests_in_window(1.0)} "
          f"(limit {LIMIT}); 429 answers: {refused}")
    await sender.stop()
    await api.close()
    await db.close()
    await emu.stop()
    folder.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", type=int, default=600)
    parser.add_argument("--replies", type=int, default=120)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.bulk, args.replies, args.latency))
