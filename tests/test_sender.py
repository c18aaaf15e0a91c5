"""The delivery engine against the VK API emulator (which enforces VK's limits and failures)."""

from __future__ import annotations

import asyncio
import bisect
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import SenderSettings
from bot.vk.api import VkApi
from bot.vk.sender import Contact, VkSender, choose_intent, split_text
from bot.vkemu import VKEmulator
from core.kernel.clock import SystemClock, unix
from core.kernel.outgoing import Multicast, Outgoing, random_id_for
from core.kernel.ui import Button, Keyboard, Reply
from storage import Database
from tests.conftest import TOKEN, BotProcess, base_config

clock = SystemClock()


async def make_people(db: Database, emu: VKEmulator, ids: range | list[int], *,
                      last_inbound: int | None = None, newsletter: bool = False) -> None:
    now = unix(clock)
    async with db.transaction() as tx:
        for uid in ids:
            await tx.users.upsert_seen(uid, now if last_inbound is None else last_inbound)
            if newsletter:
                await tx.users.update_flags(uid, newsletter_ok=True)
    for uid in ids:
        emu.add_user(uid, allows_messages=True)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "bot.sqlite3").open()
    yield database
    await database.close()


def build_sender(emu: VKEmulator, db: Database, **settings: object) -> VkSender:
    api = VkApi(emu.api_url, TOKEN, "5.199")
    return VkSender(api, SenderSettings(**settings), db, clock)


@pytest.fixture
async def sender(emulator: VKEmulator, db: Database) -> AsyncIterator[VkSender]:
    s = build_sender(emulator, db)
    await s.start()
    yield s
    await s.stop()
    await s.api.close()


async def wait_job_done(db: Database, job: str, timeout: float = 60.0) -> None:
    async def done() -> bool:
        async with db.read() as tx:
            return (await tx.outbox.get_job_counts(job)).pending == 0

    deadline = asyncio.get_running_loop().time() + timeout
    while not await done():
        assert asyncio.get_running_loop().time() < deadline, f"job {job} not finished"
        await asyncio.sleep(0.05)


def delivered_counts(emu: VKEmulator, ids: range | list[int]) -> Counter[int]:
    return Counter({uid: len(emu.inbox(uid)) for uid in ids})


def no_rate_errors(emu: VKEmulator) -> bool:
    return not [c for c in emu.calls if c.error_code == 6]


async def test_2000_recipients_of_one_broadcast_each_get_it_once(
        emulator: VKEmulator, db: Database, sender: VkSender) -> None:
    people = range(10_000, 12_000)
    await make_people(db, emulator, people)
    reply = Reply("Уважаемые коллеги! Напоминаем о вебинаре.", template="test.broadcast")
    added = await sender.enqueue_bulk("broadcast:1", [
        Outgoing(uid, reply, "broadcast", "broadcast:1") for uid in people])
    assert added == 2000
    await wait_job_done(db, "broadcast:1")
    assert set(delivered_counts(emulator, people).values()) == {1}
    assert no_rate_errors(emulator)
    # 2000 identical texts: peer_ids of 100 inside one execute of 20 calls
    assert sender.requests <= 2
    async with db.read() as tx:
        counts = await tx.outbox.get_job_counts("broadcast:1")
    assert counts.delivered == 2000


async def test_a_streamed_job_is_sent_while_it_is_read_and_its_text_is_stored_once(
        emulator: VKEmulator, db: Database, sender: VkSender) -> None:
    """One text to 12 000 people handed over in pages: the first page is delivered before the
    producer reads the next one, the text is stored once, every recipient gets it once."""
    people = list(range(100_000, 112_000))
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO users (vk_id, last_inbound_at, created_at, updated_at)"
            " VALUES (?, ?, 0, 0)", [(uid, unix(clock)) for uid in people])
    for uid in people:
        emulator.add_user(uid, allows_messages=True)
    reply = Reply("Вебинар о чатах — в четверг в 15:00.", template="test.broadcast")
    pages_read = []

    async def pages() -> AsyncIterator[Multicast]:
        for start in range(0, len(people), 3000):
            if start:  # the sender is already at work on what was queued
                assert await emulator.wait_until(
                    lambda: sum(1 for uid in people[:start] if emulator.inbox(uid)) > 0, 10)
            pages_read.append(start)
            yield Multicast(people[start:start + 3000], reply, "broadcast", "broadcast:5")
            async with db.read() as tx:
                assert not (await tx.outbox.get_job_counts("broadcast:5")).complete

    assert await sender.enqueue_bulk("broadcast:5", pages()) == len(people)
    await wait_job_done(db, "broadcast:5")
    assert pages_read == [0, 3000, 6000, 9000]
    assert set(delivered_counts(emulator, people).values()) == {1}
    async with db.read() as tx:
        counts = await tx.outbox.get_job_counts("broadcast:5")
        texts = await tx.scalar("SELECT COUNT(*) FROM outbox_texts t JOIN outbox_jobs j"
                                " ON j.id = t.job_id WHERE j.name = 'broadcast:5'")
        rows = await tx.scalar("SELECT COUNT(*) FROM outbox o JOIN outbox_jobs j"
                               " ON j.id = o.job_id WHERE j.name = 'broadcast:5'")
    assert counts.complete and counts.delivered == len(people) and counts.pending == 0
    assert (texts, rows) == (1, len(people))
    assert no_rate_errors(emulator)


