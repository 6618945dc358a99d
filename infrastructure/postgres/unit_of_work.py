"""A PostgreSQL transaction; a writer's holds the event log's advisory lock."""

from __future__ import annotations

from contextlib import suppress

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.chain import GENESIS_HASH
from domain.events import LogHead
from infrastructure.postgres.driver import driver_of
from infrastructure.postgres.engine import UNPINGED_CHECKOUT
from infrastructure.postgres.errors import DRIVER_ERRORS
from infrastructure.postgres.event_store import PostgresEventStore
from infrastructure.postgres.idempotency import PostgresIdempotencyRecords
from infrastructure.postgres.pending_rows import PendingRows
from infrastructure.postgres.read_models import (
    PostgresDecisions,
    PostgresNotes,
    PostgresTodos,
    PostgresTracks,
)
from infrastructure.postgres.search import PostgresSearch, message_document
from infrastructure.read_models import CoreDecisions, CoreNotes, CoreTodos, CoreTracks
from infrastructure.unit_of_work import SqlUnitOfWork

# Any constant will do, as long as every writer uses the same one. A transaction-scoped
# advisory lock is released by COMMIT or ROLLBACK, so it cannot leak; unlike a table
# lock it leaves readers (and the trigger-protected table) alone.
# https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
EVENT_LOG_LOCK_KEY = 0x48454C494F4E5958 & 0x7FFFFFFFFFFFFFFF
# The lock, then the head read under it, in one trip (migration 20261208_0012).
_LOCK_AND_HEAD = text("SELECT head_seq, head_hash FROM helionyx_write_lock(:key)")


class PostgresUnitOfWork(SqlUnitOfWork):
    driver_errors = DRIVER_ERRORS

    _pending: PendingRows | None = None

    async def _open(self) -> None:
        """A writer takes its pooled connection unpinged: the event log's lock is its
        first statement and shows as well whether the connection is alive. If it fails,
        the connection is taken for one the server dropped (a restart, an idle timeout):
        it is discarded, and the writer begins again on a pinged one, so that a dead
        connection still never reaches a request. A reader keeps the ping."""
        if not self._write:
            await super()._open()
            return
        unpinged = UNPINGED_CHECKOUT.set(True)
        try:
            self._conn = conn = await self._engine.connect()
        finally:
            UNPINGED_CHECKOUT.reset(unpinged)
        try:
            await self._begin(conn)
        except self.driver_errors:
            self._conn = None
            # It is dead already: nothing to lose. Invalidated, the pool replaces it rather
            # than hand it out again; closed, it is given back even if that failed.
            with suppress(*self.driver_errors):
                await conn.invalidate()
            with suppress(*self.driver_errors):
                await conn.close()
            await super()._open()

    async def _begin(self, conn: AsyncConnection) -> None:
        await conn.begin()
        head = None
        if self._write:
            # Opens the transaction; an empty log has no head row.
            found = (await conn.execute(_LOCK_AND_HEAD, {"key": EVENT_LOG_LOCK_KEY})).first()
            head = LogHead(found[0], found[1]) if found else LogHead(0, GENESIS_HASH)
            driver = await driver_of(conn)
            assert driver is not None, "the writer's lock leaves a transaction open"
            self._pending = PendingRows(driver, message_document)
            # What deriving and changing objects run, straight to the driver (read_models.py).
            self.todos = PostgresTodos(conn, driver)
            self.notes = PostgresNotes(conn, driver)
            self.tracks = PostgresTracks(conn, driver)
            self.decisions = PostgresDecisions(conn, driver)
        else:
            self.todos = CoreTodos(conn)
            self.notes = CoreNotes(conn)
            self.tracks = CoreTracks(conn)
            self.decisions = CoreDecisions(conn)
        self.events = PostgresEventStore(conn, self._clock, self._pending, head)
        self.idempotency = PostgresIdempotencyRecords(conn, self._pending)
        self.search = PostgresSearch(conn, self._pending)

    async def _commit(self, conn: AsyncConnection) -> None:
        if self._pending is not None:
            # The messages appended are indexed with the held rows: findable from the
            # moment they are acknowledged.
            await self.search.index_messages(self.events.appended)  # type: ignore[attr-defined]
            await self._pending.write()
        await conn.commit()

    async def _end(self, conn: AsyncConnection) -> None:
        if conn.in_transaction():
            await conn.rollback()
