"""The search index on PostgreSQL: `search_objects` and `search_messages`, each with a
tsvector `document` under a GIN index (migration 20261207_0009, infrastructure/tables.py).

The tsvector and the tsquery are written here as literals of the words the domain made
(domain/search_index.py) and cast by the server: PostgreSQL's own parser and dictionaries
(its `simple` configuration, the database's locale) never decide what a word is, so the
words are the same as on SQLite and in the fake, and no extension (`unaccent`, whose
function is not immutable, or `pg_trgm`) has to be installed. A title's words carry weight
A, a body's B; `ts_rank` counts A ten times B, as SQLite's bm25 weights do.

Messages are indexed in the transaction that appends them, by the unit of work before
its COMMIT: one more statement per transaction that appended messages (~0.7 ms for a
group of 16, measured in the service's writer). They are found newest first (domain/
search.py says why).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.events import RecordedEvent
from domain.messages import MESSAGE_INGESTED
from domain.search_index import (
    MESSAGE,
    SEARCH_KINDS,
    Found,
    SearchEntry,
    SearchQuery,
    searchable_message,
    words,
)
from infrastructure.postgres.errors import translated
from infrastructure.postgres.pending_rows import OBJECT_COLUMNS, PendingRows
from infrastructure.tables import SOURCE_TABLES

# PostgreSQL's limits: a lexeme of up to 2047 bytes (a longer word is not indexed, as
# to_tsvector leaves it out), positions up to 16383 (later ones count as 16383).
_MAX_LEXEME_BYTES = 2047
_MAX_POSITION = 16383

PUT = text(
    "INSERT INTO search_objects (kind, number, status, title, body, document) "
    "VALUES (:kind, :number, :status, :title, :body, CAST(:document AS tsvector)) "
    "ON CONFLICT (kind, number) DO UPDATE SET status = EXCLUDED.status, "
    "title = EXCLUDED.title, body = EXCLUDED.body, document = EXCLUDED.document"
)
REMOVE = text("DELETE FROM search_objects WHERE kind = :kind AND number = :number")
# One statement for all of a transaction's messages, their seqs and documents as two
# arrays (0.33 ms for 16 messages where an executemany of 16 rows took 0.42 ms, before
# SQLAlchemy's own work per row). A seq indexed before is indexed again: a log cut back
# and written on (an operator who accepted a contradicted log) reuses seqs, and its new
# messages must not fail on the old rows.
INSERT_MESSAGES = text(
    "INSERT INTO search_messages (seq, document) SELECT seq, CAST(document AS tsvector) "
    "FROM unnest(CAST(:seqs AS bigint[]), CAST(:documents AS text[])) AS m(seq, document) "
    "ON CONFLICT (seq) DO UPDATE SET document = EXCLUDED.document"
)
CLEAR = (text("DELETE FROM search_objects"), text("DELETE FROM search_messages"))
MESSAGES = text(
    f"SELECT seq, payload FROM events WHERE type = '{MESSAGE_INGESTED}' "
    "AND seq > :after AND seq <= :upto ORDER BY seq"
)

# ts_rank's weights, for D, C, B and A: a title's words (A) count ten times a body's (B).
_WEIGHTS = "'{0.01, 0.02, 0.1, 1.0}'"
_QUERY = "CAST(:query AS tsquery)"
_CODE = " ".join(f"WHEN '{kind}' THEN {code}" for code, kind in enumerate(SEARCH_KINDS))
_OBJECTS = f"FROM search_objects WHERE document @@ {_QUERY} AND kind IN :kinds"
RANKED_OBJECTS = text(
    f"SELECT kind, number, title, body, status {_OBJECTS} "  # as Found has them
    f"ORDER BY ts_rank({_WEIGHTS}, document, {_QUERY}) DESC, CASE kind {_CODE} END, number "
    "LIMIT :limit OFFSET :offset"
).bindparams(bindparam("kinds", expanding=True))
COUNT_OBJECTS = text(f"SELECT count(*) {_OBJECTS}").bindparams(bindparam("kinds", expanding=True))
# Newest first: for a word in most messages the planner walks the primary key backwards
# and stops at the page; for a rare one it takes the GIN index's few matches. A message
# that made an object (its seq an object's `source_event_seq`) is found as that object,
# or not at all (an archived note): an anti-join on each read-model table's source index
# (migration 20261207_0010).
_NOT_A_SOURCE = " ".join(
    f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE {table}.source_event_seq = m.seq)"
    for table in SOURCE_TABLES
)
_MESSAGES_MATCHING = f"FROM search_messages AS m WHERE m.document @@ {_QUERY} {_NOT_A_SOURCE}"
NEWEST_MESSAGES = text(
    f"SELECT m.seq, e.payload FROM search_messages AS m JOIN events AS e ON e.seq = m.seq "
    f"WHERE m.document @@ {_QUERY} {_NOT_A_SOURCE} ORDER BY m.seq DESC "
    "LIMIT :limit OFFSET :offset"
)
COUNT_MESSAGES = text(f"SELECT count(*) {_MESSAGES_MATCHING}")


# Each lexeme's end, `':<position><weight>`, spelled once for the first positions: an
# f-string per word was over half of a message's tsvector, and the tsvectors 13 % of
# PostgreSQL's /ingest/batch (py-spy). 2.4 against 3.7 us for a short message.
_ENDS_UPTO = 1024
_ENDS = {
    weight: tuple(f"':{position}{weight}" for position in range(1, _ENDS_UPTO + 1))
    for weight in "AB"
}


def tsvector(*fields: tuple[str, str]) -> str:
    """A tsvector literal of (text, weight) fields, their words numbered on from field to
    field. A word that comes back is written again: PostgreSQL merges its positions. The
    words hold letters and digits only, so none needs quoting."""
    parts: list[str] = []  # each a lexeme without its opening quote
    at = 0
    for value, weight in fields:
        found = words(value)
        if at + len(found) <= _ENDS_UPTO and max(map(len, found), default=0) < 512:
            parts += map(str.__add__, found, islice(_ENDS[weight], at, None))  # most texts
        else:
            parts += [
                f"{word}':{min(position, _MAX_POSITION)}{weight}"
                for position, word in enumerate(found, at + 1)
                if len(word.encode()) <= _MAX_LEXEME_BYTES
            ]
        at += len(found)
    return "'" + " '".join(parts) if parts else ""


def tsquery(query: SearchQuery) -> str:
    """Every phrase required; a phrase's words in a row (<->), the last a prefix (:*)."""
    return " & ".join(
        "(" + " <-> ".join(_quoted(word) for word in p.words) + (":*" if p.prefix else "") + ")"
        for p in query.phrases
    )


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def object_values(entry: SearchEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind,
        "number": entry.number,
        "status": entry.status,
        "title": entry.title,
        "body": entry.body,
        "document": tsvector((entry.title, "A"), (entry.body, "B")),
    }


