"""The event log on SQLAlchemy: one implementation for SQLite and PostgreSQL.

Appends run inside a unit of work that already holds the writer lock (SQLite's
BEGIN IMMEDIATE, PostgreSQL's transaction-scoped advisory lock), so reading the head
and inserting after it cannot interleave with another writer: seq stays gap-free and
the chain never forks, across tasks and processes alike.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.chain import GENESIS_HASH, canonical_json, event_hash
from domain.errors import Conflict, InvalidInput
from domain.events import LogHead, NewEvent, RecordedEvent
from domain.ports import Clock
from infrastructure.tables import events

_COLUMNS = (
    events.c.seq, events.c.event_id, events.c.type, events.c.aggregate_type,
    events.c.aggregate_id, events.c.payload, events.c.metadata, events.c.idempotency_key,
    events.c.occurred_at, events.c.recorded_at, events.c.schema_version, events.c.prev_hash,
    events.c.hash,
)


def as_json_value(value: Any) -> Any:
    """The value exactly as it will read back from the database, so the hash matches."""
    try:
        return json.loads(canonical_json(value))
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"not storable as JSON: {e}") from e


def row_to_event(row: Row[Any]) -> RecordedEvent:
    return RecordedEvent(*row)


class SqlEventStore:
    def __init__(self, connection: AsyncConnection, clock: Clock) -> None:
        self._conn = connection
        self._clock = clock
        self._head: LogHead | None = None
        self.appended: list[RecordedEvent] = []  # this transaction's, for the unit of work

    async def append(self, new_events: Sequence[NewEvent]) -> list[RecordedEvent]:
        if not new_events:
            return []
        head = self._head or await self.head()
        recorded_at = self._clock.now()
        recorded: list[RecordedEvent] = []
        prev_hash, seq = head.last_hash, head.last_seq
        for new in new_events:
            seq += 1
            event = _seal(new, seq, prev_hash, recorded_at)
            recorded.append(event)
            prev_hash = event.hash
        try:
            await self._conn.execute(events.insert(), [_as_row(e) for e in recorded])
        except IntegrityError as e:
            raise Conflict("an event with this idempotency key is already recorded") from e
        self._head = LogHead(seq, prev_hash)
        self.appended += recorded
        return recorded

    async def get(self, seq: int) -> RecordedEvent | None:
        row = (await self._conn.execute(select(*_COLUMNS).where(events.c.seq == seq))).first()
        return row_to_event(row) if row else None

    async def get_by_idempotency_key(self, key: str) -> RecordedEvent | None:
        query = select(*_COLUMNS).where(events.c.idempotency_key == key)
        row = (await self._conn.execute(query)).first()
        return row_to_event(row) if row else None

    async def read(
        self, *, after_seq: int = 0, limit: int = 100, types: Sequence[str] | None = None
    ) -> list[RecordedEvent]:
        query = select(*_COLUMNS).where(events.c.seq > after_seq)
        if types:
            query = query.where(events.c.type.in_(types))
        query = query.order_by(events.c.seq).limit(limit)
        return [row_to_event(row) for row in await self._conn.execute(query)]

    async def head(self) -> LogHead:
        query = select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)
        row = (await self._conn.execute(query)).first()
        return LogHead(row.seq, row.hash) if row else LogHead(0, GENESIS_HASH)

    async def count_by_type(self) -> dict[str, int]:
        # One pass over ix_events_type_seq (an index-only scan where the planner can).
        query = select(events.c.type, func.count()).group_by(events.c.type)
        return {type_: count for type_, count in await self._conn.execute(query)}


def _seal(new: NewEvent, seq: int, prev_hash: str, recorded_at) -> RecordedEvent:
    fields = dict(
        seq=seq,
        event_id=str(uuid.uuid4()),
        type=new.type,
        aggregate_type=new.aggregate_type,
        aggregate_id=new.aggregate_id,
        payload=as_json_value(new.payload),
        metadata=as_json_value(new.metadata),
        idempotency_key=new.idempotency_key,
        occurred_at=new.occurred_at or recorded_at,
        recorded_at=recorded_at,
        schema_version=new.schema_version,
        prev_hash=prev_hash,
    )
    return RecordedEvent(**fields, hash=event_hash(**fields))


def _as_row(event: RecordedEvent) -> dict[str, Any]:
    return {column.name: getattr(event, column.name) for column in _COLUMNS}