async def test_enqueueing_the_same_job_twice_adds_nothing(emulator: VKEmulator, db: Database,
                                                        sender: VkSender) -> None:
    people = range(20_000, 20_050)
    await make_people(db, emulator, people)
    messages = [Outgoing(uid, Reply("Текст"), "broadcast", "broadcast:2") for uid in people]
    assert await sender.enqueue_bulk("broadcast:2", messages) == 50
    assert await sender.enqueue_bulk("broadcast:2", messages) == 0
    await wait_job_done(db, "broadcast:2")
    assert set(delivered_counts(emulator, people).values()) == {1}


async def test_personal_texts_go_25_to_an_execute(emulator: VKEmulator, db: Database,
                                                 sender: VkSender) -> None:
    people = list(range(30_000, 30_500))
    await make_people(db, emulator, people)
    await sender.enqueue_bulk("survey:W48", [
        Outgoing(uid, Reply(f"Здравствуйте, коллега №{uid}!"), "survey", f"survey:W48:{uid}")
        for uid in people])
    await wait_job_done(db, "survey:W48")
    for uid in people:
        [message] = emulator.inbox(uid)
        assert message.text == f"Здравствуйте, коллега №{uid}!"
    assert sender.requests <= 500 // 25 + 2
    assert no_rate_errors(emulator)


async def test_a_long_burst_never_exceeds_20_requests_in_any_second_as_vk_counts(
        emulator: VKEmulator, db: Database) -> None:
    """70 requests of one message each (3.5 s at the limit): the emulator's own count of the
    busiest second (it counts a request when it arrives) stays at the limit, none is refused,
    and the arrival times it recorded agree."""
    people = list(range(35_000, 35_070))
    await make_people(db, emulator, people)
    one_by_one = build_sender(emulator, db, execute_batch=1, peer_ids_batch=1)
    await one_by_one.start()
    try:
        await one_by_one.enqueue_bulk("burst:1", [
            Outgoing(uid, Reply(f"Сообщение для №{uid}"), "broadcast", f"burst:1:{uid}")
            for uid in people])
        await wait_job_done(db, "burst:1")
    finally:
        await one_by_one.stop()
        await one_by_one.api.close()
    sends = sorted(c.arrived for c in emulator.calls
                   if c.method == "messages.send" and not c.via_execute)
    assert len(sends) == 70
    assert no_rate_errors(emulator)
    assert emulator.rate_peak <= 20
    busiest = max(bisect.bisect_left(sends, t + 1.0) - n for n, t in enumerate(sends))
    assert busiest <= 20
    assert set(delivered_counts(emulator, people).values()) == {1}


async def test_simultaneous_replies_share_requests(emulator: VKEmulator, db: Database,
                                                   sender: VkSender) -> None:
    people = list(range(40_000, 40_100))
    await make_people(db, emulator, people)
    results = await asyncio.gather(*(
        sender.send([Outgoing(uid, Reply("Ответ"), "reply", f"reply:{uid}")]) for uid in people))
    assert all(r[0].status == "delivered" for r in results)
    assert sender.requests < 20  # 100 replies in a handful of execute requests
    assert no_rate_errors(emulator)