def message_rows(events: Iterable[RecordedEvent]) -> dict[str, list[Any]]:
    """INSERT_MESSAGES' parameters for the messages among `events`."""
    return _rows(message_texts(events))


def stored_message_rows(found: Iterable[Any]) -> dict[str, list[Any]]:
    """INSERT_MESSAGES' parameters for MESSAGES' rows (seq, payload as stored)."""
    return _rows(_searchable((seq, json.loads(payload).get("text")) for seq, payload in found))


def message_texts(events: Iterable[RecordedEvent]) -> list[tuple[int, str]]:
    """The searchable messages among `events`, as (seq, text)."""
    return _searchable(
        (event.seq, event.payload.get("text")) for event in events if event.type == MESSAGE_INGESTED
    )


def message_document(said: str) -> str:
    """A message's search document: its words, weight B."""
    return tsvector((said, "B"))


def _searchable(texts: Iterable[tuple[int, Any]]) -> list[tuple[int, str]]:
    return [(seq, said) for seq, said in texts if searchable_message(said)]


def _rows(texts: Sequence[tuple[int, str]]) -> dict[str, list[Any]]:
    return {
        "seqs": [seq for seq, _ in texts],
        "documents": [message_document(said) for _, said in texts],
    }


class PostgresSearch:
    """`pending`: a write transaction's rows held back, where its messages' rows join
    them (None in a read transaction)."""

    def __init__(self, connection: AsyncConnection, pending: PendingRows | None = None) -> None:
        self._conn = connection
        self._pending = pending

    async def put(self, entry: SearchEntry) -> None:
        values = object_values(entry)
        if self._pending is not None:  # a writer: held with its other rows until a read
            self._pending.add_object(tuple(values[name] for name, _ in OBJECT_COLUMNS))
            return
        with translated():
            await self._conn.execute(PUT, values)

    async def remove(self, kind: str, number: int) -> None:
        await self._held_written()
        await self._conn.execute(REMOVE, {"kind": kind, "number": number})

    async def find_objects(
        self, query: SearchQuery, kinds: Sequence[str], offset: int, limit: int
    ) -> tuple[list[Found], int]:
        await self._held_written()
        params = {"query": tsquery(query), "kinds": list(kinds), "limit": limit, "offset": offset}
        total = int(await self._conn.scalar(COUNT_OBJECTS, params) or 0)
        if total <= offset:
            return [], total
        rows = await self._conn.execute(RANKED_OBJECTS, params)
        return [Found(*row) for row in rows], total

    async def find_messages(
        self, query: SearchQuery, offset: int, limit: int
    ) -> tuple[list[Found], int]:
        params = {"query": tsquery(query), "limit": limit, "offset": offset}
        total = int(await self._conn.scalar(COUNT_MESSAGES, params) or 0)
        if limit < 1 or total <= offset:
            return [], total
        rows = await self._conn.execute(NEWEST_MESSAGES, params)
        return [
            Found(MESSAGE, seq, "", json.loads(payload).get("text", ""), None)
            for seq, payload in rows
        ], total

    async def index_messages(self, events: Sequence[RecordedEvent]) -> None:
        """Index the messages among a write transaction's events, before its COMMIT."""
        if self._pending is not None:
            # Their documents are made as the held rows are written (PendingRows.write).
            self._pending.add_messages(message_texts(events))
        elif (rows := message_rows(events))["seqs"]:
            await self._conn.execute(INSERT_MESSAGES, rows)

    async def clear(self) -> None:
        await self._held_written()
        for statement in CLEAR:
            await self._conn.execute(statement)

    async def put_many(self, entries: Sequence[SearchEntry]) -> None:
        await self._held_written()
        if entries:
            await self._conn.execute(PUT, [object_values(entry) for entry in entries])

    async def _held_written(self) -> None:
        """Before any other statement on search_objects: the entries held back go first."""
        if self._pending is not None:
            await self._pending.write()

    async def reindex_messages(self, after: int, upto: int) -> None:
        found = await self._conn.execute(MESSAGES, {"after": after, "upto": upto})
        if (rows := stored_message_rows(found))["seqs"]:
            await self._conn.execute(INSERT_MESSAGES, rows)
