"""The event log on SQLAlchemy: one implementation for SQLite and PostgreSQL.

Appends run inside a unit of work that already holds the writer lock (SQLite's
BEGIN IMMEDIATE, PostgreSQL's transaction-scoped advisory lock), so reading the head
and inserting after it cannot interleave with another writer: seq stays gap-free and
the chain never forks, across tasks and processes alike.

Each event's payload and metadata are serialized to canonical JSON once: that text is
hashed (`domain.chain.sealed_text`: byte for byte what `event_hash` hashes) and stored
as is, on SQLite and PostgreSQL alike (TEXT, not JSONB, whose numbers are not the text
that was hashed: migration 20261206_0006); verify hashes that stored text. On SQLite the
hot statements also go to the driver directly (infrastructure/sqlite_rows.py): through
SQLAlchemy each costs four hops to aiosqlite's thread, directly one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import Row, Text, bindparam, func, select, text, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.chain import (
    GENESIS_HASH,
    SEALED_SPLIT,
    SealedRow,
    iso_utc,
    sealed_text,
)
from domain.errors import Conflict, InvalidInput, StorageUnavailable
from domain.events import LogHead, NewEvent, RecordedEvent
from domain.ids import new_uuids
from domain.ports import Clock
from infrastructure import sqlite_rows
from infrastructure.database import cause
from infrastructure.fast_json import canonical_json
from infrastructure.tables import NOT_INDEXED_TYPE, events

_COLUMNS = (
    events.c.seq, events.c.event_id, events.c.type, events.c.aggregate_type,
    events.c.aggregate_id, events.c.payload, events.c.metadata, events.c.idempotency_key,
    events.c.occurred_at, events.c.recorded_at, events.c.schema_version, events.c.prev_hash,
    events.c.hash,
)
# PostgreSQL: payload and metadata go in as the canonical text `_seal` hashed, bound as
# plain text (through the columns' own type they would be serialized once more).
_INSERT = events.insert().values(payload=bindparam("payload", type_=Text()),
                                 metadata=bindparam("metadata", type_=Text()))
# PostgreSQL: what read_sealed needs, payload and metadata as the stored text itself.
_SEALED_COLUMNS = (
    events.c.seq, events.c.prev_hash, events.c.hash, events.c.event_id, events.c.type,
    events.c.aggregate_type, events.c.aggregate_id, type_coerce(events.c.payload, Text()),
    type_coerce(events.c.metadata, Text()), events.c.idempotency_key, events.c.occurred_at,
    events.c.recorded_at, events.c.schema_version,
)
# Well under SQLite's 32766 and asyncpg's 32767 bound parameters per statement.
_SEQS_PER_QUERY = 1000
_JSON_SCALARS = (str, int, float, bool, type(None))


def as_json_value(value: Any) -> Any:
    """The value exactly as it will read back from the database, so the hash matches: a
    copy, parsed back from its canonical JSON."""
    return json.loads(_as_json(value)[1])


def _as_json(value: Any) -> tuple[Any, str]:
    """The value as it will read back, and its canonical JSON text. Plain JSON (str keys;
    str, finite numbers, bools, None, lists, dicts) reads back equal to itself, so only
    other values (tuples, int keys, ...) are parsed back from the text."""
    if value.__class__ is not dict and isinstance(value, Mapping):
        value = dict(value)  # read-only (NO_METADATA, ...): JSON knows only dicts
    try:
        text = canonical_json(value)
    except (TypeError, ValueError, RecursionError) as e:
        raise InvalidInput(f"not storable as JSON: {e}") from e
    return (value if _plain(value) else json.loads(text)), text


def _plain(value: Any) -> bool:
    # Loops rather than all(<generator>): this runs for every payload and metadata.
    kind = value.__class__
    if kind is dict:
        for key, item in value.items():
            if key.__class__ is not str or (item.__class__ not in _JSON_SCALARS
                                            and not _plain(item)):
                return False
        return True
    if kind is list:
        for item in value:  # noqa: SIM110 (all() over a generator is what this avoids)
            if item.__class__ not in _JSON_SCALARS and not _plain(item):
                return False
        return True
    return kind in _JSON_SCALARS


def row_to_event(row: Row[Any]) -> RecordedEvent:
    return RecordedEvent(*row)


class SqlEventStore:
    """With `pending` (SQLite, inside a write unit of work), appended rows wait there
    until something reads the log or the transaction commits (sqlite_rows.PendingRows);
    without it they are inserted at once."""

    def __init__(self, connection: AsyncConnection, clock: Clock,
                 pending: sqlite_rows.PendingRows | None = None) -> None:
        self._conn = connection
        self._clock = clock
        self._sqlite = connection.dialect.name == "sqlite"
        self._pending = pending
        self._head: LogHead | None = None
        self.appended: list[RecordedEvent] = []  # this transaction's, for the unit of work

    async def append(self, new_events: Sequence[NewEvent]) -> list[RecordedEvent]:
        if not new_events:
            return []
        head = self._head or await self.head()
        recorded_at = self._clock.now()
        recorded_iso = iso_utc(recorded_at)
        moment = (recorded_at, recorded_iso, sqlite_rows.stored_time(recorded_iso))
        recorded: list[RecordedEvent] = []
        rows: list[tuple[Any, ...]] = []
        prev_hash, seq = head.last_hash, head.last_seq
        # Events of one batch often share their metadata (the request's): serialize once.
        shared: tuple[Any, tuple[Any, str]] | None = None
        for new, event_id in zip(new_events, new_uuids(len(new_events)), strict=True):
            seq += 1
            if new.encoded is None and (shared is None or shared[0] is not new.metadata):
                shared = (new.metadata, _as_json(new.metadata))
            event, row = _seal(new, event_id, shared and shared[1], seq, prev_hash, moment)
            recorded.append(event)
            rows.append(row)
            prev_hash = event.hash
        await self._insert(recorded, rows)
        self._head = LogHead(seq, prev_hash)
        self.appended += recorded
        return recorded

    async def _insert(self, recorded: list[RecordedEvent], rows: list[tuple[Any, ...]]) -> None:
        if self._pending is not None:
            self._pending.add(sqlite_rows.INSERT_EVENT, rows)
            return
        if self._sqlite:
            try:
                await sqlite_rows.execute_many(self._conn, sqlite_rows.INSERT_EVENT, rows)
            except sqlite3.IntegrityError as e:
                raise Conflict("an event with this idempotency key is already recorded") from e
            except sqlite3.Error as e:
                raise StorageUnavailable(
                    f"the database did not take the events ({cause(e)})") from e
            return
        try:
            await self._conn.execute(_INSERT, [_as_dict(event, row) for event, row
                                               in zip(recorded, rows, strict=True)])
        except IntegrityError as e:
            raise Conflict("an event with this idempotency key is already recorded") from e

    async def get(self, seq: int) -> RecordedEvent | None:
        found = await self._select(events.c.seq == seq, "seq = ?", (seq,))
        return found[0] if found else None

    async def get_many(self, seqs: Sequence[int]) -> dict[int, RecordedEvent]:
        found: dict[int, RecordedEvent] = {}
        seqs = sorted(set(seqs))
        for start in range(0, len(seqs), _SEQS_PER_QUERY):
            chunk = seqs[start : start + _SEQS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            for event in await self._select(events.c.seq.in_(chunk), f"seq IN ({marks})",
                                            tuple(chunk)):
                found[event.seq] = event
        return found

    async def get_by_idempotency_key(self, key: str) -> RecordedEvent | None:
        found = await self._select(events.c.idempotency_key == key, "idempotency_key = ?",
                                   (key,))
        return found[0] if found else None

    async def read(
        self, *, after_seq: int = 0, limit: int = 100, types: Sequence[str] | None = None
    ) -> list[RecordedEvent]:
        await self._write_pending()
        if self._sqlite:
            return [sqlite_rows.to_event(row) for row in
                    await sqlite_rows.page(self._conn, after_seq, limit, types)]
        query = select(*_COLUMNS).where(events.c.seq > after_seq)
        if types:
            query = query.where(events.c.type.in_(types))
        query = query.order_by(events.c.seq).limit(limit)
        return [row_to_event(row) for row in await self._conn.execute(query)]

    async def read_sealed(self, *, after_seq: int = 0, limit: int = 10_000) -> list[SealedRow]:
        await self._write_pending()
        if self._sqlite:
            return await sqlite_rows.sealed_page(self._conn, after_seq, limit)
        # The text each hash covers, from payload and metadata as stored (not parsed and
        # spelled again): verify hashes what the database holds.
        query = (select(*_SEALED_COLUMNS).where(events.c.seq > after_seq)
                 .order_by(events.c.seq).limit(limit))
        return [_sealed_row(*row) for row in await self._conn.execute(query)]

    async def head(self) -> LogHead:
        await self._write_pending()
        if self._sqlite:
            rows = await sqlite_rows.fetch_all(
                self._conn, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1", ())
            return LogHead(rows[0][0], rows[0][1]) if rows else LogHead(0, GENESIS_HASH)
        query = select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)
        row = (await self._conn.execute(query)).first()
        return LogHead(row.seq, row.hash) if row else LogHead(0, GENESIS_HASH)

    async def count_by_type(self) -> dict[str, int]:
        """One pass over ix_events_type_seq (an index-only scan where the planner can).
        On SQLite that index leaves messages out; seq being gap-free from 1, they are
        what the head's count leaves over (a gap would be a broken chain: make verify)."""
        await self._write_pending()
        query = select(events.c.type, func.count()).group_by(events.c.type)
        if not self._sqlite:
            return {type_: count for type_, count in await self._conn.execute(query)}
        query = query.where(text(f"type <> '{NOT_INDEXED_TYPE}'"))  # as the index says
        counts = {type_: count for type_, count in await self._conn.execute(query)}
        messages = (await self.head()).count - sum(counts.values())
        return {**counts, NOT_INDEXED_TYPE: messages} if messages else counts

    async def _select(self, where: Any, sqlite_where: str,
                      params: tuple[Any, ...]) -> list[RecordedEvent]:
        await self._write_pending()
        if self._sqlite:
            rows = await sqlite_rows.fetch_all(
                self._conn, f"{sqlite_rows.SELECT_EVENTS} WHERE {sqlite_where}", params)
            return [sqlite_rows.to_event(row) for row in rows]
        return [row_to_event(row) for row in
                await self._conn.execute(select(*_COLUMNS).where(where))]

    async def _write_pending(self) -> None:
        """Rows appended but not yet sent go first: a read sees its own transaction's."""
        if self._pending is not None:
            await self._pending.write()


