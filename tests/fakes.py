"""In-memory fakes of the domain's ports, for unit tests. They keep the same contract as
the SQLAlchemy implementations (the contract suite runs against both)."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from domain.chain import GENESIS_HASH, event_hash
from domain.errors import Conflict
from domain.events import LogHead, NewEvent, RecordedEvent
from domain.objects import Decision, Note, Todo, Track
from domain.ports import IdempotencyRecord
from infrastructure.sealing import as_json
from tests.fakes_models import attach_read_models


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def _read_back(value: object) -> object:
    """As a database hands it back: a copy, parsed from its canonical JSON."""
    return json.loads(as_json(value)[1])


class InMemoryEventStore:
    def __init__(self, clock: FakeClock, events: list[RecordedEvent]) -> None:
        self._clock = clock
        self._events = events

    async def append(self, new_events: Sequence[NewEvent]) -> list[RecordedEvent]:
        head = await self.head()
        keys = {e.idempotency_key for e in self._events if e.idempotency_key}
        prev_hash, seq, recorded = head.last_hash, head.last_seq, []
        now = self._clock.now()
        for new in new_events:
            if new.idempotency_key and new.idempotency_key in keys:
                raise Conflict("an event with this idempotency key is already recorded")
            keys.add(new.idempotency_key)
            seq += 1
            fields = dict(
                seq=seq,
                event_id=str(uuid.uuid4()),
                type=new.type,
                aggregate_type=new.aggregate_type,
                aggregate_id=new.aggregate_id,
                payload=_read_back(new.payload),
                metadata=_read_back(new.metadata),
                idempotency_key=new.idempotency_key,
                occurred_at=new.occurred_at or now,
                recorded_at=now,
                schema_version=new.schema_version,
                prev_hash=prev_hash,
            )
            event = RecordedEvent(**fields, hash=event_hash(**fields))
            recorded.append(event)
            prev_hash = event.hash
        self._events.extend(recorded)
        return recorded

    async def get(self, seq: int) -> RecordedEvent | None:
        return self._events[seq - 1] if 0 < seq <= len(self._events) else None

    async def get_many(self, seqs: Sequence[int]) -> dict[int, RecordedEvent]:
        return {seq: event for seq in seqs if (event := await self.get(seq)) is not None}

    async def get_by_idempotency_key(self, key: str) -> RecordedEvent | None:
        return next((e for e in self._events if e.idempotency_key == key), None)

    async def read(
        self, *, after_seq: int = 0, limit: int = 100, types: Sequence[str] | None = None
    ) -> list[RecordedEvent]:
        found = [e for e in self._events[after_seq:] if not types or e.type in types]
        return found[:limit]

    async def history(
        self, aggregate_id: str, *, after_seq: int = 0, limit: int = 200
    ) -> list[RecordedEvent]:
        found = [
            e
            for e in self._events[after_seq:]
            if e.aggregate_id == aggregate_id and e.type != "message.ingested"
        ]
        return found[:limit]

    async def head(self) -> LogHead:
        if not self._events:
            return LogHead(0, GENESIS_HASH)
        return LogHead(self._events[-1].seq, self._events[-1].hash)

    async def count_by_type(self) -> dict[str, int]:
        return dict(Counter(e.type for e in self._events))


class InMemoryIdempotencyRecords:
    def __init__(self, records: dict[str, IdempotencyRecord]) -> None:
        self._records = records

    async def get(self, key: str) -> IdempotencyRecord | None:
        return self._records.get(key)

    async def get_many(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        return {key: self._records[key] for key in keys if key in self._records}

    async def add(self, record: IdempotencyRecord) -> None:
        self._records[record.key] = record

    async def add_many(self, records: Sequence[IdempotencyRecord]) -> None:
        for record in records:
            await self.add(record)


class InMemoryState:
    """Everything the fake database holds; a unit of work edits a copy and swaps it in."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.idempotency: dict[str, IdempotencyRecord] = {}
        self.todos: dict[str, Todo] = {}
        self.notes: dict[str, Note] = {}
        self.tracks: dict[str, Track] = {}
        self.decisions: dict[str, Decision] = {}


class InMemoryUnitOfWork:
    def __init__(
        self, state: InMemoryState, clock: FakeClock, lock: asyncio.Lock, write: bool
    ) -> None:
        self._committed = state
        self._clock = clock
        self._lock = lock
        self._write = write

    async def __aenter__(self) -> InMemoryUnitOfWork:
        if self._write:
            await self._lock.acquire()
        self._working = copy.deepcopy(self._committed)
        self.events = InMemoryEventStore(self._clock, self._working.events)
        self.idempotency = InMemoryIdempotencyRecords(self._working.idempotency)
        attach_read_models(self, self._working)
        return self

    async def commit(self) -> None:
        self._committed.__dict__.update(copy.deepcopy(self._working.__dict__))

    async def __aexit__(self, *exc_info: object) -> None:
        if self._write:
            self._lock.release()


class InMemoryUnitOfWorkFactory:
    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.state = InMemoryState()
        self._lock = asyncio.Lock()

    def __call__(self, *, write: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.state, self.clock, self._lock, write)
