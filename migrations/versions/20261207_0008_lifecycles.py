"""Every lifecycle reachable: a todo's due time, a note's archive, a track's check-ins and
streak, a decision's review, outcome and revoke reason; and an index for an object's
history.

The new read-model columns start empty (or at their defaults): none of the events that
fill them could be recorded before this revision, so no row needs them yet, and
`make rebuild` derives them from the log in any case. The history index covers every
event but messages, which are most of the log and are never read by aggregate.

Revision ID: 20261207_0008
Revises: 20261206_0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infrastructure.tables import NOT_INDEXED_TYPE, UtcDateTime

revision: str = "20261207_0008"
down_revision: str | None = "20261206_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_MESSAGES = sa.text(f"type <> '{NOT_INDEXED_TYPE}'")

_COLUMNS = {
    "todos": [sa.Column("due_at", UtcDateTime, nullable=True)],
    "notes": [
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("updated_at", UtcDateTime, nullable=True),
    ],
    "tracks": [
        sa.Column("check_ins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("streak", sa.Integer, nullable=False, server_default="0"),
    ],
    "decisions": [
        sa.Column("review_on", sa.Date, nullable=True),
        sa.Column("outcome", sa.Text, nullable=True),
        sa.Column("reviewed_at", UtcDateTime, nullable=True),
        sa.Column("revoke_reason", sa.Text, nullable=True),
    ],
}


def upgrade() -> None:
    for table, columns in _COLUMNS.items():
        for column in columns:
            op.add_column(table, column)
    op.create_index("ix_events_aggregate_seq", "events", ["aggregate_id", "seq"],
                    sqlite_where=_NOT_MESSAGES, postgresql_where=_NOT_MESSAGES)


def downgrade() -> None:
    op.drop_index("ix_events_aggregate_seq", table_name="events")
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column.name)
