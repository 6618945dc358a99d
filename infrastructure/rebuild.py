"""Rebuild the read models from the event log: empty them, replay every event, commit.

One write unit of work holds the writer lock from the first DELETE to the COMMIT, so no
append interleaves and readers see either the old rows or the new ones, never a mix.

The rows come from the same `project` the live path uses, and the idempotency records
from the same `idempotency_records_of`, so a rebuild reproduces them exactly. Only the
writing is batched: each page of events is projected into memory, the objects it changes
that earlier pages created are loaded with one query per table, and what the page made
is written with one multi-row statement per table, instead of a round trip per event.

The search index is emptied too: objects' entries come back through `project` (staged as
the rows are), the messages' through the backend's `reindex_messages`, a window at a time,
with the words their appends gave them. Messages are not a projected type (most of a log
is messages, and nothing else of them is a read model): only their seq and text are read,
and no event is built of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import RecordedEvent
from domain.ingest import idempotency_records_of
from domain.messages import MESSAGE_INGESTED
from domain.objects import (
    DECISION,
    DECISION_RECORDED,
    NOTE,
    NOTE_RECORDED,
    TODO,
    TODO_CREATED,
    TRACK,
    TRACK_STARTED,
)
from domain.projections import PROJECTED_TYPES, project
from domain.search_index import SearchEntry
from infrastructure.read_models import (
    DECISION_ROWS,
    NOTE_ROWS,
    TODO_ROWS,
    TRACK_ROWS,
    Model,
    RowCodec,
)
from infrastructure.tables import idempotency_records
from infrastructure.unit_of_work import SqlUnitOfWorkFactory, StoredSearch

Progress = Callable[[int], None]

# Events that bring an object into being; every other event of an object changes one
# that an earlier event created, possibly in an earlier page.
_CREATIONS = frozenset({TODO_CREATED, NOTE_RECORDED, TRACK_STARTED, DECISION_RECORDED})
# Well under SQLite's 32766 and asyncpg's 32767 bound parameters per statement.
_IDS_PER_QUERY = 1000


@dataclass(frozen=True)
class RebuildReport:
    """How many events were replayed and how many rows each read model holds now."""

    events: int
    todos: int
    notes: int
    tracks: int
    decisions: int
    idempotency: int


async def rebuild_read_models(
    uow_factory: SqlUnitOfWorkFactory,
    *,
    page_size: int = 5000,
    progress: Progress | None = None,
) -> RebuildReport:
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    codecs = (TODO_ROWS, NOTE_ROWS, TRACK_ROWS, DECISION_ROWS)
    tables = [codec.table for codec in codecs] + [idempotency_records]
    async with uow_factory(write=True) as uow:
        conn = uow.connection
        for table in tables:
            await conn.execute(table.delete())
        await uow.search.clear()
        # Pages are windows of `page_size` seqs (seq is gap-free), of which only the
        # events that change a read model are read.
        replayed = (await uow.events.head()).last_seq
        after = 0
        while after < replayed:
            upto = min(after + page_size, replayed)
            if page := await uow.events.read_keyed_or_typed(
                after, upto, _MATTERS, MESSAGE_INGESTED
            ):
                await _replay(conn, uow.search, page)
            await uow.search.reindex_messages(after, upto)
            if progress is not None:
                progress(upto - after)
            after = upto
        counts = [await conn.scalar(select(func.count()).select_from(t)) for t in tables]
        await uow.commit()
    return RebuildReport(replayed, *(int(count or 0) for count in counts))


# Only these events change a read model: the projected types, and messages that carry
# idempotency keys (idempotency_records_of). The rest (most of a log: plain messages,
# notifications) need not be read back at all, where the store can leave them out.
_MATTERS = tuple(sorted(PROJECTED_TYPES))


async def _replay(conn: AsyncConnection, search: StoredSearch, page: list[RecordedEvent]) -> None:
    models = _PageModels(search)
    await models.preload(conn, page)
    records: list[dict[str, Any]] = []
    for event in page:
        await project(event, models)  # type: ignore[arg-type]  # get/add/update suffice
        records.extend(
            {"key": r.key, "event_seq": r.event_seq, "request_hash": r.request_hash}
            for r in idempotency_records_of(event)
        )
    await models.flush(conn)
    if records:
        await conn.execute(idempotency_records.insert(), records)


class _Staged(Generic[Model]):
    """One read model for one page: the get/add/update that `project` uses, in memory."""

    def __init__(self, codec: RowCodec[Model]) -> None:
        self.codec: RowCodec[Model] = codec
        self._rows: dict[str, Model] = {}
        # dicts as insertion-ordered sets: rows are written in the order the log made them
        self._added: dict[str, None] = {}
        self._changed: dict[str, None] = {}

    async def get(self, id: str) -> Model | None:
        return self._rows.get(id)

    async def add(self, obj: Model) -> None:
        if obj.id in self._rows:
            raise ValueError(f"{self.codec.table.name}: {obj.id} is already stored")
        self._rows[obj.id] = obj
        self._added[obj.id] = None

    async def update(self, obj: Model) -> None:
        if obj.id not in self._rows:
            raise LookupError(f"{self.codec.table.name}: {obj.id} is not stored")
        self._rows[obj.id] = obj
        if obj.id not in self._added:
            self._changed[obj.id] = None

    async def preload(self, conn: AsyncConnection, ids: Iterable[str]) -> None:
        """Load the rows earlier pages wrote, so `get` finds them without a query."""
        id_column, ids = self.codec.table.c.id, list(ids)
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            query = select(*self.codec.columns).where(id_column.in_(chunk))
            for row in await conn.execute(query):
                obj = self.codec.from_row(row)
                self._rows[obj.id] = obj

    async def flush(self, conn: AsyncConnection) -> None:
        table, to_row = self.codec.table, self.codec.to_row
        if self._added:
            await conn.execute(table.insert(), [to_row(self._rows[id]) for id in self._added])
        if self._changed:
            rows = [to_row(self._rows[id]) for id in self._changed]
            for row in rows:
                row["_id"] = row.pop("id")
            await conn.execute(table.update().where(table.c.id == bindparam("_id")), rows)


class _StagedSearch:
    """The search index for one page: entries put and removed, by kind and number, the
    last word kept; written at the end of the page."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], SearchEntry | None] = {}

    async def put(self, entry: SearchEntry) -> None:
        self._entries[entry.kind, entry.number] = entry

    async def remove(self, kind: str, number: int) -> None:
        self._entries[kind, number] = None

    async def flush(self, search: StoredSearch) -> None:
        for (kind, number), entry in self._entries.items():
            if entry is None:
                await search.remove(kind, number)
        await search.put_many([entry for entry in self._entries.values() if entry is not None])


class _PageModels:
    """The staged models under the names `project` expects of ReadModels."""

    def __init__(self, search: StoredSearch) -> None:
        self._index = search
        self.search = _StagedSearch()
        self.todos = _Staged(TODO_ROWS)
        self.notes = _Staged(NOTE_ROWS)
        self.tracks = _Staged(TRACK_ROWS)
        self.decisions = _Staged(DECISION_ROWS)
        self._by_kind: dict[str, _Staged[Any]] = {
            TODO: self.todos,
            NOTE: self.notes,
            TRACK: self.tracks,
            DECISION: self.decisions,
        }

    async def preload(self, conn: AsyncConnection, page: list[RecordedEvent]) -> None:
        wanted: dict[str, dict[str, None]] = {kind: {} for kind in self._by_kind}
        for event in page:
            if event.aggregate_type in wanted and event.type not in _CREATIONS:
                wanted[event.aggregate_type][event.aggregate_id] = None
        for kind, ids in wanted.items():
            if ids:
                await self._by_kind[kind].preload(conn, ids)

    async def flush(self, conn: AsyncConnection) -> None:
        for staged in self._by_kind.values():
            await staged.flush(conn)
        await self.search.flush(self._index)