def _seal(new: NewEvent, event_id: str, metadata_as_json: tuple[Any, str] | None, seq: int,
          prev_hash: str, recorded: tuple[datetime, str, str]
          ) -> tuple[RecordedEvent, tuple[Any, ...]]:
    """`recorded`: the append's time as a datetime, in `iso_utc` form, as stored.
    `metadata_as_json`: `_as_json` of the metadata, unless the event comes encoded."""
    recorded_at, recorded_iso, recorded_stored = recorded
    # Unpacked once (NewEvent is a NamedTuple): each field is read several times below.
    type_, aggregate_type, aggregate_id, payload, metadata, key, occurred, version, encoded = new
    if encoded is None:
        assert metadata_as_json is not None
        payload, payload_json = _as_json(payload)
        metadata, metadata_json = metadata_as_json
        occurred_iso = None if occurred is None else iso_utc(occurred)
    else:
        payload_json, metadata_json, occurred_iso = encoded
    if occurred_iso is None:
        occurred_at, occurred_iso, occurred_stored = recorded
    else:
        occurred_at, occurred_stored = occurred, sqlite_rows.stored_time(occurred_iso)
    text = sealed_text(seq, event_id, type_, aggregate_type, aggregate_id, payload_json,
                       metadata_json, key, occurred_iso, recorded_iso, version, prev_hash)
    hash_ = sha256(text.encode("utf-8")).hexdigest()
    event = RecordedEvent(seq, event_id, type_, aggregate_type, aggregate_id, payload,
                          metadata, key, occurred_at, recorded_at, version, prev_hash, hash_)
    row = (seq, event_id, type_, aggregate_type, aggregate_id, payload_json, metadata_json,
           key, occurred_stored, recorded_stored, version, prev_hash, hash_)
    return event, row


