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

A message's search row is held as its text, and its tsvector literal spelled (search.py)
when the rows are written: while a COPY is on the server, here, a slice at a time between
the COPY's turns on the event loop (`_spelled_meanwhile`), so that the two overlap instead
of adding up (a /ingest/batch of 1000 messages spends ~3.6 ms of CPU spelling, inside the
event log's lock).

Nothing is acknowledged before the commit, so nothing acknowledged waits here; a rollback
drops what is here. tests/integration/test_postgres_pending_rows.py pins the reads that
see held rows and the unique keys that still refuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
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
# Messages spelled between two turns of a COPY running meanwhile: ~0.2 ms of CPU.
_SPELLED_PER_TURN = 64

# A message's text -> its tsvector literal, or None if it is not searchable (search.py).
Speller = Callable[[Any], str | None]


class PendingRows:
    """The events, idempotency records, objects' search entries and messages' search rows
    of one write transaction, in the order they came, written by `write` in one statement
    (plus a COPY for a table with COPY_FROM rows or more). Values are in EVENT_COLUMNS',
    RECORD_COLUMNS' and OBJECT_COLUMNS' order; messages as (seq, text), spelled by
    `speller` when written. An object's entry replaces one held for the same object (the
    upsert takes each once)."""

    def __init__(self, driver: asyncpg.Connection, speller: Speller) -> None:
        self._driver = driver
        self._speller = speller
        self._events: list[tuple[Any, ...]] = []
        self._records: list[tuple[Any, ...]] = []
        self._objects: dict[tuple[str, int], tuple[Any, ...]] = {}
        self._messages: list[tuple[int, Any]] = []

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

    def add_messages(self, texts: Sequence[tuple[int, Any]]) -> None:
        """Messages' (seq, text), indexed when written (if searchable)."""
        self._messages += texts

    async def write(self) -> None:
        events, records, texts = self._events, self._records, self._messages
        objects = list(self._objects.values())
        if not (events or records or objects or texts):
            return
        self._events, self._records, self._messages = [], [], []
        self._objects = {}
        copied_events = len(events) >= COPY_FROM
        copied_records = len(records) >= COPY_FROM
        with translated():
            if copied_events or copied_records:
                copies = self._copies(
                    events if copied_events else [], records if copied_records else []
                )
                messages = await self._spelled_meanwhile(copies, texts)
            else:
                messages = self._spelled(texts)
            if copied_events:
                events = []
            if copied_records:
                records = []
            if events or records or objects or messages:
                await self._driver.execute(
                    WRITE,
                    *_arrays(events, len(EVENT_COLUMNS)),
                    *_arrays(records, len(RECORD_COLUMNS)),
                    *_arrays(objects, len(OBJECT_COLUMNS)),
                    *_arrays(messages, 2),
                )

    async def _copies(self, events: list[tuple[Any, ...]], records: list[tuple[Any, ...]]) -> None:
        if events:
            await self._copy("events", EVENT_COLUMNS, events)
        if records:
            await self._copy("idempotency_records", RECORD_COLUMNS, records)

    async def _copy(
        self, table: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]]
    ) -> None:
        names = [name for name, _ in columns]
        await self._driver.copy_records_to_table(table, records=rows, columns=names)

    def _spelled(self, texts: Sequence[tuple[int, Any]]) -> list[tuple[int, str]]:
        spell = self._speller
        return [(seq, document) for seq, said in texts if (document := spell(said)) is not None]

    async def _spelled_meanwhile(
        self, copies: Awaitable[None], texts: list[tuple[int, Any]]
    ) -> list[tuple[int, str]]:
        """`texts` spelled while `copies` runs: a slice, then the event loop's turn, on
        which the COPY sends its rows or hears back from the server. Its error, if any,
        after."""
        copying = asyncio.ensure_future(copies)
        spelled: list[tuple[int, str]] = []
        try:
            for start in range(0, len(texts), _SPELLED_PER_TURN):
                await asyncio.sleep(0)
                spelled += self._spelled(texts[start : start + _SPELLED_PER_TURN])
        except BaseException:
            copying.cancel()
            with suppress(Exception, asyncio.CancelledError):
                await copying
            raise
        await copying
        return spelled


def _arrays(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """The rows as one array per column (unnest's parameters); empty arrays for none."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]
