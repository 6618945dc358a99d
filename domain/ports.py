"""Ports: what the domain needs from the outside world, as Protocols.

Each has a SQLAlchemy implementation in `infrastructure/` and an in-memory fake in
`tests/fakes.py`; domain tests use the fakes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol, Self, TypeVar

from domain.errors import DomainError
from domain.events import LogHead, NewEvent, RecordedEvent

if TYPE_CHECKING:  # domain.repositories imports EventStore from here
    from domain.repositories import (
        DecisionRepository,
        NoteRepository,
        SearchIndex,
        TodoRepository,
        TrackRepository,
    )


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

    async def history(
        self, aggregate_id: str, *, after_seq: int = 0, limit: int = 200
    ) -> list[RecordedEvent]:
        """Events about one object (never a message) after `after_seq`, in seq order, at
        most `limit` (domain.changes.whole_history pages through them all)."""
        ...

    async def head(self) -> LogHead: ...

    async def count_by_type(self) -> dict[str, int]:
        """How many events of each type the log holds; types it does not hold are absent."""
        ...


class IdempotencyRecord(NamedTuple):
    """A NamedTuple, as the other value objects a bulk ingest makes one of per message.
    Stores name its fields; nothing depends on their order."""

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
    todos: TodoRepository
    notes: NoteRepository
    tracks: TrackRepository
    decisions: DecisionRepository
    search: SearchIndex

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a unit of work; `write=True` takes the writer lock from the start."""

    def __call__(self, *, write: bool = False) -> UnitOfWork: ...


Item = TypeVar("Item")
Result = TypeVar("Result")
Write = Callable[[UnitOfWork, Sequence[Item]], Awaitable[list[Result | DomainError]]]


class Writes(Protocol):
    """How a service's writes reach the database: `write(uow, items)` in a write unit of
    work, then commit, and each caller gets its item's outcome once it is durable (a
    `DomainError` outcome is raised to its caller, and nothing is written for that item).

    `OneByOne` gives every call its own transaction; an implementation may instead put
    several callers' items into one transaction and one commit (group commit,
    infrastructure/group_commit.py): the container chooses."""

    async def submit(self, write: Write[Item, Result], item: Item) -> Result: ...

    async def close(self) -> None:
        """Write and commit what is queued; later calls run alone."""
        ...


class OneByOne:
    """Each write in its own transaction."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def submit(self, write: Write[Item, Result], item: Item) -> Result:
        async with self._uow_factory(write=True) as uow:
            [outcome] = await write(uow, [item])
            if isinstance(outcome, DomainError):
                raise outcome
            await uow.commit()
            return outcome

    async def close(self) -> None:
        return None


class Clock(Protocol):
    def now(self) -> datetime: ...
