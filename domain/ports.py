"""Ports: what the domain needs from the outside world, as Protocols.

Each has a SQLAlchemy implementation in `infrastructure/` and an in-memory fake in
`tests/fakes.py`; domain tests use the fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple, Protocol, Self

from domain.chain import SealedRow
from domain.events import LogHead, NewEvent, RecordedEvent


class EventStore(Protocol):
    """The append-only log. Appends serialize on the chain head inside the unit of work."""

    async def append(self, events: Sequence[NewEvent]) -> list[RecordedEvent]: ...

    async def get(self, seq: int) -> RecordedEvent | None: ...

    async def get_many(self, seqs: Sequence[int]) -> dict[int, RecordedEvent]:
        """The events with these seqs that exist, by seq."""
        ...

    async def get_by_idempotency_key(self, key: str) -> RecordedEvent | None: ...

    async def read(
        self, *, after_seq: int = 0, limit: int = 100, types: Sequence[str] | None = None
    ) -> list[RecordedEvent]: ...

    async def read_sealed(self, *, after_seq: int = 0, limit: int = 10_000) -> list[SealedRow]:
        """Like `read`, as the text the hashes cover: what `verify` needs, and no more."""
        ...

    async def head(self) -> LogHead: ...

    async def count_by_type(self) -> dict[str, int]:
        """How many events of each type the log holds; types it does not hold are absent."""
        ...


class IdempotencyRecord(NamedTuple):
    """A NamedTuple, as the other value objects a bulk ingest makes one of per message;
    its fields are in the idempotency table's column order."""

    key: str
    event_seq: int
    request_hash: str


class IdempotencyRecords(Protocol):
    async def get(self, key: str) -> IdempotencyRecord | None: ...

    async def get_many(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        """The records of those keys that have one, by key."""
        ...

    async def add(self, record: IdempotencyRecord) -> None: ...

    async def add_many(self, records: Sequence[IdempotencyRecord]) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: events and read models change together or not at all.

    Leaving the block without `commit()` rolls back. Only the unit of work commits.
    """

    events: EventStore
    idempotency: IdempotencyRecords

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work; `write=True` takes the writer lock from the start."""

    def __call__(self, *, write: bool = False) -> UnitOfWork: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
