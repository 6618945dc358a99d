"""Rows a PostgreSQL write transaction holds back until something reads them or it commits.

A group of messages took one statement for its events, one for their idempotency records
and one for their search rows before the COMMIT; an import batch one of each per run of
messages between two that derive something (840 inserts of events and 400 of records for
20,000 messages). Held here, they go in one statement: data-modifying CTEs insert the
events and the records and upsert the derived objects' search entries, and the main
INSERT the messages' search rows
(https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING). The
four tables have no foreign keys or insert triggers between them, so the order in which
PostgreSQL runs the parts does not matter, and a unique key taken fails the statement as
it failed its own INSERT. From COPY_FROM rows on, the events' and the records' rows go
by COPY first (driver.py).

The messages' search documents (tsvector literals, ~4 us a message) are made while the
COPY runs, the server storing one table while the writer spells the next one's rows:
/ingest/batch on PostgreSQL 32,300-32,600 -> 34,200-35,600 events/s (docs/PERFORMANCE.md,
round 15). asyncpg runs one operation at a time on a connection, so nothing else is sent
until the COPY is over; a write cancelled or failed meanwhile cancels the COPY and waits
for it before it gives the connection back.

Nothing is acknowledged before the commit, so nothing acknowledged waits here; a rollback
drops what is here. tests/integration/test_postgres_pending_rows.py pins the reads that
see held rows and the unique keys that still refuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

import asyncpg

from domain.events import RecordedEvent
from infrastructure.postgres.driver import COPY_FROM, translated, unnest_insert
from infrastructure.postgres.errors import DRIVER_ERRORS

EVENT_COLUMNS = tuple(
    (
        name,
        {
            "seq": "bigint",
            "schema_version": "int",
            "occurred_at": "timestamptz",
            "recorded_at": "timestamptz",
        }.get(name, "text"),
    )
    for name in RecordedEvent._fields
)
RECORD_COLUMNS = (("key", "text"), ("event_seq", "bigint"), ("request_hash", "text"))
# An object's search entry (search.py `object_values`), its document a tsvector literal.
OBJECT_COLUMNS = (
    ("kind", "text"),
    ("number", "int"),
    ("status", "text"),
    ("title", "text"),
    ("body", "text"),
    ("document", "text"),
)
# Messages whose documents are made between two turns of the event loop while a COPY runs
# (`PendingRows._documents`): ~0.2 ms of work.
_DOCUMENTS_SLICE = 50
_RECORDS_FROM = len(EVENT_COLUMNS) + 1
_OBJECTS_FROM = _RECORDS_FROM + len(RECORD_COLUMNS)
_MESSAGES_FROM = _OBJECTS_FROM + len(OBJECT_COLUMNS)
_OBJECT_ARRAYS = ", ".join(
    f"${i}::{kind}[]" for i, (_, kind) in enumerate(OBJECT_COLUMNS, _OBJECTS_FROM)
)
WRITE = (
    f"WITH new_events AS ({unnest_insert('events', EVENT_COLUMNS)}), "
    "new_records AS "
    f"({unnest_insert('idempotency_records', RECORD_COLUMNS, first=_RECORDS_FROM)}), "
    "new_objects AS (INSERT INTO search_objects (kind, number, status, title, body, document) "
    "SELECT kind, number, status, title, body, CAST(document AS tsvector) "
    f"FROM unnest({_OBJECT_ARRAYS}) AS o(kind, number, status, title, body, document) "
    "ON CONFLICT (kind, number) DO UPDATE SET status = EXCLUDED.status, "
    "title = EXCLUDED.title, body = EXCLUDED.body, document = EXCLUDED.document) "
    "INSERT INTO search_messages (seq, document) SELECT seq, CAST(document AS tsvector) "
    f"FROM unnest(${_MESSAGES_FROM}::bigint[], ${_MESSAGES_FROM + 1}::text[]) "
    "AS m(seq, document) "
    # A seq indexed before is indexed again: a log cut back and written on (an operator
    # who accepted a contradicted log) reuses seqs, and its new messages must not fail.
    "ON CONFLICT (seq) DO UPDATE SET document = EXCLUDED.document"
)


class PendingRows:
    """The events, idempotency records, objects' search entries and messages' search rows
    of one write transaction, in the order they came, written by `write` in one statement
    (plus a COPY for a table with COPY_FROM rows or more). Values are in EVENT_COLUMNS',
    RECORD_COLUMNS' and OBJECT_COLUMNS' order; messages as (seq, text), whose search
    documents `document` makes (a tsvector literal) as they are written. An object's entry
    replaces one held for the same object (the upsert takes each once)."""

    def __init__(self, driver: asyncpg.Connection, document: Callable[[str], str]) -> None:
        self._driver = driver
        self._document = document
        self._events: list[tuple[Any, ...]] = []
        self._records: list[tuple[Any, ...]] = []
        self._objects: dict[tuple[str, int], tuple[Any, ...]] = {}
        self._messages: list[tuple[int, str]] = []

    @property
    def driver(self) -> asyncpg.Connection:
        """The asyncpg connection of the transaction (for the writer's own reads)."""
        return self._driver

    def add_events(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._events += rows

    def add_records(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._records += rows

    def add_object(self, row: tuple[Any, ...]) -> None:
        self._objects[row[0], row[1]] = row

    def add_messages(self, texts: Sequence[tuple[int, str]]) -> None:
        self._messages += texts

    async def write(self) -> None:
        events, records, texts = self._events, self._records, self._messages
        objects = list(self._objects.values())
        if not (events or records or objects or texts):
            return
        self._events, self._records, self._messages = [], [], []
        self._objects = {}
        with translated():
            copied_events, events = _by_copy(events)
            copied_records, records = _by_copy(records)
            copying = None
            if copied_events or copied_records:
                copying = asyncio.ensure_future(self._copy_many(copied_events, copied_records))
            try:
                messages = await self._documents(texts, copying)
                if copying is not None:
                    await copying
            finally:
                if copying is not None:  # over before the connection goes on or back
                    if not copying.done():  # cancelled, or a bug
                        copying.cancel()
                    with suppress(asyncio.CancelledError, *DRIVER_ERRORS):
                        await copying  # its outcome taken, whatever it was
            if events or records or objects or messages:
                await self._driver.execute(
                    WRITE,
                    *_arrays(events, len(EVENT_COLUMNS)),
                    *_arrays(records, len(RECORD_COLUMNS)),
                    *_arrays(objects, len(OBJECT_COLUMNS)),
                    *_arrays(messages, 2),
                )

    async def _copy_many(
        self, events: list[tuple[Any, ...]], records: list[tuple[Any, ...]]
    ) -> None:
        if events:
            await self._copy("events", EVENT_COLUMNS, events)
        if records:
            await self._copy("idempotency_records", RECORD_COLUMNS, records)

    async def _copy(
        self, table: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]
    ) -> None:
        names = [name for name, _ in columns]
        await self._driver.copy_records_to_table(table, records=rows, columns=names)

    async def _documents(
        self, texts: list[tuple[int, str]], copying: asyncio.Future[None] | None
    ) -> list[tuple[int, str]]:
        """The messages' (seq, document). While a COPY runs, the server storing the rows
        sent, the documents are made a slice at a time, the event loop let run between
        slices so that the COPY goes on (its rows sent, the next table's COPY begun):
        the two overlap instead of following one another."""
        document = self._document
        made: list[tuple[int, str]] = []
        for start in range(0, len(texts), _DOCUMENTS_SLICE):
            made += [(seq, document(said)) for seq, said in texts[start : start + _DOCUMENTS_SLICE]]
            if copying is not None and not copying.done():
                await asyncio.sleep(0)
        return made


def _by_copy(rows: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(the rows to COPY, the rows for the one statement): all by COPY from COPY_FROM on."""
    return (rows, []) if len(rows) >= COPY_FROM else ([], rows)


def _arrays(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """The rows as one array per column (unnest's parameters); empty arrays for none."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]
