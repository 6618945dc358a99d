"""Leaner event indexes: no unique index on event_id; on SQLite, index only what is read.

- `event_id` loses its unique constraint. Event ids are minted by the one writer (time-
  ordered random UUIDs, domain/ids.py), nothing reads events by event_id (every read goes
  by seq, type or idempotency key), and seq is the primary key. The index cost about 52
  bytes of every event and one more B-tree insert per append.
- SQLite only: `idempotency_key` stays unique through a partial index over the keys that
  are there (NULLs never conflict, and most messages have none: ~10 bytes per event), and
  `ix_events_type_seq` covers every type but `message.ingested` (~32 bytes per event):
  queries by type add `type <> 'message.ingested'` so the planner can use it, and a page
  of messages is read by seq. PostgreSQL keeps both indexes whole.

On SQLite a constraint declared in CREATE TABLE can only go with the table, so the table
is rebuilt: copied row for row (seq, hashes and all), the old one dropped (DROP TABLE
fires no DELETE trigger), the copy renamed, and the guard triggers recreated, the
replace guard now without its event_id lookup.

Revision ID: 20261126_0005
Revises: 20261126_0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261126_0005"
down_revision: str | None = "20261126_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = """
    seq INTEGER NOT NULL,
    event_id VARCHAR(36) NOT NULL,
    type VARCHAR(100) NOT NULL,
    aggregate_type VARCHAR(50) NOT NULL,
    aggregate_id VARCHAR(64) NOT NULL,
    payload JSON NOT NULL,
    metadata JSON NOT NULL,
    idempotency_key VARCHAR(300),
    occurred_at DATETIME NOT NULL,
    recorded_at DATETIME NOT NULL,
    schema_version INTEGER NOT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL,
    PRIMARY KEY (seq)"""

_GUARDS = [
    """CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed'); END""",
    """CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed'); END""",
]


def _replace_guard(unique_event_id: bool) -> str:
    # See 20261126_0003: REPLACE deletes past the DELETE trigger; refuse any insert that
    # collides with a recorded event on a unique column.
    by_event_id = "OR event_id = NEW.event_id" if unique_event_id else ""
    return f"""
        CREATE TRIGGER events_reject_replace BEFORE INSERT ON events
        WHEN EXISTS (SELECT 1 FROM events WHERE seq = NEW.seq {by_event_id}
                     OR (NEW.idempotency_key IS NOT NULL
                         AND idempotency_key = NEW.idempotency_key))
        BEGIN
          SELECT RAISE(ABORT, 'events are append-only: a recorded event cannot be replaced');
        END"""


def _rebuild_sqlite(constraints: str, indexes: list[str], unique_event_id: bool) -> None:
    op.execute(f"CREATE TABLE events_rebuilt ({_COLUMNS}{constraints})")
    op.execute("INSERT INTO events_rebuilt SELECT seq, event_id, type, aggregate_type, "
               "aggregate_id, payload, metadata, idempotency_key, occurred_at, recorded_at, "
               "schema_version, prev_hash, hash FROM events ORDER BY seq")
    op.execute("DROP TABLE events")  # its indexes and triggers go with it
    op.execute("ALTER TABLE events_rebuilt RENAME TO events")
    for statement in [*indexes, *_GUARDS, _replace_guard(unique_event_id)]:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("events_event_id_key", "events", type_="unique")
        return
    _rebuild_sqlite("", [
        "CREATE UNIQUE INDEX ux_events_idempotency_key ON events (idempotency_key) "
        "WHERE idempotency_key IS NOT NULL",
        "CREATE INDEX ix_events_type_seq ON events (type, seq) "
        "WHERE type <> 'message.ingested'",
    ], unique_event_id=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_unique_constraint("events_event_id_key", "events", ["event_id"])
        return
    _rebuild_sqlite(",\n    UNIQUE (event_id),\n    UNIQUE (idempotency_key)",
                    ["CREATE INDEX ix_events_type_seq ON events (type, seq)"],
                    unique_event_id=True)
