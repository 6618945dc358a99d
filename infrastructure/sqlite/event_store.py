"""The event log on SQLite, its statements straight to the driver.

Appends run inside a write unit of work that holds SQLite's write lock (BEGIN IMMEDIATE,
infrastructure/sqlite/unit_of_work.py) from before it read the head, so reading the head
and inserting after it cannot interleave with another writer: seq stays gap-free and the
chain never forks, across tasks and processes alike. Appended rows wait in `PendingRows`
until something reads the log or the transaction commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.chain import GENESIS_HASH
from domain.events import LogHead, NewEvent, RecordedEvent
from domain.ports import Clock
from infrastructure.sealing import seal
from infrastructure.sqlite.driver import driver_of
from infrastructure.sqlite.errors import translated
from infrastructure.sqlite.event_rows import HEAD, INSERT_EVENT, SELECT_EVENTS, to_event, to_row
from infrastructure.sqlite.pending_rows import PendingRows
from infrastructure.tables import NOT_INDEXED_TYPE, with_messages

# Well under SQLite's 32766 bound parameters per statement.
_SEQS_PER_QUERY = 1000


class SqliteEventStore:
    """`pending`: where a write transaction's rows wait (None in a read transaction);
    `head`: the head its unit of work read under the write lock, if it did."""

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
        rows = [to_row(item) for item in sealed]
        if self._pending is not None:
            self._pending.add(INSERT_EVENT, rows)
        else:
            with translated("take the events"):
                await (await driver_of(self._conn)).executemany(INSERT_EVENT, rows)
        recorded = [item.event for item in sealed]
        self._head = LogHead(recorded[-1].seq, recorded[-1].hash)
        self.appended += recorded
        return recorded

    async def get(self, seq: int) -> RecordedEvent | None:
        found = await self._select("seq = ?", (seq,))
        return found[0] if found else None

    async def get_many(self, seqs: Sequence[int]) -> dict[int, RecordedEvent]:
        found: dict[int, RecordedEvent] = {}
        seqs = sorted(set(seqs))
        for start in range(0, len(seqs), _SEQS_PER_QUERY):
            chunk = seqs[start : start + _SEQS_PER_QUERY]
            for event in await self._select(
                f"seq IN ({', '.join('?' * len(chunk))})", tuple(chunk)
            ):
                found[event.seq] = event
        return found

    async def get_by_idempotency_key(self, key: str) -> RecordedEvent | None:
        found = await self._select("idempotency_key = ?", (key,))
        return found[0] if found else None

    async def read(
        self, *, after_seq: int = 0, limit: int = 100, types: Sequence[str] | None = None
    ) -> list[RecordedEvent]:
        if not types:
            return await self._select("seq > ? ORDER BY seq LIMIT ?", (after_seq, limit))
        # Spelled out so that the planner may use the partial ix_events_type_seq.
        indexed = "" if NOT_INDEXED_TYPE in types else f" AND type <> '{NOT_INDEXED_TYPE}'"
        return await self._select(
            f"seq > ? AND type IN ({', '.join('?' * len(types))}){indexed} ORDER BY seq LIMIT ?",
            (after_seq, *types, limit),
        )

    async def history(
        self, aggregate_id: str, *, after_seq: int = 0, limit: int = 200
    ) -> list[RecordedEvent]:
        # Spelled out so that the planner may use the partial ix_events_aggregate_seq.
        return await self._select(
            f"aggregate_id = ? AND type <> '{NOT_INDEXED_TYPE}' AND seq > ? ORDER BY seq LIMIT ?",
            (aggregate_id, after_seq, limit),
        )

    async def read_keyed_or_typed(
        self, after_seq: int, upto: int, types: Sequence[str], keyed_type: str
    ) -> list[RecordedEvent]:
        """The events in (after_seq, upto] of `types`, and those of `keyed_type` whose
        metadata may name idempotency keys (a superset: instr() finds the word; the
        caller decides), in seq order: what a rebuild reads."""
        return await self._select(
            f"seq > ? AND (type IN ({', '.join('?' * len(types))}) OR (type = ? AND "
            "instr(metadata, '\"idempotency_keys\"') > 0)) AND seq <= ? ORDER BY seq",
            (after_seq, *types, keyed_type, upto),
        )

    async def head(self) -> LogHead:
        rows = await self._fetch(HEAD, ())
        return LogHead(rows[0][0], rows[0][1]) if rows else LogHead(0, GENESIS_HASH)

    async def count_by_type(self) -> dict[str, int]:
        """One pass over ix_events_type_seq, which leaves messages out (`with_messages`)."""
        rows = await self._fetch(
            f"SELECT type, count(*) FROM events WHERE type <> '{NOT_INDEXED_TYPE}' GROUP BY type",
            (),
        )
        return with_messages({type_: count for type_, count in rows}, (await self.head()).count)

    async def _select(self, where: str, params: tuple[Any, ...]) -> list[RecordedEvent]:
        return [
            to_event(row) for row in await self._fetch(f"{SELECT_EVENTS} WHERE {where}", params)
        ]

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Rows appended but not yet sent go first: a read sees its own transaction's."""
        if self._pending is not None:
            await self._pending.write()
        with translated("answer"):
            return list(await (await driver_of(self._conn)).execute_fetchall(sql, params))