async def test_burst_of_errors_loses_and_repeats_nothing(emulator: VKEmulator, db: Database,
                                                        sender: VkSender) -> None:
    people = list(range(50_000, 50_300))
    blocked = people[:5]
    await make_people(db, emulator, people)
    emulator.inject_error("execute", 6, count=2)
    emulator.inject_error("execute", 10, count=2)
    emulator.inject_error("messages.send", 9, count=2)
    emulator.inject_error("messages.send", 10, count=3)
    for uid in blocked:
        emulator.inject_error("messages.send", 901, count=1, peer_id=uid)
    await sender.enqueue_bulk("broadcast:3", [
        Outgoing(uid, Reply(f"Персонально для {uid}"), "broadcast", f"broadcast:3:{uid}")
        for uid in people])
    await wait_job_done(db, "broadcast:3")
    counts = delivered_counts(emulator, people)
    assert all(counts[uid] == 0 for uid in blocked)
    assert all(counts[uid] == 1 for uid in people[5:])
    async with db.read() as tx:
        job = await tx.outbox.get_job_counts("broadcast:3")
        marked = await tx.users.list_users(blocked)
    assert (job.delivered, job.not_allowed, job.failed) == (295, 5, 0)
    assert not any(p.reachable for p in marked)


async def test_lost_response_is_retried_without_a_duplicate(emulator: VKEmulator, db: Database,
                                                            sender: VkSender) -> None:
    await make_people(db, emulator, [60_000])
    # VK delivered the message but the answer was a 502 page: the retry carries the same random_id.
    emulator.inject_http_failure("messages.send", status=502, after_processing=True)
    [delivery] = await sender.send([Outgoing(60_000, Reply("Один раз"), "reply", "reply:x")])
    assert delivery.status == "delivered"
    assert len(emulator.inbox(60_000)) == 1


async def test_24_hour_rule_and_newsletter_subscription(emulator: VKEmulator, db: Database,
                                                        sender: VkSender) -> None:
    two_days_ago = unix(clock) - 2 * 24 * 3600
    await make_people(db, emulator, [70_001], last_inbound=two_days_ago)
    await make_people(db, emulator, [70_002], last_inbound=two_days_ago, newsletter=True)
    emulator.advance_clock(2 * 24 * 3600)  # VK's view: both wrote two days ago
    emulator.subscribe(70_002)
    deliveries = await sender.send([
        Outgoing(70_001, Reply("Напоминание"), "reminder", "reminder:1"),
        Outgoing(70_002, Reply("Напоминание"), "reminder", "reminder:1"),
    ])
    assert [d.status for d in deliveries] == ["not_allowed", "delivered"]
    assert emulator.inbox(70_002)[0].intent == "non_promo_newsletter"
    assert emulator.inbox(70_001) == []


def test_intent_choice() -> None:
    now = 1_000_000
    fresh = Contact(now - 3600, False, True)
    old = Contact(now - 3 * 24 * 3600, False, True)
    subscribed = Contact(now - 3 * 24 * 3600, True, True)
    assert choose_intent("reply", old, now) == (True, None)
    assert choose_intent("broadcast", fresh, now) == (True, None)
    assert choose_intent("notice", old, now) == (True, "customer_support")
    assert choose_intent("broadcast", old, now) == (False, None)
    assert choose_intent("survey", subscribed, now) == (True, "non_promo_newsletter")
    assert choose_intent("broadcast", Contact(now, True, False), now) == (False, None)


async def test_invalid_keyboard_never_reaches_vk(emulator: VKEmulator, db: Database,
                                                 sender: VkSender) -> None:
    await make_people(db, emulator, [80_000])
    too_tall = Keyboard.of(*[[Button(f"Кнопка {n}", {"cmd": "menu"})] for n in range(7)], inline=True)
    [delivery] = await sender.send([Outgoing(80_000, Reply("x", too_tall, template="t.bad"),
                                             "reply", "reply:kb")])
    assert delivery.status == "failed" and "keyboard" in (delivery.error or "")
    assert not [c for c in emulator.calls if c.error_code == 911]
    assert emulator.inbox(80_000) == []


async def test_long_text_is_split_and_arrives_in_order(emulator: VKEmulator, db: Database,
                                                       sender: VkSender) -> None:
    await make_people(db, emulator, [80_001])
    text = "\n\n".join(f"Абзац {n}. " + "слово " * 120 for n in range(12))
    assert len(text) > 4096
    await sender.send([Outgoing(80_001, Reply(text, Keyboard.of([Button("Меню", {"cmd": "menu"})])),
                                "reply", "reply:long")])
    parts = emulator.inbox(80_001)
    assert len(parts) == len(split_text(text)) >= 2
    assert all(len(p.text) <= 4096 for p in parts)
    assert parts[0].text.startswith("Абзац 0.") and parts[-1].keyboard is not None


async def test_messages_to_one_person_keep_their_order(emulator: VKEmulator, db: Database,
                                                       sender: VkSender) -> None:
    await make_people(db, emulator, [80_002])
    await asyncio.gather(*(sender.send([Outgoing(80_002, Reply(f"№{n}"), "reply", f"r:{n}")])
                           for n in range(8)))
    assert [m.text for m in emulator.inbox(80_002)] == [f"№{n}" for n in range(8)]


