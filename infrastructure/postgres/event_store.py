"""The event log on PostgreSQL, through SQLAlchemy Core.

Appends run inside a write unit of work that holds the transaction-scoped advisory lock
(infrastructure/postgres/unit_of_work.py), so reading the head and inserting after it
cannot interleave with another writer: seq stays gap-free and the chain never forks.
Payload and metadata are stored as the canonical JSON text the hash covers (TEXT, not
JSONB, whose numbers are not the text that was hashed: migration 20261206_0006), bound
as plain text so that they are not serialized a second time. In a write transaction the
rows wait in its `PendingRows` (infrastructure/postgres/pending_rows.py) until something
reads the table or the transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Text, bindparam, func, null, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.chain import GENESIS_HASH
from domain.events import LogHead, NewEvent, RecordedEvent
from domain.ports import Clock
from infrastructure.postgres.driver import HEAD
from infrastructure.postgres.errors import translated
from infrastructure.postgres.pending_rows import PendingRows
from infrastructure.sealing import Sealed, seal
from infrastructure.tables import NOT_INDEXED_TYPE, events, with_messages

COLUMNS = tuple(events.c[name] for name in RecordedEvent._fields)
_INSERT = events.insert().values(
    payload=bindparam("payload", type_=Text()), metadata=bindparam("metadata", type_=Text())
)
# Well under asyncpg's 32767 bound parameters per statement.
_SEQS_PER_QUERY = 1000


def to_event(row: Row[Any]) -> RecordedEvent:
    """A row of `select(*COLUMNS)`: the columns named as RecordedEvent's fields."""
    return RecordedEvent._make(row)


def _row(sealed: Sealed) -> tuple[Any, ...]:
    """The event's columns in `events`' order (RecordedEvent's), payload and metadata as
    their canonical JSON."""
    event = sealed.event
    return (*event[:5], sealed.payload_json, sealed.metadata_json, *event[7:])


class PostgresEventStore:
    """`pending`: where a write transaction's rows wait (None in a read transaction,
    where appending goes straight through SQLAlchemy); `head`: the head its unit of work
    read under the writer's lock, if it did."""

    def __init__(
        self,
        connection: AsyncConnection,
        clock: Clock,
        pending: PendingRows | None = None,
        head: LogHead | None = None,
    ) -> None:
        self._conn = connection
        self._clock = clock
        self._pending = pending
        self._head = head
        self.appended: list[RecordedEvent] = []  # this transaction's, for the unit of work

    async def append(self, new_events: Sequence[NewEvent]) -> list[RecordedEvent]:
        if not new_events:
            return []
        sealed = seal(new_events, self._head or await self.head(), self._clock.now())
        rows = [_row(item) for item in sealed]
        if self._pending is not None:
            self._pending.add_events(rows)
        else:
            with translated():
                named = [dict(zip(RecordedEvent._fields, row, strict=True)) for row in rows]
                await self._conn.execute(_INSERT, named)
        recorded = [item.event for item in sealed]
        self._head = LogHead(recorded[-1].seq, recorded[-1].hash)
        self.appended += recorded
        return recorded

    async def get(self, seq: int) -> RecordedEvent | None:
        found = await self._select(events.c.seq == seq)
        return found[0] if found else None

    async def get_many(self, seqs: Sequence[int]) -> dict[int, RecordedEvent]:
        found: dict[int, RecordedEvent] = {}
        seqs = sorted(set(seqs))
        for start in range(0, len(seqs), _SEQS_PER_QUERY):
            for event in await self._select(
                events.c.seq.in_(seqs[start : start + _SEQS_PER_QUERY])
            ):
                found[event.seq] = event
        return found

    async def get_by_idempotency_key(self, key: str) -> RecordedEvent | None:
        found = await self._select(events.c.idempotency_key == key)
        return found[0] if found else None

    async def read(
        self, *, after_seq: int = 0, limit: int = 100, types: Sequence[str] | None = None
    ) -> list[RecordedEvent]:
        query = select(*COLUMNS).where(events.c.seq > after_seq)
        if types:
            query = query.where(events.c.type.in_(types))
            if NOT_INDEXED_TYPE not in types:
                # Spelled out so that the planner may use the partial ix_events_type_seq
                # with a plan for any parameters (migration 20261208_0011).
                query = query.where(events.c.type != NOT_INDEXED_TYPE)
        query = query.order_by(events.c.seq).limit(limit)
        return [to_event(row) for row in await self._execute(query)]

    async def history(
        self, aggregate_id: str, *, after_seq: int = 0, limit: int = 200
    ) -> list[RecordedEvent]:
        # The type condition matches the partial ix_events_aggregate_seq.
        query = (
            select(*COLUMNS)
            .where(
                events.c.aggregate_id == aggregate_id,
                events.c.type != NOT_INDEXED_TYPE,
                events.c.seq > after_seq,
            )
            .order_by(events.c.seq)
            .limit(limit)
        )
        return [to_event(row) for row in await self._execute(query)]

    async def read_keyed_or_typed(
        self, after_seq: int, upto: int, types: Sequence[str], keyed_type: str
    ) -> list[RecordedEvent]:
        """The events in (after_seq, upto] of `types` or `keyed_type`, in seq order (a
        superset of what a rebuild needs: the caller decides)."""
        query = (
            select(*COLUMNS)
            .where(
                events.c.seq > after_seq,
                events.c.seq <= upto,
                events.c.type.in_([*types, keyed_type]),
            )
            .order_by(events.c.seq)
        )
        return [to_event(row) for row in await self._execute(query)]

    async def head(self) -> LogHead:
        if self._pending is not None:  # in a write transaction: straight to the driver
            await self._pending.write()
            row = await self._pending.driver.fetchrow(HEAD)
        else:
            query = select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)
            row = (await self._conn.execute(query)).first()
        return LogHead(row[0], row[1]) if row else LogHead(0, GENESIS_HASH)

    async def count_by_type(self) -> dict[str, int]:
        """One pass over ix_events_type_seq, which leaves messages out (`with_messages`)."""
        by_type = (
            select(events.c.type, func.count())
            .where(events.c.type != NOT_INDEXED_TYPE)
            .group_by(events.c.type)
        )
        # The head in the same statement, so in the same snapshot as the counts.
        head = select(null(), func.coalesce(func.max(events.c.seq), 0))
        counts: dict[str, int] = {}
        total = 0
        for type_, count in await self._execute(by_type.union_all(head)):
            if type_ is None:
                total = count
            else:
                counts[type_] = count
        return with_messages(counts, total)

    async def _select(self, where: Any) -> list[RecordedEvent]:
        return [to_event(row) for row in await self._execute(select(*COLUMNS).where(where))]

    async def _execute(self, query: Any) -> Any:
        """Every read of the table: the rows held back are written first."""
        if self._pending is not None:
            await self._pending.write()
        return await self._conn.execute(query)
