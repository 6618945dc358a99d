"""The event log's rows on SQLite, as the driver reads and writes them.

Values are written exactly as SQLAlchemy's column types would write them
(tests/integration/test_event_store_contract.py reads them back both ways): payload and
metadata as `canonical_json` text, times as naive UTC `YYYY-MM-DD HH:MM:SS.ffffff`.
Columns are named, never taken by position from a domain type: `EVENT_COLUMNS` is the
order of the SQL below, and `to_event` maps it to `RecordedEvent` by name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.events import RecordedEvent
from infrastructure.sealing import Sealed

EVENT_COLUMNS = (
    "seq",
    "event_id",
    "type",
    "aggregate_type",
    "aggregate_id",
    "payload",
    "metadata",
    "idempotency_key",
    "occurred_at",
    "recorded_at",
    "schema_version",
    "prev_hash",
    "hash",
)
SELECT_EVENTS = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events"
INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)
HEAD = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"

# RecordedEvent's fields are the columns' names: checked here, once, so that a field
# added, renamed or moved cannot pair a value with the wrong column unnoticed.
if RecordedEvent._fields != EVENT_COLUMNS:
    raise ImportError(
        f"RecordedEvent's fields {RecordedEvent._fields} are not the events "
        f"table's columns {EVENT_COLUMNS}: update this module"
    )


def stored_time(iso: str) -> str:
    """`iso_utc` text (YYYY-MM-DDTHH:MM:SS.ffffff+00:00) as SQLAlchemy stores it."""
    return f"{iso[:10]} {iso[11:26]}"


def read_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def to_row(sealed: Sealed) -> tuple[Any, ...]:
    """INSERT_EVENT's values, in EVENT_COLUMNS order."""
    event = sealed.event
    return (
        event.seq,
        event.event_id,
        event.type,
        event.aggregate_type,
        event.aggregate_id,
        sealed.payload_json,
        sealed.metadata_json,
        event.idempotency_key,
        stored_time(sealed.occurred_iso),
        stored_time(sealed.recorded_iso),
        event.schema_version,
        event.prev_hash,
        event.hash,
    )


def to_event(row: Sequence[Any]) -> RecordedEvent:
    """A SELECT_EVENTS row (EVENT_COLUMNS order, checked above against RecordedEvent)."""
    (
        seq,
        event_id,
        type_,
        aggregate_type,
        aggregate_id,
        payload,
        metadata,
        key,
        occurred,
        recorded,
        version,
        prev_hash,
        hash_,
    ) = row
    return RecordedEvent(
        seq,
        event_id,
        type_,
        aggregate_type,
        aggregate_id,
        json.loads(payload),
        json.loads(metadata),
        key,
        read_time(occurred),
        read_time(recorded),
        version,
        prev_hash,
        hash_,
    )
