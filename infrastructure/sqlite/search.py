"""The search index on SQLite: two FTS5 tables (migration 20261207_0009).

- `search_objects (title, body, kind, number, status, shown_title, shown_body)`: an entry
  per todo, note, track and decision; `title` and `body` hold the words of the texts
  (domain/search_index.py), the `shown_*` columns the texts as they are (for snippets),
  and the rowid is the kind's place in SEARCH_KINDS << 32 | number, so an entry is put
  and removed by its rowid, without a lookup.
- `search_messages (body)`: contentless (`content=''`), rowid = the message's seq. A
  message's text is in the log already; the index keeps only its words' postings, and
  not the lengths bm25 would need (`columnsize=0`, 10 bytes a message: messages are
  found newest first). It is written in the transaction that appends the messages, with
  the rows the writer holds back (`PendingRows`), so in the same trip to the driver as
  the COMMIT.

The tokenizer is FTS5's `ascii`: runs of ASCII letters and digits, every non-ASCII
character a letter. It is handed the words the domain made, joined by spaces, so its
tokens are exactly those words, whatever SQLite's own Unicode tables say. An ASCII text
needs no folding: `ascii` lowercases it and cuts it where the domain's words would, so a
message in ASCII (most) goes in as it is, live and in a rebuild
(tests/unit/test_search_spelling.py holds the two spellings to each other).

Why not `unicode61 remove_diacritics 2`: it removes Latin diacritics only (not Greek
ones) and takes a run of CJK characters as one word. Why not `trigram` (SQLite >= 3.34):
no accent folding before 3.45 (3.40 here), nothing shorter than three characters, and
three times the index (123 bytes a short message against 38 for these words, measured
on 96,000 of the bench's messages).

What a message costs (measured): ~5 us of SQLite's CPU and ~26 bytes on disk; a
contentless table cannot replace a row, so a seq indexed twice (only after a log was cut
back and written on, which `make accept-log` allows) keeps both texts' words until
`make rebuild`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import RecordedEvent
from domain.messages import MESSAGE_INGESTED
from domain.search_index import (
    MAX_INDEXED_CHARS,
    MESSAGE,
    SEARCH_KINDS,
    WORD,
    Found,
    SearchEntry,
    SearchQuery,
    fold,
    searchable_message,
    words,
)
from infrastructure.sqlite.driver import driver_of, in_driver_thread
from infrastructure.sqlite.errors import translated
from infrastructure.sqlite.pending_rows import PendingRows
from infrastructure.tables import SOURCE_TABLES

PUT = (
    "INSERT OR REPLACE INTO search_objects (rowid, title, body, kind, number, status, "
    "shown_title, shown_body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
REMOVE = "DELETE FROM search_objects WHERE rowid = ?"
INSERT_MESSAGE = "INSERT INTO search_messages (rowid, body) VALUES (?, ?)"
CLEAR = (
    "DELETE FROM search_objects",
    "INSERT INTO search_messages (search_messages) VALUES ('delete-all')",
)

# Rebuilding the messages' index, a window of seq at a time: the texts as they are, each
# made a document as the live path makes it (one SELECT and Python's `isascii` fast path
# measured 263,000 messages/s, against 227,000 for the ASCII ones in SQL alone and the
# others after them).
SELECT_MESSAGES = (
    "SELECT seq, json_extract(payload, '$.text') FROM events "
    f"WHERE type = '{MESSAGE_INGESTED}' AND seq > ? AND seq <= ?"
)

# bm25 weights of the columns (title, body): a word in a title counts ten in a body. The
# rowid (kind << 32 | number) breaks ties by kind, then number.
_OBJECTS = "FROM search_objects WHERE search_objects MATCH ? AND kind IN ({kinds})"
_RANKED_OBJECTS = (
    "SELECT kind, number, shown_title, shown_body, status "  # as in Found
    "FROM (SELECT rowid, kind, number, status, shown_title, shown_body, "
    "bm25(search_objects, 10.0, 1.0) AS score " + _OBJECTS + ") "
    "ORDER BY score, rowid LIMIT ? OFFSET ?"
)
# Newest first: FTS5 reads a match's rowids backwards and stops at the page. A message
# that made an object (its seq an object's `source_event_seq`) is found as that object,
# or not at all (an archived note): one probe of each read-model table's source index
# (migration 20261207_0010) per message that matches. The page still stops where it
# ends (0.1 ms for a word in 9 of 10 of a million messages); the count pays ~0.8 us a
# match (0.04 s -> 0.75 s for that word, measured with 1% and 10% of messages having
# made objects).
_NOT_A_SOURCE = " ".join(
    f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE source_event_seq = search_messages.rowid)"
    for table in SOURCE_TABLES
)
_MESSAGES_MATCHING = f"FROM search_messages WHERE search_messages MATCH ? {_NOT_A_SOURCE}"
_NEWEST_MESSAGES = f"SELECT rowid {_MESSAGES_MATCHING} ORDER BY rowid DESC LIMIT ? OFFSET ?"
_PAYLOADS = "SELECT seq, payload FROM events WHERE seq IN ({seqs})"


def rowid(kind: str, number: int) -> int:
    return (SEARCH_KINDS.index(kind) + 1) << 32 | number


def document(text: str) -> str:
    """What FTS5 is given: the words, separated by spaces."""
    return " ".join(words(text))


def message_document(text: str) -> str:
    text = text[:MAX_INDEXED_CHARS]
    return text if text.isascii() else " ".join(WORD.findall(fold(text)))


def object_values(entry: SearchEntry) -> tuple[Any, ...]:
    """PUT's values."""
    return (
        rowid(entry.kind, entry.number),
        document(entry.title),
        document(entry.body),
        entry.kind,
        entry.number,
        entry.status,
        entry.title,
        entry.body,
    )


