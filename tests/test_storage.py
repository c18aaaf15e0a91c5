"""The storage discipline: one writer, readers that never wait on it, nested transactions that
fail at once; and the whole-bot freeze it caused (a read inside a transaction)."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.launch import limit_arenas
from bot.vkemu import EmulatedUser
from storage import Database, NestedTransactionError
from tests.conftest import COORDINATOR, BotProcess
from tests.dsl import become


WAIT = 15.0  # seconds: generous on a busy machine, yet a freeze fails instead of hanging


async def said(user: EmulatedUser) -> str:
    return (await user.next_reply(WAIT)).text


async def said_until(user: EmulatedUser, button: str) -> None:
    """Replies until one offers this button (a screen may come in several messages)."""
    while button not in (await user.next_reply(WAIT)).buttons:
        pass


async def test_answer_to_an_erased_question_from_the_broadcast_dialog(bot: BotProcess,
                                                                        users) -> None:
    """A coordinator in the middle of a broadcast draft answers a question whose asker has
    erased their data: the coordinator is told so and is back in the draft, and the bot goes
    on answering everyone (it used to wait forever on its own database lock)."""
    coordinator = users(COORDINATOR)
    assert "Готово" in await become(coordinator, "Координатор")
    await coordinator.send("рассылка")
    assert "Кому отправить?" in await said(coordinator)

    parent = users(2101)
    assert "Готово" in await become(parent, "Родитель")
    await parent.send("когда в нашей школе выдадут новые ноутбуки")
    await said(parent)
    await parent.press("Спросить координатора")
    assert "Передал Ваш вопрос координатору" in await said(parent)
    assert "новые ноутбуки" in await said(coordinator)
    await coordinator.press("Ответить")
    assert "Напишите ответ" in await said(coordinator)

    await parent.press("Мои данные")
    await said_until(parent, "Отозвать согласие и удалить")
    await parent.press("Отозвать согласие и удалить")
    await said_until(parent, "Да, удалить мои данные")
    await parent.press("Да, удалить мои данные")
    assert "согласие отозвано" in await said(parent)

    await coordinator.send("Ноутбуки распределяет муниципалитет.")
    told = await said(coordinator)
    assert "удалил свои данные" in told
    assert "Кому отправить?" in told  # the draft's screen, where the coordinator was

    # everyone else is still answered
    teacher = users(2102)
    await teacher.send("Начать")
    assert "Кто Вы?" in await said(teacher)

    # and the bot stops at once when asked to
    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGTERM)
    await asyncio.wait_for(bot.proc.wait(), 10)


# -- the database layer on its own ----------------------------------------------------------
@pytest.fixture(params=["file", "memory"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "bot.sqlite3" if request.param == "file"
                              else ":memory:").open()
    yield database
    await database.close()


async def add_user(db: Database, vk_id: int) -> None:
    async with db.transaction() as tx:
        await tx.users.upsert_seen(vk_id, 1)


async def test_a_nested_transaction_fails_at_once_and_the_outer_one_still_works(
        db: Database) -> None:
    async with db.transaction() as tx:
        await tx.users.upsert_seen(1, 1)
        with pytest.raises(NestedTransactionError, match="inside another transaction"):
            async with db.transaction():
                pass
    async with db.read() as tx:
        assert await tx.users.get_user(1) is not None  # the outer one committed
    with pytest.raises(NestedTransactionError, match="inside db.read"):
        async with db.read():
            async with db.transaction():
                pass
    await add_user(db, 2)  # the writer is free again


async def test_a_single_statement_commits_on_its_own_and_waits_for_an_open_transaction(
        db: Database) -> None:
    await add_user(db, 5)
    async with db.statement() as tx:
        assert await tx.events.claim_event("e-1", 1)
    async with db.statement() as tx:
        assert not await tx.events.claim_event("e-1", 2)  # committed: a replay is refused
    # Another task's statement waits for an open transaction instead of joining it: the
    # rolled-back transaction takes none of the statement's write with it.
    started = asyncio.Event()

    async def claim() -> bool:
        started.set()
        async with db.statement() as tx:
            return await tx.events.claim_event("e-2", 3)

    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.users.update_state(5, "x", {}, 2)
            task = asyncio.create_task(claim())
            await started.wait()
            await asyncio.sleep(0.05)
            assert not task.done()  # it waits for the transaction
            raise RuntimeError("rolled back")
    assert await task
    async with db.read() as tx:
        assert (await tx.users.get_user(5)).state != "x"  # type: ignore[union-attr]
    async with db.statement() as tx:
        assert not await tx.events.claim_event("e-2", 4)
    async with db.transaction():
        with pytest.raises(NestedTransactionError, match="inside another transaction"):
            async with db.statement():
                pass


async def test_a_read_inside_a_transaction_sees_its_writes(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.users.upsert_seen(3, 1)
        async with db.read() as inner:
            assert inner is tx
            assert await inner.users.get_user(3) is not None
        async with db.read() as inner:  # still usable, and still the same transaction
            assert await inner.users.count_users() == 1


async def test_reads_never_wait_on_the_writer(db: Database) -> None:
    await add_user(db, 4)
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> None:
        async with db.transaction() as tx:
            await tx.users.upsert_seen(5, 1)
            inside.set()
            await release.wait()

    writer = asyncio.create_task(slow_writer())
    await inside.wait()

    async def read_ids() -> set[int]:
        async with db.read() as tx:
            return {p.vk_id for p in await tx.users.list_users([4, 5])}

    # the committed state, at once, while the transaction is open
    assert await asyncio.wait_for(read_ids(), 5) == {4}
    release.set()
    await writer
    assert await read_ids() == {4, 5}  # a read after the commit sees it


async def test_a_read_sees_one_state_of_the_database(db: Database) -> None:
    await add_user(db, 6)
    async with db.read() as tx:
        before = await tx.users.count_users()
        await asyncio.create_task(add_user(db, 7))  # another task writes meanwhile
        assert await tx.users.count_users() == before
        async with db.read() as nested:
            assert nested is tx  # nesting reuses the reader: the pool never runs dry
    async with db.read() as tx:
        assert await tx.users.count_users() == before + 1


async def test_reads_cannot_write_and_every_connection_checks_foreign_keys(db: Database) -> None:
    async with db.read() as tx:
        assert await tx.scalar("PRAGMA foreign_keys") == 1
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await tx.users.upsert_seen(8, 1)
    async with db.transaction() as tx:
        assert await tx.scalar("PRAGMA foreign_keys") == 1


async def test_every_connection_keeps_a_small_page_cache(db: Database) -> None:
    """The page caches stay full for the life of the process: SQLite's default on the writer
    and each reader kept about 7 MB of the bot's 150 MB budget (bench/scale.py)."""
    async def cache() -> int:
        async with db.read() as tx:
            size = await tx.scalar("PRAGMA cache_size")
            await asyncio.sleep(0.05)  # held, so the next read borrows the other reader
            return size

    assert await asyncio.gather(cache(), cache()) == [-256, -256]
    async with db.transaction() as tx:
        assert await tx.scalar("PRAGMA cache_size") == -256


def test_the_allocator_is_limited_to_two_arenas_unless_the_operator_says_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Set in-process by the entry point (``sferum-bot run``, the Docker image's command), so
    it holds wherever the bot is started; MALLOC_ARENA_MAX from the environment wins."""
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    glibc = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    assert limit_arenas() is glibc


async def test_many_concurrent_reads_and_writes(db: Database) -> None:
    async def one(i: int) -> int:
        await add_user(db, 100 + i)
        async with db.read() as tx:
            return await tx.users.count_users()

    counts = await asyncio.gather(*(one(i) for i in range(20)))
    assert max(counts) == 20 and min(counts) >= 1
