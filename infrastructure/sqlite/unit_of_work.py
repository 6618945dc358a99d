"""A SQLite transaction: begun, committed and ended on the driver, in one trip each.

Each trip to aiosqlite's thread waits for the event loop to come round, behind whatever
the HTTP side has queued (infrastructure/sqlite/driver.py). So the transaction is the
driver's: a writer's BEGIN IMMEDIATE takes the write lock and the head is read under it
in one trip; its rows wait in `PendingRows` and go with the COMMIT in one trip.
SQLAlchemy emits no BEGIN of its own (BEGUN_BY_CALLER); a Core statement that a read
model sends through it (lists, counts) runs inside the driver's transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.chain import GENESIS_HASH
from domain.events import LogHead
from infrastructure.sqlite.driver import driver_of, in_driver_thread
from infrastructure.sqlite.engine import BEGUN_BY_CALLER
from infrastructure.sqlite.errors import DRIVER_ERRORS
from infrastructure.sqlite.event_rows import HEAD
from infrastructure.sqlite.event_store import SqliteEventStore
from infrastructure.sqlite.idempotency import SqliteIdempotencyRecords
from infrastructure.sqlite.pending_rows import PendingRows
from infrastructure.sqlite.read_models import (
    SqliteDecisions,
    SqliteNotes,
    SqliteTodos,
    SqliteTracks,
)
from infrastructure.sqlite.search import SqliteSearch
from infrastructure.unit_of_work import SqlUnitOfWork


class SqliteUnitOfWork(SqlUnitOfWork):
    driver_errors = DRIVER_ERRORS

    _driver: Any = None  # the aiosqlite connection under the SQLAlchemy one
    _pending: PendingRows | None = None

    async def _begin(self, conn: AsyncConnection) -> None:
        await conn.execution_options(**{BEGUN_BY_CALLER: True})
        self._driver = driver = await driver_of(conn)
        head = None
        if self._write:
            rows = await in_driver_thread(driver, _begin_writing)
            head = LogHead(rows[0][0], rows[0][1]) if rows else LogHead(0, GENESIS_HASH)
            self._pending = PendingRows(driver)
        else:
            await driver.execute_fetchall("BEGIN")
        self.events = SqliteEventStore(conn, self._clock, self._pending, head)
        self.idempotency = SqliteIdempotencyRecords(conn, self._pending)
        self.todos = SqliteTodos(conn)
        self.notes = SqliteNotes(conn)
        self.tracks = SqliteTracks(conn)
        self.decisions = SqliteDecisions(conn)
        self.search = SqliteSearch(conn, self._pending)

    async def _commit(self, conn: AsyncConnection) -> None:
        if self._pending is not None:
            # The messages appended are indexed with the held rows (infrastructure/sqlite/
            # search.py): findable from the moment they are acknowledged.
            self.search.index_messages(self.events.appended)  # type: ignore[attr-defined]
            await self._pending.write_and_commit()  # the held rows and COMMIT, one trip
        else:
            await self._driver.commit()
        if conn.in_transaction():
            # A Core statement went through SQLAlchemy, which still counts a transaction:
            # its commit now only forgets it (sqlite3 commits nothing outside one).
            await conn.commit()

    async def _end(self, conn: AsyncConnection) -> None:
        if conn.in_transaction():
            await conn.rollback()
        if self._driver is not None and self._driver.in_transaction:
            # Not committed (or a COMMIT that failed, which can leave SQLite's transaction
            # open); the pool does not reset connections (infrastructure/sqlite/engine.py).
            await self._driver.rollback()


def _begin_writing(connection: sqlite3.Connection) -> list[tuple[int, str]]:
    """In the driver's thread: the write lock, then the chain head under it."""
    connection.execute("BEGIN IMMEDIATE")
    return connection.execute(HEAD).fetchall()
