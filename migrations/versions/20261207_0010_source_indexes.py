"""An index on `source_event_seq` in every read-model table, for search: a message that
made an object (its seq the object's `source_event_seq`) is found as that object, not as
a message, and the search asks each table about every message that matches
(infrastructure/sqlite/search.py, infrastructure/postgres/search.py). Without the index
each question would be a scan of the table.

Revision ID: 20261207_0010
Revises: 20261207_0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261207_0010"
down_revision: str | None = "20261207_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The read-model tables, as they are at this revision (infrastructure/tables.py).
_TABLES = ("todos", "notes", "tracks", "decisions")


def upgrade() -> None:
    for table in _TABLES:
        op.create_index(f"ix_{table}_source_event_seq", table, ["source_event_seq"])


def downgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_source_event_seq", table_name=table)
