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

Nothing is acknowledged before the commit, so nothing acknowledged waits here; a rollback
drops what is here. tests/integration/test_postgres_pending_rows.py pins the reads that
see held rows and the unique keys that still refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from domain.events import RecordedEvent
from infrastructure.postgres.driver import COPY_FROM, translated, unnest_insert

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
    RECORD_COLUMNS' and OBJECT_COLUMNS' order; messages as (seq, tsvector literal). An
    object's entry replaces one held for the same object (the upsert takes each once)."""

    def __init__(self, driver: asyncpg.Connection) -> None:
        self._driver = driver
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

    def add_messages(self, rows: Sequence[tuple[int, str]]) -> None:
        self._messages += rows

    async def write(self) -> None:
        events, records, messages = self._events, self._records, self._messages
        objects = list(self._objects.values())
        if not (events or records or objects or messages):
            return
        self._events, self._records, self._messages = [], [], []
        self._objects = {}
        with translated():
            if len(events) >= COPY_FROM:
                await self._copy("events", EVENT_COLUMNS, events)
                events = []
            if len(records) >= COPY_FROM:
                await self._copy("idempotency_records", RECORD_COLUMNS, records)
                records = []
            if events or records or objects or messages:
                await self._driver.execute(
                    WRITE,
                    *_arrays(events, len(EVENT_COLUMNS)),
                    *_arrays(records, len(RECORD_COLUMNS)),
                    *_arrays(objects, len(OBJECT_COLUMNS)),
                    *_arrays(messages, 2),
                )

    async def _copy(
        self, table: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]
    ) -> None:
        names = [name for name, _ in columns]
        await self._driver.copy_records_to_table(table, records=rows, columns=names)


def _arrays(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """The rows as one array per column (unnest's parameters); empty arrays for none."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]
