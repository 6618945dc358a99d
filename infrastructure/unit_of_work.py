"""One database transaction shared by the event store and the read models: what both
backends' units of work have in common (the integrity guard, this process's queue of
writers, the health of writes, telling the metrics what was appended). How a transaction
begins, commits and ends, and which stores it opens, is each backend's:
infrastructure/sqlite/unit_of_work.py, infrastructure/postgres/unit_of_work.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import StorageUnavailable
from domain.events import RecordedEvent
from domain.log_guard import WriteGuard
from domain.ports import Clock, EventStore, IdempotencyRecords
from domain.repositories import (
    DecisionRepository,
    NoteRepository,
    SearchIndex,
    TodoRepository,
    TrackRepository,
)
from domain.search_index import SearchEntry
from infrastructure.database import cause

log = logging.getLogger("helionyx.storage")

# Told, after each commit, which events that transaction appended (the metrics count them).
OnAppended = Callable[[Sequence[RecordedEvent]], None]


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


class StoredEvents(EventStore, Protocol):
    """A backend's event store: the domain's port, and a rebuild's reading."""

    appended: list[RecordedEvent]  # this transaction's, for the unit of work

    async def read_keyed_or_typed(
        self, after_seq: int, upto: int, types: Sequence[str], keyed_type: str
    ) -> list[RecordedEvent]:
        """The events in (after_seq, upto] of `types` or `keyed_type`, in seq order."""
        ...


class StoredSearch(SearchIndex, Protocol):
    """A backend's search index: the domain's port, and a rebuild's bulk work. (Each
    backend's unit of work also indexes the messages its transaction appended, its own
    way: infrastructure/<backend>/search.py.)"""

    async def clear(self) -> None: ...

    async def put_many(self, entries: Sequence[SearchEntry]) -> None: ...

    async def reindex_messages(self, after: int, upto: int) -> None:
        """Index the messages with a seq in (after, upto], as their appends did."""
        ...


class SqlUnitOfWork:
    """A backend's unit of work implements `_begin` (open the transaction and its stores),
    `_commit` (the messages it appended indexed for search first) and `_end` (roll back
    whatever is still open), and names in `driver_errors` what its driver raises when the
    database, not the request, is at fault."""

    driver_errors: tuple[type[BaseException], ...] = (DBAPIError, OSError)
    events: StoredEvents
    idempotency: IdempotencyRecords
    todos: TodoRepository
    notes: NoteRepository
    tracks: TrackRepository
    decisions: DecisionRepository
    search: StoredSearch

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        *,
        write: bool,
        on_appended: OnAppended | None = None,
        writers: asyncio.Lock | None = None,
        guard: WriteGuard | None = None,
        health: WriteHealth | None = None,
    ) -> None:
        self._engine = engine
        self._health = health or WriteHealth()
        self._guard = guard if write else None
        self._clock = clock
        self._write = write
        self._on_appended = on_appended
        self._writers = writers if write else None
        self._holding = False
        self._conn: AsyncConnection | None = None

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection, for bulk work of the same backend (rebuild)."""
        assert self._conn is not None, "the unit of work is not open"
        return self._conn

    async def __aenter__(self) -> SqlUnitOfWork:
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
            await self._open()
        except self.driver_errors as e:
            await self._close()
            raise StorageUnavailable("the database is not answering") from e
        except BaseException:  # cancelled while connecting: still give the lock back
            await self._close()
            raise
        return self

    async def _open(self) -> None:
        """Connect and begin the transaction (a backend may try twice: PostgreSQL's)."""
        self._conn = await self._engine.connect()
        await self._begin(self._conn)

    async def commit(self) -> None:
        assert self._conn is not None, "commit outside the unit of work"
        try:
            await self._commit(self._conn)
        except self.driver_errors as e:
            self._health.failed(e)
            raise StorageUnavailable(f"the database did not commit ({cause(e)})") from e
        except StorageUnavailable as e:  # the backend's own translation of a refusal
            self._health.failed(e.__cause__ or e)
            raise
        self._health.succeeded()
        committed, self.events.appended = self.events.appended, []
        if committed and self._on_appended is not None:
            self._on_appended(committed)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        try:
            await self._close()
        except self.driver_errors:
            if exc is None:  # nothing else went wrong: a failed rollback lost nothing
                raise StorageUnavailable("the database did not end the transaction") from None
        if isinstance(exc, self.driver_errors):
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
            await self._end(self._conn)
        finally:
            try:
                await self._conn.close()
            finally:
                self._conn = None
                self._release()

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            assert self._writers is not None
            self._writers.release()

    async def _begin(self, conn: AsyncConnection) -> None:
        raise NotImplementedError

    async def _commit(self, conn: AsyncConnection) -> None:
        raise NotImplementedError

    async def _end(self, conn: AsyncConnection) -> None:
        raise NotImplementedError


class SqlUnitOfWorkFactory:
    """Writers of one process queue here, in order, before they ask the database for its
    write lock: SQLite makes a writer that finds the lock taken sleep and retry (1, 2, 5,
    10 ... ms), so two requests writing at once left the database idle between them; and
    a PostgreSQL connection is not held waiting on the advisory lock. The database's own
    lock still orders the writers of different processes."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        on_appended: OnAppended | None = None,
        guard: WriteGuard | None = None,
        health: WriteHealth | None = None,
    ) -> None:
        from infrastructure.backends import backend_for

        self._unit = backend_for(engine.url).unit_of_work  # the engine's backend's own
        self._engine = engine
        self._guard = guard
        self.health = health or WriteHealth()
        self._clock = clock
        self._on_appended = on_appended
        self._writers = asyncio.Lock()

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return self._unit(
            self._engine,
            self._clock,
            write=write,
            on_appended=self._on_appended,
            writers=self._writers,
            guard=self._guard,
            health=self.health,
        )