def _sealed_row(seq: int, prev_hash: str, hash_: str, event_id: str, type_: str,
                aggregate_type: str, aggregate_id: str, payload: str, metadata: str,
                key: str | None, occurred: datetime, recorded: datetime,
                version: int) -> SealedRow:
    """The row with the text its hash covers, spelled from the stored payload and
    metadata; no text (the row is then judged by its parsed content) when either holds
    the key that stands between them, the one place where bytes moved from one column
    into the other (with a forged time between them) could spell the same text
    (infrastructure/sqlite_chain_scan.py says why nowhere else can)."""
    if SEALED_SPLIT in payload or SEALED_SPLIT in metadata:
        return seq, prev_hash, hash_, None
    return seq, prev_hash, hash_, sealed_text(
        seq, event_id, type_, aggregate_type, aggregate_id, payload, metadata, key,
        iso_utc(occurred), iso_utc(recorded), version, prev_hash)


def _as_dict(event: RecordedEvent, row: tuple[Any, ...]) -> dict[str, Any]:
    """The event's columns for `_INSERT`: payload and metadata as the canonical text in
    `row` (`_seal`'s), the very text the hash covers."""
    values = {column.name: getattr(event, column.name) for column in _COLUMNS}
    values["payload"], values["metadata"] = row[5], row[6]
    return values
