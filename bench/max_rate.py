"""MAX send rate: N messages through the MAX client (bot/max) to the MAX API emulator.

MAX has no batching: one POST /messages per message, at most 30 requests/s per bot (a third
party quoting MAX). The client's window frees a slot a second after each answer, so it can never
exceed the limit; this measures what that costs. Prints the achieved rate as a ratio of 30/s
(goal ≥ 0.8) and the most requests the emulator saw arrive in any 1-s window (must be ≤ 30),
plus any 429 the emulator had to give. Every message goes to a different person, so MAX's
2 messages/s per dialog does not come into play (--per-person sends them all to one person).

    .venv/bin/python bench/max_rate.py [--messages 300] [--concurrency 64] [--per-person]
                                       [--latency 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import common  # noqa: F401  (puts the repository on sys.path)

from bot.max import MaxApi
from bot.maxemu import MaxEmulator

LIMIT = 30
TOKEN = "bench-token"


async def main(messages: int, concurrency: int, per_person: bool, latency: float) -> None:
    emu = MaxEmulator(token=TOKEN, rate_limit=LIMIT, latency=latency)
    await emu.start()
    people = [1 if per_person else 10_000 + n for n in range(messages)]
    for uid in set(people):
        emu.user_started(uid)
    api = MaxApi(TOKEN, emu.base_url, rate=LIMIT)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for uid in people:
        queue.put_nowait(uid)
    failures: list[str] = []

    async def worker() -> None:
        while not queue.empty():
            uid = queue.get_nowait()
            try:
                await api.send_message(uid, "Напоминание: завтра вебинар по Сферуму в 15:00.")
            except Exception as exc:  # noqa: BLE001 - a bench reports every failure
                failures.append(type(exc).__name__)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    await api.close()
    posts = emu.api_calls("POST", "/messages")
    refused = sum(1 for c in posts if c.status == 429)
    delivered = sum(emu.inbox_size(uid) for uid in set(people))
    window = emu.max_requests_in_window(1.0)
    await emu.stop()

    # The first second is free (an empty window admits a burst of 30), so the steady rate is
    # measured over the messages after it.
    ceiling = 2 if per_person else LIMIT
    rate = delivered / elapsed
    steady = (delivered - ceiling) / elapsed if delivered > ceiling else rate
    print(f"messages: {messages}, simulated round trip: {latency * 1000:.0f} ms, delivered: {delivered}, failures: {len(failures)} "
          f"{sorted(set(failures)) or ''}")
    print(f"elapsed: {elapsed:.2f} s; steady rate (without the first second's burst of "
          f"{ceiling}): {steady:.1f}/s = {steady / ceiling:.2f} of {ceiling}/s "
          f"(with it: {rate / ceiling:.2f})")
    print(f"max requests in any 1-s window (emulator's log): {window} (limit {LIMIT}); "
          f"429 answers: {refused}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--per-person", action="store_true")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="simulated network round trip in seconds (loopback is ~0)")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.concurrency, args.per_person, args.latency))
