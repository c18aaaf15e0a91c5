"""Weekly jobs at regional scale: the survey and the reminders to 30 000 staff, and 30 000 answers.

1. Sending. The bot is built by the real factory (``build_bot``) against the VK API emulator
   (in this process, enforcing VK's 20 requests/s; the sender is limited to 18/s as in the
   config). 30 000 staff in 300 schools (+ their 300 admins) are seeded; the scheduler's ``tick``
   is called at the reminder slot (everyone has an unconfirmed registration: 300 texts, one per
   school) and at the survey slot (one text for all). Measured from the tick to the last delivery.
2. Answers, storage only: 30 000 complete answers arriving within 10 minutes (50/s), played
   --speedup times faster with Poisson arrivals, each written as the survey writes its last step
   (the person's place looked up, the week's row upserted) in its own transaction.
3. Answers through the survey service: --people people go through the whole conversation
   (open, two ticks, «Дальше», confidence, messages, skip the comment: 7 steps, each as the
   bot handles a message: the person loaded, the step's logic, its replies rendered, not sent),
   many people at once; gives answers/s and the p95 of a step.

    .venv/bin/python bench/survey.py [--staff 30000] [--speedup 10] [--people 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common import ROOT, percentile  # noqa: F401  (puts the repository on sys.path)

from bot.app import App, build_bot
from bot.config import settings_from_dict
from bot.vkemu import VKEmulator
from core.surveys import service as surveys
from core.kernel.access import Access
from core.kernel.clock import FixedClock, unix
from core.kernel.conversation import Conversation, Incoming

TOKEN = "bench-token"
EMULATOR_RPS = 20
SENDER_RPS = 18
NSK = ZoneInfo("Asia/Novosibirsk")
MONDAY_10 = datetime(2026, 11, 23, 10, tzinfo=NSK).astimezone(timezone.utc)
FRIDAY_12 = datetime(2026, 11, 27, 12, tzinfo=NSK).astimezone(timezone.utc)
WEEK = "2026-W48"
PER_SCHOOL = 100
DAY = 24 * 3600


async def seed(app: App, emu: VKEmulator, staff: int) -> tuple[list[int], list[int]]:
    """Schools with an admin each and PER_SCHOOL staff who joined 5 days ago, unconfirmed; all
    agreed to weekly messages and last wrote a week ago (so VK needs the newsletter intent)."""
    now = unix(app.deps.clock)
    schools = max(1, staff // PER_SCHOOL)
    admins = [3_000_000 + n for n in range(schools)]
    people = [1_000_000 + n for n in range(staff)]
    async with app.deps.db.transaction() as tx:
        [mun] = await tx.territory.list_municipalities()
        await tx.executemany(
            "INSERT INTO organisations (id, name, kind, municipality_id, created_at, step,"
            " step_updated_at, admin_vk_id) VALUES (?, ?, 'school', ?, ?, 9, ?, ?)",
            [(n + 1, f"Школа № {n + 1}", mun.id, now - 90 * DAY, now - 30 * DAY, admins[n])
             for n in range(schools)])
        users = [(a, "org_admin", n + 1) for n, a in enumerate(admins)]
        users += [(p, "staff", n // PER_SCHOOL % schools + 1) for n, p in enumerate(people)]
        await tx.executemany(
            "INSERT INTO users (vk_id, role, org_id, state, newsletter_ok, last_inbound_at,"
            " created_at, updated_at) VALUES (?, ?, ?, 'menu', 1, ?, ?, ?)",
            [(vk, role, org, now - 7 * DAY, now - 7 * DAY, now) for vk, role, org in users])
        await tx.executemany(
            "INSERT INTO staff (vk_id, org_id, joined_at) VALUES (?, ?, ?)",
            [(p, n // PER_SCHOOL % schools + 1, now - 5 * DAY) for n, p in enumerate(people)])
    for vk in (*admins, *people):
        emu.add_user(vk, allows_messages=True)
        emu.subscribe(vk, 1)
    return admins, people


async def run_tick(app: App, emu: VKEmulator, at: datetime, who: list[int]) -> None:
    app.deps.clock._now = at  # type: ignore[attr-defined]
    before = sum(emu.inbox_size(uid) for uid in who)
    requests_before = app.sender.requests
    started = time.perf_counter()
    report = await app.deps.services["schedule"].tick()
    queued_in = time.perf_counter() - started
    while True:
        async with app.deps.db.read() as tx:
            pending = await tx.outbox.count_pending()
        if pending == 0:
            break
        await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    delivered = sum(emu.inbox_size(uid) for uid in who) - before
    [(job, count)] = report.queued.items()
    print(f"  {job}: {count} people queued in {queued_in:.2f} s (who is due + outbox), "
          f"{delivered} delivered {elapsed:.2f} s after the tick, "
          f"{app.sender.requests - requests_before} requests to VK "
          f"-> {delivered / elapsed:,.0f} messages/s")


async def answers_storage(app: App, people: list[int], count: int, minutes: float,
                          speedup: float) -> None:
    """Poisson arrivals at count / (minutes * 60) * speedup per second; each answer one write."""
    rate = count / (minutes * 60) * speedup
    rng = random.Random(48)
    latencies: list[float] = []
    tasks = []
    deps = app.deps

    async def answer(vk_id: int, due: float) -> None:
        async with deps.db.transaction() as tx:
            place = await tx.schedule.get_place(vk_id)
            await tx.surveys.upsert_answer(
                WEEK, vk_id, role="staff", org_id=place.org_id,
                municipality_id=place.municipality_id, now=unix(deps.clock),
                difficulties=rng.sample(["login", "ejd", "chats", "calls", "files"], 2),
                confidence=rng.randint(1, 5), messages=rng.choice(["0", "1-9", "10+"]),
                completed=True, question=None)
        latencies.append(time.perf_counter() - due)

    began = time.perf_counter()
    due = began
    for vk_id in people[:count]:
        due += rng.expovariate(rate)
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(answer(vk_id, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    async with deps.db.read() as tx:
        stored = await tx.surveys.count_answers(WEEK)
    print(f"  storage: {count} answers offered at {rate:,.0f}/s ({speedup:g}x the {count} in "
          f"{minutes:g} minutes = {count / minutes / 60:.0f}/s): {stored} stored in "
          f"{elapsed:.1f} s -> {count / elapsed:,.0f} answers/s; write latency from arrival "
          f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")


async def answers_service(app: App, people: list[int], concurrency: int) -> None:
    """Whole conversations through core.surveys, as the handlers call it (replies not sent)."""
    deps = app.deps
    steps: list[tuple[str, Any]] = [
        ("open", lambda c: surveys.open_survey(c, WEEK)),
        ("tick", lambda c: surveys.pick(c, "difficulties", "chats")),
        ("tick", lambda c: surveys.pick(c, "difficulties", "calls")),
        ("next", lambda c: surveys.next_step(c)),
        ("confidence", lambda c: surveys.pick(c, "confidence", "4")),
        ("messages", lambda c: surveys.pick(c, "messages", "10+")),
        ("skip", lambda c: surveys.skip(c)),
    ]
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for vk_id in people:
        queue.put_nowait(vk_id)

    async def one(vk_id: int) -> None:
        for n, (_, step) in enumerate(steps):
            started = time.perf_counter()
            async with deps.db.transaction() as tx:  # what the conversation middleware does
                person = await tx.users.upsert_seen(vk_id, unix(deps.clock))
            conv = Conversation(deps, person, Access(vk_id), Incoming(vk_id, "", f"b{vk_id}:{n}"))
            replies = await step(conv)
            assert replies and replies[0].text
            latencies.append(time.perf_counter() - started)

    async def worker() -> None:
        while not queue.empty():
            await one(queue.get_nowait())

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    async with deps.db.read() as tx:
        done = await tx.surveys.count_answers(WEEK)
    print(f"  service: {len(people)} people x {len(steps)} steps, {concurrency} at once: "
          f"{len(people) / elapsed:,.0f} complete answers/s ({len(latencies) / elapsed:,.0f} "
          f"steps/s); a step p50 {percentile(latencies, 0.5) * 1000:.1f} ms, "
          f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms; completed rows this week: {done}")


async def main(staff: int, answers: int, minutes: float, speedup: float, people: int,
               concurrency: int) -> None:
    emu = VKEmulator(group_id=1, token=TOKEN, rate_limit=EMULATOR_RPS, record_calls=False)
    await emu.start()
    folder = tempfile.TemporaryDirectory(prefix="sferum-bench-")
    settings = settings_from_dict({
        "vk": {"token": TOKEN, "group_id": 1, "api_url": emu.api_url},
        "storage": {"path": str(Path(folder.name) / "bot.sqlite3")},
        "region": {"name": "Область для замеров", "timezone": "Asia/Novosibirsk",
                   "municipalities": [{"name": "г. Новосибирск"}]},
        "sender": {"requests_per_second": SENDER_RPS},
        "schedule": {"enabled": False},  # the bench calls tick() itself
        "log": {"level": "WARNING"},
    }, "bench", environ={})
    app = build_bot(settings, clock=FixedClock(MONDAY_10))
    await app.start()  # storage, sender, services; no long poll (nobody writes here)
    began = time.perf_counter()
    admins, staff_ids = await seed(app, emu, staff)
    print(f"survey bench: {len(staff_ids)} staff in {len(admins)} schools seeded in "
          f"{time.perf_counter() - began:.1f} s; sender limited to {SENDER_RPS} requests/s, the "
          f"emulator enforces {EMULATOR_RPS}/s (rate limit on)")
    everyone = [*admins, *staff_ids]
    await run_tick(app, emu, MONDAY_10, everyone)   # reminders: 300 texts, one per school
    await run_tick(app, emu, FRIDAY_12, everyone)   # the survey: one text for everyone
    await answers_storage(app, staff_ids, min(answers, len(staff_ids)), minutes, speedup)
    async with app.deps.db.transaction() as tx:
        await tx.execute("DELETE FROM survey_answers")
    await answers_service(app, staff_ids[:people], concurrency)
    await app.stop()
    await emu.stop()
    folder.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--staff", type=int, default=30_000)
    parser.add_argument("--answers", type=int, default=30_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speedup", type=float, default=10.0)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.staff, args.answers, args.minutes, args.speedup, args.people,
                     args.concurrency))