def message_rows(events: Iterable[RecordedEvent]) -> list[tuple[int, str]]:
    """INSERT_MESSAGE's values for the messages among `events`."""
    return [
        (event.seq, message_document(text))
        for event in events
        if event.type == MESSAGE_INGESTED and searchable_message(text := event.payload.get("text"))
    ]


def stored_message_rows(found: Iterable[tuple[int, Any]]) -> list[tuple[int, str]]:
    """INSERT_MESSAGE's values for SELECT_MESSAGES' rows."""
    return [(seq, message_document(text)) for seq, text in found if searchable_message(text)]


def match_expression(query: SearchQuery) -> str:
    """FTS5's query: each phrase a string (its words hold letters and digits only, so no
    character of the query can be FTS5 syntax), `*` after one whose last word is a
    prefix, all of them required."""
    return " AND ".join(
        f'"{" ".join(p.words)}"' + (" *" if p.prefix else "") for p in query.phrases
    )


def reindex_messages(connection: sqlite3.Connection, after: int, upto: int) -> None:
    """In the driver's thread (or on any sqlite3 connection): index the messages with a
    seq in (after, upto], as their appends did."""
    found = connection.execute(SELECT_MESSAGES, (after, upto)).fetchall()
    connection.executemany(INSERT_MESSAGE, stored_message_rows(found))


class SqliteSearch:
    """`pending`: where a write transaction holds its rows (None when reading)."""

    def __init__(self, connection: AsyncConnection, pending: PendingRows | None = None) -> None:
        self._conn = connection
        self._pending = pending

    async def put(self, entry: SearchEntry) -> None:
        if self._pending is not None:  # a writer: held with its other rows until a read
            self._pending.add(PUT, [object_values(entry)])
            return
        await self._run(PUT, object_values(entry))

    async def remove(self, kind: str, number: int) -> None:
        await self._run(REMOVE, (rowid(kind, number),))

    async def find_objects(
        self, query: SearchQuery, kinds: Sequence[str], offset: int, limit: int
    ) -> tuple[list[Found], int]:
        await self._held_written()
        with translated("search"):
            return await in_driver_thread(
                await driver_of(self._conn),
                _find_objects,
                match_expression(query),
                kinds,
                offset,
                limit,
            )

    async def find_messages(
        self, query: SearchQuery, offset: int, limit: int
    ) -> tuple[list[Found], int]:
        with translated("search"):
            return await in_driver_thread(
                await driver_of(self._conn), _find_messages, match_expression(query), offset, limit
            )

    def index_messages(self, events: Sequence[RecordedEvent]) -> None:
        """Index the messages among a write transaction's events, with its COMMIT."""
        if self._pending is not None and (rows := message_rows(events)):
            self._pending.add(INSERT_MESSAGE, rows)

    async def clear(self) -> None:
        for statement in CLEAR:
            await self._run(statement, ())

    async def put_many(self, entries: Sequence[SearchEntry]) -> None:
        """In rowid order (an object's entries in the order given: the last one stays).
        FTS5 writes out the terms it holds whenever a rowid comes that is not above the
        last one: a rebuild's page of todos and notes in the log's order did so at every
        change of kind (a rebuild at 1M events: 1.3 s of SQLite's time for 19,608 entries
        in 200 pages; sorted, 0.4-0.5 s for the whole trips to the driver)."""
        await self._held_written()
        if entries:
            values = sorted(map(object_values, entries), key=itemgetter(0))
            with translated("take the change"):
                await (await driver_of(self._conn)).executemany(PUT, values)

    async def reindex_messages(self, after: int, upto: int) -> None:
        with translated("take the change"):
            await in_driver_thread(await driver_of(self._conn), reindex_messages, after, upto)

    async def _run(self, sql: str, params: Sequence[Any]) -> None:
        await self._held_written()
        with translated("take the change"):
            await (await driver_of(self._conn)).execute(sql, params)

    async def _held_written(self) -> None:
        """Before any other statement on search_objects: the entries held back go first
        (INSERT OR REPLACE, in the order they came: the last of an object's wins)."""
        if self._pending is not None:
            await self._pending.write()


def _find_objects(
    connection: sqlite3.Connection, expression: str, kinds: Sequence[str], offset: int, limit: int
) -> tuple[list[Found], int]:
    """In the driver's thread: the count and the page, in one trip."""
    params = (expression, *kinds)
    listed = ", ".join("?" * len(kinds))
    [(total,)] = connection.execute(
        f"SELECT count(*) {_OBJECTS.format(kinds=listed)}", params
    ).fetchall()
    rows = (
        connection.execute(
            _RANKED_OBJECTS.format(kinds=listed), (*params, limit, offset)
        ).fetchall()
        if total > offset
        else []
    )
    return [Found(*row) for row in rows], total


def _find_messages(
    connection: sqlite3.Connection, expression: str, offset: int, limit: int
) -> tuple[list[Found], int]:
    """In the driver's thread: the count, the page's seqs, their texts, in one trip."""
    [(total,)] = connection.execute(
        f"SELECT count(*) {_MESSAGES_MATCHING}", (expression,)
    ).fetchall()
    if limit < 1 or total <= offset:
        return [], total
    seqs = [seq for (seq,) in connection.execute(_NEWEST_MESSAGES, (expression, limit, offset))]
    payloads = dict(
        connection.execute(_PAYLOADS.format(seqs=", ".join("?" * len(seqs))), seqs).fetchall()
    )
    return [
        Found(MESSAGE, seq, "", json.loads(payloads[seq]).get("text", ""), None)
        for seq in seqs
        if seq in payloads
    ], total
