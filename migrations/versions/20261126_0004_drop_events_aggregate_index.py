"""Drop ix_events_aggregate: no query reads events by aggregate.

Every read of the log goes by seq, by type (ix_events_type_seq) or by idempotency key;
nothing looks events up by (aggregate_type, aggregate_id). The index cost about 58 bytes
of every event on SQLite (8% of a short message, docs/PERFORMANCE.md) and one more
B-tree insert at a random place per append. Recreate it when a query needs it.

Revision ID: 20261126_0004
Revises: 20261126_0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261126_0004"
down_revision: str | None = "20261126_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_aggregate", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_aggregate", "events", ["aggregate_type", "aggregate_id"])
