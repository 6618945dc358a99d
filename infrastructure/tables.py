"""The database schema, as SQLAlchemy Core tables. Alembic migrations create them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from infrastructure.fast_json import canonical_json

metadata = MetaData()

# The one event type ix_events_type_seq leaves out: most of the log, read by seq.
NOT_INDEXED_TYPE = "message.ingested"


def with_messages(counts: dict[str, int], total: int) -> dict[str, int]:
    """Counts by type from ix_events_type_seq, and the messages it leaves out: seq being
    gap-free from 1, they are what the head's count (`total`) leaves over (a gap would
    be a broken chain: make verify)."""
    messages = total - sum(counts.values())
    return {**counts, NOT_INDEXED_TYPE: messages} if messages else counts


# INTEGER PRIMARY KEY is SQLite's rowid alias; BIGINT would be a separate column.
Seq = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        # In UTC: PostgreSQL keeps the instant; SQLite's DATETIME stores the wall time
        # without an offset (YYYY-MM-DD HH:MM:SS.ffffff), so that wall time is UTC's.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CanonicalJson(TypeDecorator[Any]):
    """JSON kept as its canonical text (`domain.chain.canonical_json`), on every dialect:
    the very text an event's hash covers, so what is hashed is what is stored and what
    reads back. PostgreSQL's JSONB would normalise numbers (1e16 read back as the integer
    10000000000000000, -0.0 as 0.0), and the hash would no longer match the row
    (migration 20261206_0006). Not for the read models, which are not hashed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect):
        if value is None:
            return None
        if value.__class__ is not dict and isinstance(value, Mapping):
            value = dict(value)  # read-only (NO_METADATA, ...): JSON knows only dicts
        return canonical_json(value)

    def process_result_value(self, value: str | None, dialect):
        return None if value is None else json.loads(value)


def _partial(where: str) -> dict[str, Any]:
    """A partial index's WHERE, the same on both databases."""
    return {"sqlite_where": text(where), "postgresql_where": text(where)}


_NOT_MESSAGES = f"type <> '{NOT_INDEXED_TYPE}'"

events = Table(
    "events",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    Column("type", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    # Canonical JSON text (SQLite's column is declared JSON, PostgreSQL's TEXT).
    Column("payload", CanonicalJson, nullable=False),
    Column("metadata", CanonicalJson, nullable=False),
    Column("idempotency_key", String(300), nullable=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Unique over the keys that are there; most events have none (migrations
    # 20261126_0005 on SQLite, 20261208_0011 on PostgreSQL).
    Index(
        "ux_events_idempotency_key",
        "idempotency_key",
        unique=True,
        **_partial("idempotency_key IS NOT NULL"),
    ),
    # Over the types that are not messages (the same migrations).
    Index("ix_events_type_seq", "type", "seq", **_partial(_NOT_MESSAGES)),
    # An object's history (migration 20261207_0008): messages, most of the log, are never
    # read by aggregate, so they stay out of it.
    Index("ix_events_aggregate_seq", "aggregate_id", "seq", **_partial(_NOT_MESSAGES)),
)

# Every column of an event in the table's order (RecordedEvent's), payload and metadata
# as the text stored, not parsed: what an export writes out and a verification hashes.
STORED_EVENT_COLUMNS = tuple(
    type_coerce(column, Text()) if isinstance(column.type, CanonicalJson) else column
    for column in events.c
)

helionyx_meta = Table(
    "helionyx_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("event_seq", Seq, nullable=False),
    Column("request_hash", String(64), nullable=False),
)

# The read models: one row per object, one column per dataclass field (domain/objects.py),
# rebuilt from the events alone (infrastructure/rebuild.py). `number` is the short name
# the owner types; (status, number) serves the filtered, numbered lists; an index on
# `source_event_seq` tells a search whether a message made an object (migration
# 20261207_0010: such a message is found as its object, not as a message).

# The read-model tables whose rows name the event they came from (`source_event_seq`).
SOURCE_TABLES = ("todos", "notes", "tracks", "decisions")

todos = Table(
    "todos",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("status", String(20), nullable=False),
    Column("priority", String(20), nullable=False),
    Column("due", Date, nullable=True),
    Column("tags", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("source_event_seq", Seq, nullable=False),
    Column("due_at", UtcDateTime, nullable=True),
    UniqueConstraint("number", name="uq_todos_number"),
    Index("ix_todos_status_number", "status", "number"),
    Index("ix_todos_source_event_seq", "source_event_seq"),
)

notes = Table(
    "notes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("tags", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("source_event_seq", Seq, nullable=False),
    # str.casefold() of title and content, for a search that ignores case the same way on
    # both databases: SQLite's lower() and LIKE fold ASCII letters only.
    # https://www.sqlite.org/lang_corefunc.html#lower
    Column("title_folded", Text, nullable=False),
    Column("content_folded", Text, nullable=False),
    Column("status", String(20), nullable=False, server_default="active"),
    Column("updated_at", UtcDateTime, nullable=True),
    UniqueConstraint("number", name="uq_notes_number"),
    Index("ix_notes_source_event_seq", "source_event_seq"),
)

tracks = Table(
    "tracks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("status", String(20), nullable=False),
    Column("check_in_every", Integer, nullable=False),
    Column("last_check_in_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("source_event_seq", Seq, nullable=False),
    Column("check_ins", Integer, nullable=False, server_default="0"),
    Column("streak", Integer, nullable=False, server_default="0"),
    UniqueConstraint("number", name="uq_tracks_number"),
    Index("ix_tracks_status_number", "status", "number"),
    Index("ix_tracks_source_event_seq", "source_event_seq"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("number", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("rationale", Text, nullable=True),
    Column("options", Json, nullable=False),
    Column("status", String(20), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("supersedes", String(36), nullable=True),
    Column("superseded_by", String(36), nullable=True),
    Column("source_event_seq", Seq, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("review_on", Date, nullable=True),
    Column("outcome", Text, nullable=True),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("revoke_reason", Text, nullable=True),
    UniqueConstraint("number", name="uq_decisions_number"),
    Index("ix_decisions_status_number", "status", "number"),
    Index("ix_decisions_source_event_seq", "source_event_seq"),
)

# The search index (migration 20261207_0009), as PostgreSQL holds it: `document` is the
# tsvector of the words infrastructure/postgres/search.py makes of the texts, with a GIN
# index each. SQLite holds the same two names as FTS5 virtual tables
# (infrastructure/sqlite/search.py), which these definitions do not describe.

search_objects = Table(
    "search_objects",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("status", String(20), nullable=False),
    # As shown (snippets); `document` holds their words.
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("document", TSVECTOR, nullable=False),
    Index("ix_search_objects_document", "document", postgresql_using="gin"),
)

search_messages = Table(
    "search_messages",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=False),  # the message's event
    Column("document", TSVECTOR, nullable=False),
    Index("ix_search_messages_document", "document", postgresql_using="gin"),
)
