"""Read-model repositories for the four objects, as Protocols.

They add, update and query rows; they never commit (only the unit of work does) and never
decide anything: the services check transitions, `domain.projections` writes the rows.
Numbers are per object kind, 1, 2, 3..., assigned once at creation.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from domain.listing import Key
from domain.objects import Decision, Note, Todo, Track
from domain.ports import EventStore
from domain.search_index import Found, SearchEntry, SearchQuery

if TYPE_CHECKING:  # domain.todo_filter reads choices with domain.changes, which needs this
    from domain.todo_filter import TodoFilter


class TodoRepository(Protocol):
    async def get(self, id: str) -> Todo | None: ...

    async def get_by_number(self, number: int) -> Todo | None: ...

    async def add(self, todo: Todo) -> None: ...

    async def update(self, todo: Todo) -> None:
        """Replace the row with the same id."""
        ...

    async def list(self, status: str | None = None, limit: int = 100) -> builtins.list[Todo]:
        """Todos with this status (every status when None), by number ascending."""
        ...

    async def find(self, filter: TodoFilter, after: Key | None, limit: int) -> builtins.list[Todo]:
        """Up to `limit` todos the filter keeps, in its order (domain/todo_filter.py),
        after the one whose `filter.key_of` is `after` (from the first when None)."""
        ...

    async def count(self, filter: TodoFilter) -> int:
        """How many todos the filter keeps."""
        ...

    async def next_number(self) -> int:
        """One more than the highest number given so far; 1 when there is none."""
        ...

    async def count_by_status(self) -> dict[str, int]:
        """Every status in TODO_STATUSES as a key, zero included."""
        ...


class NoteRepository(Protocol):
    async def get(self, id: str) -> Note | None: ...

    async def get_by_number(self, number: int) -> Note | None: ...

    async def add(self, note: Note) -> None: ...

    async def update(self, note: Note) -> None: ...

    async def list(
        self,
        search: str | None = None,
        limit: int = 100,
        status: str | None = "active",
        *,
        before: int | None = None,
    ) -> builtins.list[Note]:
        """Notes with this status (every one when None) whose title or content contains
        `search`, ignoring case (all when None or empty), newest first (number descending),
        numbered below `before` when given."""
        ...

    async def next_number(self) -> int: ...

    async def count(self, status: str | None = "active", search: str | None = None) -> int:
        """How many notes `list` would give with no limit."""
        ...


class TrackRepository(Protocol):
    async def get(self, id: str) -> Track | None: ...

    async def get_by_number(self, number: int) -> Track | None: ...

    async def add(self, track: Track) -> None: ...

    async def update(self, track: Track) -> None: ...

    async def list(
        self, status: str | None = None, limit: int = 100, *, after: int | None = None
    ) -> builtins.list[Track]:
        """Tracks with this status (every status when None), by number ascending,
        numbered above `after` when given."""
        ...

    async def next_number(self) -> int: ...

    async def count_by_status(self) -> dict[str, int]:
        """Every status in TRACK_STATUSES as a key, zero included."""
        ...


class DecisionRepository(Protocol):
    async def get(self, id: str) -> Decision | None: ...

    async def get_by_number(self, number: int) -> Decision | None: ...

    async def add(self, decision: Decision) -> None: ...

    async def update(self, decision: Decision) -> None: ...

    async def list(
        self, status: str | None = None, limit: int = 100, *, before: int | None = None
    ) -> builtins.list[Decision]:
        """Decisions with this status (every status when None), newest first (by number
        descending), numbered below `before` when given."""
        ...

    async def next_number(self) -> int: ...

    async def count_by_status(self) -> dict[str, int]:
        """Every status in DECISION_STATUSES as a key, zero included."""
        ...


class SearchIndex(Protocol):
    """The search index: objects' entries, kept by the projections in the transaction
    that changes them, and the messages of the log, which the storage indexes in the
    transaction that appends them (domain/search.py says how it ranks)."""

    async def put(self, entry: SearchEntry) -> None:
        """Add the entry, or replace the one with the same kind and number."""
        ...

    async def remove(self, kind: str, number: int) -> None:
        """Forget that object's entry, if there is one."""
        ...

    async def find_objects(
        self, query: SearchQuery, kinds: Sequence[str], offset: int, limit: int
    ) -> tuple[builtins.list[Found], int]:
        """Up to `limit` objects of `kinds` after the first `offset`, best first (by the
        database's relevance, a title hit far above a body hit; ties by kind, number),
        and how many match in all."""
        ...

    async def find_messages(
        self, query: SearchQuery, offset: int, limit: int
    ) -> tuple[builtins.list[Found], int]:
        """Up to `limit` (0: none, only the count) messages after the first `offset`,
        newest first, and how many match in all; a message that made an object (its seq
        an object's `source_event_seq`, of any kind and status) is neither found nor
        counted."""
        ...


class ReadModels(Protocol):
    """The read models; a unit of work exposes them under the same names."""

    todos: TodoRepository
    notes: NoteRepository
    tracks: TrackRepository
    decisions: DecisionRepository
    search: SearchIndex


class ObjectUnitOfWork(ReadModels, Protocol):
    """What the object services need from an open unit of work: the log and the models."""

    events: EventStore
