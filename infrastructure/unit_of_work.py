"""One database transaction shared by the event store and the read models."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.chain import GENESIS_HASH
from domain.errors import StorageUnavailable
from domain.events import LogHead, RecordedEvent
from domain.log_guard import WriteGuard
from domain.ports import Clock
from infrastructure import sqlite_rows
from infrastructure.database import BEGUN_BY_CALLER, WRITE_OPTION, cause
from infrastructure.event_store import SqlEventStore
from infrastructure.read_models import SqlDecisions, SqlNotes, SqlTodos, SqlTracks
from infrastructure.repositories import SqlIdempotencyRecords

log = logging.getLogger("helionyx.storage")

# Any constant will do, as long as every writer uses the same one. A transaction-scoped
# advisory lock is released by COMMIT or ROLLBACK, so it cannot leak; unlike a table
# lock it leaves readers (and the trigger-protected table) alone.
# https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
EVENT_LOG_LOCK_KEY = 0x48454C494F4E5958 & 0x7FFFFFFFFFFFFFFF

# The chain head, as SqlEventStore.head reads it on SQLite.
HEAD_QUERY = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"

# Told, after each commit, which events that transaction appended (the metrics count them).
OnAppended = Callable[[Sequence[RecordedEvent]], None]


# What a database driver raises when the database, not the request, is at fault.
# SQLAlchemy wraps the driver's errors (DBAPIError); the SQLite fast paths call sqlite3
# directly; a socket can fail on its own.
_DRIVER_ERRORS = (DBAPIError, sqlite3.Error, OSError)


class WriteHealth:
    """Whether the last commit went through, and if not, why (a full disk, a database
    gone): readiness reports it until a commit succeeds, and the log names the cause."""

    def __init__(self) -> None:
        self.failure: str | None = None

    def failed(self, error: BaseException) -> None:
        why = cause(error)
        if why != self.failure:
            log.error("writes are failing: %s", why)
        self.failure = why

    def succeeded(self) -> None:
        if self.failure is not None:
            log.info("writes succeed again (after: %s)", self.failure)
            self.failure = None


# How long a writer waits for the other writers of this process: as long as SQLite's busy
# timeout (infrastructure/database.py) lets it wait for another process.
WRITER_WAIT_S = 30.0


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, clock: Clock, *, write: bool,
                 on_appended: OnAppended | None = None,
                 writers: asyncio.Lock | None = None, guard: WriteGuard | None = None,
                 health: WriteHealth | None = None) -> None:
        self._engine = engine
        self._health = health or WriteHealth()
        self._guard = guard if write else None
        self._clock = clock
        self._write = write
        self._on_appended = on_appended
        self._writers = writers if write else None
        self._holding = False
        self._conn: AsyncConnection | None = None
        self._driver: Any = None  # SQLite: the aiosqlite connection under `_conn`
        self._pending: sqlite_rows.PendingRows | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        head: LogHead | None = None
        if self._guard is not None:
            self._guard.check()
        if self._writers is not None:
            try:
                if self._writers.locked():
                    await asyncio.wait_for(self._writers.acquire(), WRITER_WAIT_S)
                else:  # free: taken at once, without wait_for's task and loop turn
                    await self._writers.acquire()
            except TimeoutError:
                raise StorageUnavailable(
                    f"another write has held the database for over {WRITER_WAIT_S:.0f} s"
                ) from None
            self._holding = True
        try:
            self._conn = await self._engine.connect()
            if self._engine.dialect.name == "sqlite":
                head = await self._begin_sqlite()
            else:
                if self._write:
                    await self._conn.execution_options(**{WRITE_OPTION: True})
                await self._conn.begin()
                if self._write:
                    await self._conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK_KEY}
                    )
        except (OperationalError, DBAPIError, OSError, sqlite3.Error) as e:
            await self._close()
            raise StorageUnavailable("the database is not answering") from e
        except BaseException:  # cancelled while connecting: still give the lock back
            await self._close()
            raise
        # SQLite writers hold their log and idempotency rows until a read or the commit.
        pending = (sqlite_rows.PendingRows(self._driver)
                   if self._write and self._driver is not None else None)
        self._pending = pending
        self.events = SqlEventStore(self._conn, self._clock, pending)
        if head is not None:
            # Read under the write lock a moment ago, in this transaction: what the
            # store's first append would read again, one more trip later.
            self.events._head = head
        self.idempotency = SqlIdempotencyRecords(self._conn, pending)
        self.todos = SqlTodos(self._conn)
        self.notes = SqlNotes(self._conn)
        self.tracks = SqlTracks(self._conn)
        self.decisions = SqlDecisions(self._conn)
        return self

    async def _begin_sqlite(self) -> LogHead | None:
        """BEGIN straight on the driver: each trip to aiosqlite's thread waits for the
        event loop to come round, behind whatever the HTTP side has queued. A writer's
        BEGIN IMMEDIATE takes the write lock before the head is read, and both happen in
        one trip; the head is returned. SQLAlchemy's own transaction is not begun here:
        it begins (emitting nothing, BEGUN_BY_CALLER) only if a statement goes through
        it, and `commit` ends whichever of the two holds the transaction."""
        assert self._conn is not None
        await self._conn.execution_options(**{BEGUN_BY_CALLER: True})
        self._driver = await sqlite_rows.driver_of(self._conn)
        if not self._write:
            await self._driver.execute_fetchall("BEGIN")
            return None
        # aiosqlite's own way of running a function in its thread (every public call
        # goes through it); with no public one for two statements, it is used as is.
        rows = await self._driver._execute(_begin_writing, self._driver._conn)
        return LogHead(rows[0][0], rows[0][1]) if rows else LogHead(0, GENESIS_HASH)

    async def commit(self) -> None:
        assert self._conn is not None, "commit outside the unit of work"
        try:
            if self._conn.in_transaction() or self._driver is None:
                if self._pending is not None:
                    await self._pending.write()
                await self._conn.commit()
            elif self._pending is not None:
                await self._pending.write_and_commit()  # one trip
            else:
                await self._driver.commit()
        except (OperationalError, DBAPIError, sqlite3.Error) as e:
            self._health.failed(e)
            raise StorageUnavailable(f"the database did not commit ({cause(e)})") from e
        except StorageUnavailable as e:  # the held rows were refused (PendingRows)
            self._health.failed(e.__cause__ or e)
            raise
        self._health.succeeded()
        committed, self.events.appended = self.events.appended, []
        if committed and self._on_appended is not None:
            self._on_appended(committed)

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: object) -> None:
        try:
            await self._close()
        except _DRIVER_ERRORS:
            if exc is None:  # nothing else went wrong: a failed rollback lost nothing
                raise StorageUnavailable("the database did not end the transaction") from None
        if isinstance(exc, _DRIVER_ERRORS):
            if self._write:
                self._health.failed(exc)
            # Inside the transaction the driver failed (a dropped connection, a server
            # gone): nothing was committed; the caller answers 503, never 500.
            raise StorageUnavailable("the database failed during the transaction") from exc

    async def _close(self) -> None:
        if self._conn is None:
            self._release()
            return
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
            if self._driver is not None and self._driver.in_transaction:
                # Begun on the driver and not committed (or a COMMIT that failed, which
                # can leave SQLite's transaction open); the pool does not reset
                # connections (infrastructure/database.py).
                await self._driver.rollback()
        finally:
            try:
                await self._conn.close()
            finally:
                self._conn = None
                self._driver = None
                self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            assert self._writers is not None
            self._writers.release()


def _begin_writing(connection: sqlite3.Connection) -> list[tuple[int, str]]:
    """In the driver's thread: the write lock, then the chain head under it."""
    connection.execute("BEGIN IMMEDIATE")
    return connection.execute(HEAD_QUERY).fetchall()


class SqlUnitOfWorkFactory:
    """Writers of one process queue here, in order, before they ask the database for its
    write lock: SQLite makes a writer that finds the lock taken sleep and retry (1, 2, 5,
    10 ... ms), so two requests writing at once left the database idle between them; and
    a PostgreSQL connection is not held waiting on the advisory lock. The database's own
    lock still orders the writers of different processes."""

    def __init__(self, engine: AsyncEngine, clock: Clock,
                 on_appended: OnAppended | None = None, guard: WriteGuard | None = None,
                 health: WriteHealth | None = None) -> None:
        self._engine = engine
        self._guard = guard
        self.health = health or WriteHealth()
        self._clock = clock
        self._on_appended = on_appended
        self._writers = asyncio.Lock()

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, self._clock, write=write,
                             on_appended=self._on_appended, writers=self._writers,
                             guard=self._guard, health=self.health)