def test_random_id_is_stable_and_positive() -> None:
    assert random_id_for("broadcast:1") == random_id_for("broadcast:1")
    assert random_id_for("broadcast:1") != random_id_for("broadcast:2")
    assert all(0 < random_id_for(f"k{n}") < 2**31 for n in range(1000))


async def test_crash_in_the_middle_of_a_broadcast_resumes_without_duplicates(
        emulator: VKEmulator, tmp_path: Path) -> None:
    """The real bot process is killed (SIGKILL) halfway through 2 000 personalised messages."""
    people = list(range(90_000, 92_000))
    db_path = tmp_path / "data" / "bot.sqlite3"
    database = await Database(db_path).open()
    await make_people(database, emulator, people)
    staging = build_sender(emulator, database)  # only to queue the job, never started
    await staging.enqueue_bulk("broadcast:crash", [
        Outgoing(uid, Reply(f"Здравствуйте, {uid}! Вебинар в четверг."), "broadcast",
                 f"broadcast:crash:{uid}") for uid in people])
    await staging.api.close()
    await database.close()

    bot = BotProcess(emulator, tmp_path, base_config(emulator.api_url, db_path))
    await bot.start()
    assert await emulator.wait_until(
        lambda: sum(1 for uid in people if emulator.inbox(uid)) >= 400, 30)
    await bot.kill()
    delivered_before_crash = sum(1 for uid in people if emulator.inbox(uid))
    assert delivered_before_crash < len(people), "the crash came too late to prove anything"

    await bot.start()
    assert await emulator.wait_until(lambda: all(emulator.inbox(uid) for uid in people), 60)
    await bot.stop()
    assert set(delivered_counts(emulator, people).values()) == {1}
    # (Error 6 may appear here: the killed process's requests still fill VK's last second when
    # the new one starts; the sender slows down and retries them, which the counts above prove.)
    with sqlite3.connect(db_path) as conn:
        statuses = dict(conn.execute(
            "SELECT status, COUNT(*) FROM outbox WHERE job_id ="
            " (SELECT id FROM outbox_jobs WHERE name = 'broadcast:crash') GROUP BY status"))
    assert statuses == {"delivered": 2000}


async def test_a_stuck_request_does_not_hold_shutdown(emulator: VKEmulator, db: Database,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that never returns (a hung connection) is cancelled after the shutdown grace;
    the reply waiting for it is told «failed», and stop() returns."""
    import bot.vk.sender as sender_module

    monkeypatch.setattr(sender_module, "STOP_GRACE", 0.2)
    s = build_sender(emulator, db)
    forever = asyncio.Event()

    async def hung(calls):  # type: ignore[no-untyped-def]
        await forever.wait()

    monkeypatch.setattr(s, "_post", hung)
    await s.start()
    emulator.add_user(40_001, allows_messages=True)
    waiting = asyncio.create_task(
        s.send([Outgoing(40_001, Reply("Ответ"), "reply", "reply:40001:1")]))
    assert await wait_for(lambda: bool(s._tasks))
    await asyncio.wait_for(s.stop(), 5)
    [delivery] = await asyncio.wait_for(waiting, 5)
    assert delivery.status == "failed"
    await s.api.close()


async def wait_for(predicate, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_a_chunk_queued_while_the_outbox_is_read_is_not_lost(
        emulator: VKEmulator, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender reads the outbox and finds nothing; a chunk is committed right after that read
    began. «Nothing pending» is stale then: the sender must not sleep on it (a lost wake-up
    that left a made-up survey unsent under load)."""
    from storage.outbox import OutboxRepo

    s = build_sender(emulator, db)
    await make_people(db, emulator, [50_001])
    real = OutboxRepo.list_pending
    raced = []

    async def read_then_race(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        rows = await real(self, *args, **kwargs)
        if not raced:  # the chunk commits after this read's snapshot was taken
            raced.append(await asyncio.create_task(s.enqueue_bulk("broadcast:race", [
                Outgoing(50_001, Reply("Собрание в четверг."), "broadcast", "broadcast:race")])))
        return rows

    monkeypatch.setattr(OutboxRepo, "list_pending", read_then_race)
    await s._refill_bulk()
    assert raced == [1] and not s._bulk_exhausted
    monkeypatch.setattr(OutboxRepo, "list_pending", real)
    await s.start()
    try:
        assert await emulator.wait_until(lambda: len(emulator.inbox(50_001)) == 1, 5)
    finally:
        await s.stop()
        await s.api.close()
