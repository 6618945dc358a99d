"""The event log's hot statements on SQLite, straight to the driver.

Through SQLAlchemy's aiosqlite adapter one statement costs up to four trips to the
driver's thread (open a cursor, execute, fetch, close), and each trip waits for the
event loop to come round again, behind whatever the HTTP side has queued. These helpers
use aiosqlite's own one-trip calls on the unit of work's connection, inside the same
transaction. Values are written exactly as SQLAlchemy's column types would write them
(tests/integration/test_event_store_contract.py reads them back both ways): JSON as
`canonical_json` text, times as naive UTC `YYYY-MM-DD HH:MM:SS.ffffff`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.chain import SealedRow
from domain.errors import Conflict, StorageUnavailable
from domain.events import RecordedEvent
from infrastructure.database import cause
from infrastructure.tables import NOT_INDEXED_TYPE

_EVENT_COLUMNS = ("seq, event_id, type, aggregate_type, aggregate_id, payload, metadata, "
                  "idempotency_key, occurred_at, recorded_at, schema_version, prev_hash, hash")
SELECT_EVENTS = f"SELECT {_EVENT_COLUMNS} FROM events"
INSERT_EVENT = f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES ({', '.join('?' * 13)})"


# Where driver_of keeps the aiosqlite connection: in the pooled connection's `info`,
# which lives as long as the DBAPI connection and is cleared when the pool replaces it.
_DRIVER_KEY = "helionyx.aiosqlite"


async def driver_of(conn: AsyncConnection) -> Any:
    """The aiosqlite connection under a SQLAlchemy one. Asking SQLAlchemy for it costs a
    greenlet switch, and the hot paths need it for every statement: it is asked once per
    pooled connection and kept in the connection's `info`."""
    if not conn.invalidated:
        driver = conn.info.get(_DRIVER_KEY)
        if driver is not None:
            return driver
    driver = (await conn.get_raw_connection()).driver_connection
    conn.info[_DRIVER_KEY] = driver
    return driver


