"""One database transaction shared by the event store and the read models."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import StorageUnavailable
from domain.events import RecordedEvent
from domain.ports import Clock
from infrastructure import sqlite_rows
from infrastructure.database import BEGUN_BY_CALLER, WRITE_OPTION
from infrastructure.event_store import SqlEventStore
from infrastructure.read_models import SqlDecisions, SqlNotes, SqlTodos, SqlTracks
from infrastructure.repositories import SqlIdempotencyRecords

# Any constant will do, as long as every writer uses the same one. A transaction-scoped
# advisory lock is released by COMMIT or ROLLBACK, so it cannot leak; unlike a table
# lock it leaves readers (and the trigger-protected table) alone.
# https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
EVENT_LOG_LOCK_KEY = 0x48454C494F4E5958 & 0x7FFFFFFFFFFFFFFF

# Told, after each commit, which events that transaction appended (the metrics count them).
OnAppended = Callable[[Sequence[RecordedEvent]], None]


class SqlUnitOfWork:
    def __init__(self, engine: AsyncEngine, clock: Clock, *, write: bool,
                 on_appended: OnAppended | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._write = write
        self._on_appended = on_appended
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        sqlite = self._engine.dialect.name == "sqlite"
        try:
            self._conn = await self._engine.connect()
            if sqlite:
                await self._conn.execution_options(**{BEGUN_BY_CALLER: True})
            elif self._write:
                await self._conn.execution_options(**{WRITE_OPTION: True})
            await self._conn.begin()
            if sqlite:
                # IMMEDIATE takes the write lock before the head is read.
                await sqlite_rows.begin(self._conn, immediate=self._write)
            elif self._write:
                await self._conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOG_LOCK_KEY}
                )
        except (OperationalError, DBAPIError, OSError, sqlite3.Error) as e:
            await self._close()
            raise StorageUnavailable("the database is not answering") from e
        self.events = SqlEventStore(self._conn, self._clock)
        self.idempotency = SqlIdempotencyRecords(self._conn)
        self.todos = SqlTodos(self._conn)
        self.notes = SqlNotes(self._conn)
        self.tracks = SqlTracks(self._conn)
        self.decisions = SqlDecisions(self._conn)
        return self

    async def commit(self) -> None:
        assert self._conn is not None, "commit outside the unit of work"
        try:
            await self._conn.commit()
        except (OperationalError, DBAPIError) as e:
            raise StorageUnavailable("the database did not commit") from e
        committed, self.events.appended = self.events.appended, []
        if committed and self._on_appended is not None:
            self._on_appended(committed)

    async def __aexit__(self, *exc_info: object) -> None:
        await self._close()

    async def _close(self) -> None:
        if self._conn is None:
            return
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
            elif self._engine.dialect.name == "sqlite":
                # A COMMIT that failed can leave SQLite's transaction open, and the pool
                # does not reset connections (infrastructure/database.py).
                await sqlite_rows.end_open_transaction(self._conn)
        finally:
            await self._conn.close()
            self._conn = None


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine, clock: Clock,
                 on_appended: OnAppended | None = None) -> None:
        self._engine = engine
        self._clock = clock
        self._on_appended = on_appended

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._engine, self._clock, write=write,
                             on_appended=self._on_appended)
