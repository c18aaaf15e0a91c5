"""One writer connection used exclusively, reader connections that never wait on it, and
ordered append-only migrations.

Writes: ``Database.transaction()`` takes an asyncio lock and runs ``BEGIN IMMEDIATE`` on the one
writer connection (datasette's ``execute_write_fn`` discipline), so concurrent handlers never
interleave inside a transaction and another process waits (``busy_timeout``) instead of failing
half way. Reads: ``Database.read()`` borrows a connection from a small pool of readers and wraps
the block in a deferred ``BEGIN ... COMMIT``: in WAL mode it sees one committed state of the
database (including every transaction that finished before it began) and never waits on the
writer's lock. Readers are ``query_only``: a write through ``read()`` fails loudly.

Re-entry, per task (a context variable records which task holds which connection):
- ``transaction()`` inside a transaction, or inside ``read()``, of the same task raises
  ``NestedTransactionError`` at once. The lock is not re-entrant, so waiting would be forever;
  and a write committed under an open read would leave that read on a stale snapshot.
- ``read()`` inside a transaction reads through the transaction's own connection, so it sees
  what the transaction wrote so far (a screen shown after a state change shows the new state,
  never the state before it) and takes no lock it could wait on.
- ``read()`` inside ``read()`` reuses the outer reader, so nesting cannot drain the pool.
A task created inside a block does not inherit the holding: it waits or borrows like any other.

``:memory:`` cannot be shared between connections without SQLite's shared cache, whose table
locks fail at once instead of letting readers see a snapshot; so it means a private temporary
file, removed on close, which behaves exactly like the production database.

Repositories hang off the ``Tx`` object and never commit on their own.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from storage.repositories import Repositories

log = logging.getLogger(__name__)

# Each connection's page cache, in KiB (SQLite's default is 2 000). The caches fill up as a
# region's reports scan its tables and a broadcast walks the outbox, and then stay full for
# the life of the process: with the default, the writer and two readers held about 7 MB of the
# bot's 150 MB (bench/scale.py, 300 000 people). The operating system's file cache stands
# behind it, so a smaller cache costs a copy, not a disk read: the reports and the broadcast
# at 300 000 people ran as fast with 256 KiB.
CACHE_PRAGMA = "PRAGMA cache_size=-256"
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    # deleted or overwritten personal data is zeroed in the file, not left in free space
    "PRAGMA secure_delete=ON",
    CACHE_PRAGMA,
)
# journal_mode is a property of the file (set by the writer); the rest is per connection.
READER_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA query_only=ON",
    CACHE_PRAGMA,
)
READERS = 2


class NestedTransactionError(RuntimeError):
    """A transaction was opened where the same task already holds one (or an open read)."""


class Tx(Repositories):
    """A transaction (or a read) with the repositories bound to it."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._bind_repositories()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        return await self.conn.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    # Reads are one trip to the connection's thread, not three (execute, fetch, close): each
    # trip is a wake-up of that thread and of the event loop, and a newcomer's first message
    # made 22 of them (0.04 ms of the loop's time each). Every fetchone() here asks by a key.
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.conn.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def fetchall_tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows as plain tuples, not ``Row`` objects: for the outbox's pages of 10 000 rows,
        read per recipient, where building a Row and copying it into a tuple was a third of
        the read."""
        async with self.conn.execute(sql, params) as cur:
            cur.row_factory = None
            return list(await cur.fetchall())

    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


@dataclass(frozen=True)
class _Held:
    """What the current task holds: the connection's Tx and whether it may write."""

    db: "Database"
    task: asyncio.Task[Any] | None
    kind: Literal["write", "read"]
    tx: Tx


_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar("storage_held", default=None)