async def begin(conn: AsyncConnection, *, immediate: bool) -> None:
    """BEGIN (IMMEDIATE: with the write lock), for a connection whose SQLAlchemy
    transaction was begun with BEGUN_BY_CALLER (infrastructure/database.py)."""
    # execute_fetchall: one trip, and the cursor is done with inside it.
    await (await driver_of(conn)).execute_fetchall("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def end_open_transaction(conn: AsyncConnection) -> None:
    """ROLLBACK, if the driver is still inside a transaction (no trip when it is not)."""
    driver = await driver_of(conn)
    if driver.in_transaction:
        await driver.rollback()


async def fetch_all(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> list[Any]:
    try:
        return list(await (await driver_of(conn)).execute_fetchall(sql, params))
    except sqlite3.OperationalError as e:
        raise StorageUnavailable("the database did not answer") from e


async def execute_many(conn: AsyncConnection, sql: str, rows: Iterable[Sequence[Any]]) -> None:
    """Raises the driver's own errors: the caller knows what an IntegrityError means.
    The statement has run to its end, so its cursor holds nothing worth a trip to close."""
    await (await driver_of(conn)).executemany(sql, rows)


async def page(conn: AsyncConnection, after_seq: int, limit: int,
               types: Sequence[str] | None) -> list[Any]:
    if types:
        marks = ", ".join("?" * len(types))
        # Spelled out so that the planner may use the partial ix_events_type_seq.
        indexed = "" if NOT_INDEXED_TYPE in types else f" AND type <> '{NOT_INDEXED_TYPE}'"
        sql = (f"{SELECT_EVENTS} WHERE seq > ? AND type IN ({marks}){indexed} "
               "ORDER BY seq LIMIT ?")
        return await fetch_all(conn, sql, (after_seq, *types, limit))
    return await fetch_all(conn, f"{SELECT_EVENTS} WHERE seq > ? ORDER BY seq LIMIT ?",
                           (after_seq, limit))


def stored_time(iso: str) -> str:
    """`iso_utc` text (YYYY-MM-DDTHH:MM:SS.ffffff+00:00) as SQLAlchemy stores it."""
    return f"{iso[:10]} {iso[11:26]}"


def _read_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def to_event(row: Sequence[Any]) -> RecordedEvent:
    (seq, event_id, type_, aggregate_type, aggregate_id, payload, metadata, key, occurred,
     recorded, version, prev_hash, hash_) = row
    return RecordedEvent(seq, event_id, type_, aggregate_type, aggregate_id,
                         json.loads(payload), json.loads(metadata), key, _read_time(occurred),
                         _read_time(recorded), version, prev_hash, hash_)


# The text each row's hash covers (domain.chain.sealed_text), spelled by SQLite itself:
# payload and metadata as stored (canonical_json text), strings through json_quote
# (which escapes as json.dumps(ensure_ascii=False) does), times turned back from
# `stored_time`, printf building each in one go. Built in the driver's thread, where
# the GIL is let go, so the event
# loop hashes one page while the next is read. Text that does not hash right decides
# nothing: EventLog.verify then judges that event by its parsed content. A row whose
# metadata or payload holds the key between them gets no text (NULL): only there could
# bytes moved from one into the other spell the same text (sqlite_chain_scan.py).
_SEALED = """SELECT seq, prev_hash, hash,
CASE WHEN instr(metadata, ',"occurred_at":"') = 0 AND instr(payload, ',"occurred_at":"') = 0
THEN printf(
  '{"aggregate_id":%s,"aggregate_type":%s,"event_id":%s,"idempotency_key":%s,'
  || '"metadata":%s,"occurred_at":"%sT%s+00:00","payload":%s,"prev_hash":%s,'
  || '"recorded_at":"%sT%s+00:00","schema_version":%d,"seq":%d,"type":%s}',
  json_quote(aggregate_id), json_quote(aggregate_type), json_quote(event_id),
  json_quote(idempotency_key), metadata, substr(occurred_at, 1, 10), substr(occurred_at, 12),
  payload, json_quote(prev_hash), substr(recorded_at, 1, 10), substr(recorded_at, 12),
  schema_version, seq, json_quote(type)) END
FROM events WHERE seq > ? ORDER BY seq LIMIT ?"""


async def sealed_page(conn: AsyncConnection, after_seq: int, limit: int) -> list[SealedRow]:
    return await fetch_all(conn, _SEALED, (after_seq, limit))


class PendingRows:
    """Rows a SQLite write transaction has yet to send: the event log's and the
    idempotency records', held until something reads those tables or the transaction
    commits, then written in one trip to the driver's thread (one executemany per
    statement, in the order the rows came), on commit together with the COMMIT.

    A group of messages otherwise took a trip for its events, one for their idempotency
    records and one for the COMMIT, and an import one per run of messages between two
    that derive something. Nothing is acknowledged before the commit, so nothing
    acknowledged waits here; a rollback drops what is here. A unique key already taken
    (an idempotency key, which the writer looked up under the lock) comes out of
    `write` or `write_and_commit` as Conflict, any other refusal as StorageUnavailable."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver  # the aiosqlite connection of the transaction
        self._rows: dict[str, list[Sequence[Any]]] = {}

    def add(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._rows.setdefault(sql, []).extend(rows)

    async def write(self) -> None:
        if self._rows:
            await self._send(commit=False)

    async def write_and_commit(self) -> None:
        await self._send(commit=True)

    async def _send(self, *, commit: bool) -> None:
        rows, self._rows = self._rows, {}
        try:
            # aiosqlite runs each of its calls as a function in its thread (`_execute`);
            # it has no public call for several statements in one trip.
            await self._driver._execute(_write, self._driver._conn, rows, commit)
        except sqlite3.IntegrityError as e:
            raise Conflict("an idempotency key is already recorded") from e
        except sqlite3.Error as e:
            raise StorageUnavailable(f"the database did not take the writes ({cause(e)})") from e


def _write(connection: sqlite3.Connection, rows: dict[str, list[Sequence[Any]]],
           commit: bool) -> None:
    """In the driver's thread."""
    for sql, values in rows.items():
        connection.executemany(sql, values)
    if commit:
        connection.commit()
