"""PostgreSQL's event indexes as lean as SQLite's (20261126_0005): only what is read.

- `idempotency_key` stays unique through a partial index over the keys that are there
  (`ux_events_idempotency_key ... WHERE idempotency_key IS NOT NULL`) instead of a unique
  constraint over every row: a B-tree indexes NULLs, and most events have no key (every
  message of a batch without one, every derived event).
- `ix_events_type_seq` covers every type but `message.ingested`, most of the log, which
  is read by seq: a query by type adds `type <> 'message.ingested'` (as on SQLite) so that
  the planner may use it with parameters it cannot see; counts by type count the
  messages as what the head's count leaves over.

Each message appended thus costs two B-tree inserts fewer (measured in
docs/PERFORMANCE.md, round 15), and each event about 40 bytes less on disk. SQLite has
both already: nothing changes there.

Revision ID: 20261208_0011
Revises: 20261207_0010
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261208_0011"
down_revision: str | None = "20261207_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEAN = [
    "ALTER TABLE events DROP CONSTRAINT events_idempotency_key_key",
    "CREATE UNIQUE INDEX ux_events_idempotency_key ON events (idempotency_key) "
    "WHERE idempotency_key IS NOT NULL",
    "DROP INDEX ix_events_type_seq",
    "CREATE INDEX ix_events_type_seq ON events (type, seq) WHERE type <> 'message.ingested'",
]
_WHOLE = [
    "DROP INDEX ux_events_idempotency_key",
    "ALTER TABLE events ADD CONSTRAINT events_idempotency_key_key UNIQUE (idempotency_key)",
    "DROP INDEX ix_events_type_seq",
    "CREATE INDEX ix_events_type_seq ON events (type, seq)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _LEAN:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _WHOLE:
            op.execute(statement)