class Database:
    def __init__(self, path: Path | str, readers: int = READERS) -> None:
        self.path = Path(path) if str(path) != ":memory:" else path
        self._readers_wanted = max(1, readers)
        self._conn: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] | None = None
        self._all_readers: list[aiosqlite.Connection] = []
        self._tempdir: str | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> "Database":
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            file = str(self.path)
        else:
            self._tempdir = tempfile.mkdtemp(prefix="sferum-db-")
            file = str(Path(self._tempdir) / "memory.sqlite3")
        self._conn = await aiosqlite.connect(file, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        for pragma in PRAGMAS:
            await self._conn.execute(pragma)
        await migrate(self._conn)
        self._readers = asyncio.Queue()
        for _ in range(self._readers_wanted):
            reader = await aiosqlite.connect(file, isolation_level=None)
            reader.row_factory = aiosqlite.Row
            for pragma in READER_PRAGMAS:
                await reader.execute(pragma)
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        return self

    async def close(self) -> None:
        for reader in self._all_readers:
            await reader.close()
        self._all_readers = []
        self._readers = None
        if self._conn is not None:
            await self._conn.close()  # the last connection: SQLite checkpoints the WAL
            self._conn = None
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def _writer(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    def _holding(self) -> _Held | None:
        """What this task already holds in this database (a child task holds nothing)."""
        held = _held.get()
        if held is None or held.db is not self or held.task is not asyncio.current_task():
            return None
        return held

    @asynccontextmanager
    async def _writing(self, what: str) -> AsyncIterator[Tx]:
        """The writer's connection, held by this task until the block ends (``what`` names the
        caller in the error): never inside this task's own block, never inside another task's."""
        held = self._holding()
        if held is not None:
            where = "another transaction" if held.kind == "write" else "db.read()"
            raise NestedTransactionError(
                f"db.{what}() opened inside {where} of the same task: it would wait "
                "forever on itself. Finish the outer block first, or pass its tx down.")
        conn = self._writer()
        async with self._lock:
            tx = Tx(conn)
            token = _held.set(_Held(self, asyncio.current_task(), "write", tx))
            try:
                yield tx
            finally:
                _held.reset(token)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._writing("transaction") as tx:
            await tx.conn.execute("BEGIN IMMEDIATE")
            try:
                yield tx
            except BaseException:
                await tx.conn.execute("ROLLBACK")
                raise
            else:
                await tx.conn.execute("COMMIT")

    @asynccontextmanager
    async def statement(self) -> AsyncIterator[Tx]:
        """A block of ONE write statement, which SQLite commits as its own transaction: one trip
        to the writer's thread instead of three (BEGIN, the statement, COMMIT). For the writes
        every incoming message makes (claiming its event id, a newcomer's state). A second
        statement in the block would be a second transaction: use ``transaction()`` for that."""
        async with self._writing("statement") as tx:
            yield tx

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file and empty it (after an erasure: old page
        images holding the person's data are in the WAL until then). Readers in the middle of
        a read delay it up to busy_timeout; idle readers hold nothing."""
        if self._holding() is not None:
            raise NestedTransactionError("db.checkpoint() inside a transaction or a read")
        async with self._lock:
            await self._writer().execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        held = self._holding()
        if held is not None:  # the transaction's own connection, or the outer read's reader
            yield held.tx
            return
        if self._readers is None:
            raise RuntimeError("database is not open")
        conn = await self._readers.get()
        try:
            await conn.execute("BEGIN")
            tx = Tx(conn)
            token = _held.set(_Held(self, asyncio.current_task(), "read", tx))
            try:
                yield tx
            finally:
                _held.reset(token)
                await conn.execute("COMMIT")
        finally:
            self._readers.put_nowait(conn)


def migration_files() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration, in order; names are NNNN_description.sql."""
    folder = resources.files("storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number = int(name.split("_", 1)[0])
        found.append((number, name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, found {numbers}")
    return found


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply the migrations not yet recorded in schema_migrations, each in its own transaction."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
    )
    async with conn.execute("SELECT number FROM schema_migrations") as cur:
        done = {row[0] for row in await cur.fetchall()}
    applied = []
    for number, name, sql in migration_files():
        if number in done:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (number, name) VALUES (?, ?)", (number, name)
            )
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        applied.append(name)
        log.info("applied migration %s", name)
    return applied


def _statements(sql: str) -> list[str]:
    # Migrations hold plain DDL/DML: no "--" or ";" inside string literals, no triggers.
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [part.strip() for part in code.split(";") if part.strip()]
