"""Inbound load: simulated people write to the real bot process through the VK API emulator.

Each person does what a newcomer does: writes «Здравствуйте», presses «Педагог или сотрудник»,
asks an FAQ question, waiting for each reply like a person reading it. People arrive at a steady
rate so that the bot receives --rate messages per second in all. The emulator enforces VK's
20 requests/s per token. Prints messages handled per second and p50/p95 reply latency.

    .venv/bin/python bench/inbound.py [--rate 300] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from common import BotProcess, percentile

from bot.vkemu import EmulatedUser, VKEmulator

QUESTIONS = ["как поднять руку на уроке", "что такое сферум", "как привязать дневник к сферуму",
             "сколько человек может быть в звонке", "как установить вк мессенджер"]
STEPS = 3


async def person(emu: VKEmulator, uid: int, latencies: list[float], failures: list[int]) -> None:
    user = EmulatedUser(emu, uid)
    actions = [lambda: user.send("Здравствуйте"),
               lambda: user.press("Педагог или сотрудник"),
               lambda: user.send(QUESTIONS[uid % len(QUESTIONS)])]
    for act in actions:
        start = time.perf_counter()
        await act()
        try:
            await user.next_reply(timeout=30)
        except AssertionError:
            failures.append(uid)
            return
        latencies.append(time.perf_counter() - start)
        user.pending()  # a second message of the same answer is read along with the first


async def main(rate: float, seconds: float) -> None:
    emu = VKEmulator(group_id=1, token="bench-token", rate_limit=20, record_calls=True)
    await emu.start()
    bot = BotProcess(emu.api_url)
    await bot.start(emu)
    people = int(rate * seconds / STEPS)
    interval = STEPS / rate
    latencies: list[float] = []
    failures: list[int] = []
    tasks = []
    began = time.perf_counter()
    for n in range(people):
        tasks.append(asyncio.create_task(person(emu, 100_000 + n, latencies, failures)))
        await asyncio.sleep(max(0.0, began + (n + 1) * interval - time.perf_counter()))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    sends = [c for c in emu.calls if c.method in ("messages.send", "execute") and not c.via_execute]
    rate_errors = sum(1 for c in emu.calls if c.error_code == 6)
    await bot.stop()
    await emu.stop()
    handled = len(latencies)
    print(f"inbound bench: {people} people x {STEPS} messages, offered {rate:.0f} msg/s "
          f"for {seconds:.0f} s")
    print(f"  messages answered: {handled} of {people * STEPS} ({len(failures)} people timed out)")
    print(f"  throughput: {handled / elapsed:.1f} messages/s handled over {elapsed:.1f} s")
    print(f"  reply latency: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
          f"max {max(latencies, default=0) * 1000:.0f} ms")
    print(f"  VK requests for sending: {len(sends)} ({handled / max(1, len(sends)):.1f} "
          f"answers per request), error 6 (too many requests): {rate_errors}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds))
