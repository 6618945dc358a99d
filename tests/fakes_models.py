"""In-memory read models for unit tests: the four repositories over plain dicts keyed by
id, and the search index, with the ordering and filtering their Protocols in
`domain.repositories` promise."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from domain.errors import Conflict
from domain.events import RecordedEvent
from domain.listing import Key
from domain.messages import MESSAGE_INGESTED
from domain.objects import (
    DECISION_STATUSES,
    TODO_STATUSES,
    TRACK_STATUSES,
    Decision,
    Note,
    Todo,
    Track,
)
from domain.search_index import (
    MESSAGE,
    SEARCH_KINDS,
    Found,
    SearchEntry,
    SearchQuery,
    searchable_message,
)
from domain.snippets import matches
from domain.todo_filter import TodoFilter, sort_key

Row = TypeVar("Row", Todo, Note, Track, Decision)


class _Rows(Generic[Row]):
    newest_first = False

    def __init__(self, rows: dict[str, Row] | None = None) -> None:
        self.rows: dict[str, Row] = {} if rows is None else rows

    async def get(self, id: str) -> Row | None:
        return self.rows.get(id)

    async def get_by_number(self, number: int) -> Row | None:
        return next((row for row in self.rows.values() if row.number == number), None)

    async def add(self, row: Row) -> None:
        if row.id in self.rows:
            raise Conflict(f"{row.id} is already stored")
        if await self.get_by_number(row.number) is not None:
            raise Conflict(f"number {row.number} is already taken")
        self.rows[row.id] = row

    async def update(self, row: Row) -> None:
        if row.id not in self.rows:
            raise AssertionError(f"{row.id} is not stored")
        self.rows[row.id] = row

    async def next_number(self) -> int:
        return max((row.number for row in self.rows.values()), default=0) + 1

    def _select(
        self, keep: Callable[[Row], bool], limit: int, beyond: int | None = None
    ) -> builtins.list[Row]:
        def past(row: Row) -> bool:
            if beyond is None:
                return True
            return row.number < beyond if self.newest_first else row.number > beyond

        found = sorted(
            (row for row in self.rows.values() if keep(row) and past(row)),
            key=lambda row: row.number,
            reverse=self.newest_first,
        )
        return found[:limit]

    def _count(self, statuses: tuple[str, ...]) -> dict[str, int]:
        counts = dict.fromkeys(statuses, 0)
        for row in self.rows.values():
            counts[row.status] += 1  # type: ignore[union-attr]
        return counts


class InMemoryTodos(_Rows[Todo]):
    async def list(self, status: str | None = None, limit: int = 100) -> builtins.list[Todo]:
        return self._select(lambda t: status is None or t.status == status, limit)

    async def find(self, filter: TodoFilter, after: Key | None, limit: int) -> builtins.list[Todo]:
        if filter.sort == "number":
            return self._select(filter.keeps, limit, None if after is None else int(after[0]))  # type: ignore[arg-type]
        found = sorted(
            (t for t in self.rows.values() if filter.keeps(t)),
            key=lambda t: sort_key(filter.key_of(t)),
        )
        if after is not None:
            found = [t for t in found if sort_key(filter.key_of(t)) > sort_key(after)]
        return found[:limit]

    async def count(self, filter: TodoFilter) -> int:
        return sum(1 for t in self.rows.values() if filter.keeps(t))

    async def count_by_status(self) -> dict[str, int]:
        return self._count(TODO_STATUSES)


class InMemoryNotes(_Rows[Note]):
    newest_first = True

    async def list(
        self,
        search: str | None = None,
        limit: int = 100,
        status: str | None = "active",
        *,
        before: int | None = None,
    ) -> builtins.list[Note]:
        return self._select(self._keeps(search, status), limit, before)

    async def count(self, status: str | None = "active", search: str | None = None) -> int:
        keep = self._keeps(search, status)
        return sum(1 for n in self.rows.values() if keep(n))

    @staticmethod
    def _keeps(search: str | None, status: str | None) -> Callable[[Note], bool]:
        needle = (search or "").casefold()
        return lambda n: (
            (status is None or n.status == status)
            and (needle in n.title.casefold() or needle in n.content.casefold())
        )


class InMemoryTracks(_Rows[Track]):
    async def list(
        self, status: str | None = None, limit: int = 100, *, after: int | None = None
    ) -> builtins.list[Track]:
        return self._select(lambda t: status is None or t.status == status, limit, after)

    async def count_by_status(self) -> dict[str, int]:
        return self._count(TRACK_STATUSES)


class InMemoryDecisions(_Rows[Decision]):
    newest_first = True

    async def list(
        self, status: str | None = None, limit: int = 100, *, before: int | None = None
    ) -> builtins.list[Decision]:
        return self._select(lambda d: status is None or d.status == status, limit, before)

    async def count_by_status(self) -> dict[str, int]:
        return self._count(DECISION_STATUSES)


class InMemorySearch:
    """Objects' entries in a dict by (kind, number); messages straight from the log's
    list, but for those that made an object (`sources`: the objects' source_event_seq).
    Ranked as the databases rank (a title hit worth ten in a body; messages newest
    first), by counting matches instead of bm25 or ts_rank."""

    def __init__(
        self,
        entries: dict[tuple[str, int], SearchEntry] | None = None,
        events: list[RecordedEvent] | None = None,
        sources: Callable[[], set[int]] | None = None,
    ) -> None:
        self.entries: dict[tuple[str, int], SearchEntry] = {} if entries is None else entries
        self._events = [] if events is None else events
        self._sources = sources or set

    async def put(self, entry: SearchEntry) -> None:
        self.entries[entry.kind, entry.number] = entry

    async def remove(self, kind: str, number: int) -> None:
        self.entries.pop((kind, number), None)

    async def find_objects(
        self, query: SearchQuery, kinds: Sequence[str], offset: int, limit: int
    ) -> tuple[builtins.list[Found], int]:
        ranked: list[tuple[tuple[int, int, int], Found]] = []
        for entry in self.entries.values():
            score = _score(query, entry.title, entry.body)
            if entry.kind in kinds and score is not None:
                found = Found(entry.kind, entry.number, entry.title, entry.body, entry.status)
                ranked.append(((score, SEARCH_KINDS.index(entry.kind), entry.number), found))
        ranked.sort(key=lambda pair: pair[0])
        return [found for _, found in ranked[offset : offset + limit]], len(ranked)

    async def find_messages(
        self, query: SearchQuery, offset: int, limit: int
    ) -> tuple[builtins.list[Found], int]:
        made_objects = self._sources()
        newest_first = [
            Found(MESSAGE, event.seq, "", text, None)
            for event in reversed(self._events)
            if event.type == MESSAGE_INGESTED
            and event.seq not in made_objects
            and searchable_message(text := event.payload.get("text"))
            and _score(query, "", text) is not None
        ]
        return newest_first[offset : offset + limit], len(newest_first)


def _score(query: SearchQuery, title: str, body: str) -> int | None:
    """Lower is better; None when a phrase is in neither field."""
    score = 0
    for phrase in query.phrases:
        alone = SearchQuery((phrase,))
        in_title, in_body = len(matches(title, alone)), len(matches(body, alone))
        if not in_title and not in_body:
            return None
        score -= 10 * in_title + in_body
    return score


class _HoldsRows(Protocol):
    todos: dict[str, Todo]
    notes: dict[str, Note]
    tracks: dict[str, Track]
    decisions: dict[str, Decision]


class InMemoryReadModels:
    """The four repositories and the search index, over the given state's dicts (and its
    log, for the messages) or fresh empty ones."""

    def __init__(self, state: _HoldsRows | None = None) -> None:
        self.todos = InMemoryTodos(state.todos if state else None)
        self.notes = InMemoryNotes(state.notes if state else None)
        self.tracks = InMemoryTracks(state.tracks if state else None)
        self.decisions = InMemoryDecisions(state.decisions if state else None)
        self.search = InMemorySearch(
            _search_entries(state), getattr(state, "events", None) if state else None, self._sources
        )

    def _sources(self) -> set[int]:
        """The seqs the objects came from (`source_event_seq`), of every kind and status."""
        repositories: tuple[_Rows[Any], ...] = (self.todos, self.notes, self.tracks, self.decisions)
        return {row.source_event_seq for rows in repositories for row in rows.rows.values()}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every row of every model, for comparing a rebuild with the live path."""
        return {
            "todos": dict(self.todos.rows),
            "notes": dict(self.notes.rows),
            "tracks": dict(self.tracks.rows),
            "decisions": dict(self.decisions.rows),
        }


def attach_read_models(uow: Any, state: _HoldsRows) -> None:
    """Give a fake unit of work the four repositories and the search index over `state`'s
    dicts."""
    models = InMemoryReadModels(state)
    uow.todos, uow.notes = models.todos, models.notes
    uow.tracks, uow.decisions = models.tracks, models.decisions
    uow.search = models.search


def _search_entries(state: _HoldsRows | None) -> dict[tuple[str, int], SearchEntry] | None:
    """The state's search entries, kept on it (and so copied and committed with it) from
    the first unit of work that asks."""
    if state is None:
        return None
    entries = getattr(state, "search", None)
    if entries is None:
        entries = {}
        state.search = entries  # type: ignore[attr-defined]
    return entries
