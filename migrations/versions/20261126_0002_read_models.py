"""The read models: todos, notes, tracks and decisions, one row per object.

They hold nothing the events do not: `rebuild` empties them and replays the log.

Revision ID: 20261126_0002
Revises: 20261126_0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from infrastructure.tables import Json, Seq, UtcDateTime

revision: str = "20261126_0002"
down_revision: str | None = "20261126_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "todos",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(20), nullable=False),
        sa.Column("due", sa.Date, nullable=True),
        sa.Column("tags", Json, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("source_event_seq", Seq, nullable=False),
        sa.UniqueConstraint("number", name="uq_todos_number"),
    )
    op.create_index("ix_todos_status_number", "todos", ["status", "number"])

    op.create_table(
        "notes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("tags", Json, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("source_event_seq", Seq, nullable=False),
        sa.Column("title_folded", sa.Text, nullable=False),
        sa.Column("content_folded", sa.Text, nullable=False),
        sa.UniqueConstraint("number", name="uq_notes_number"),
    )

    op.create_table(
        "tracks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("check_in_every", sa.Integer, nullable=False),
        sa.Column("last_check_in_at", UtcDateTime, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("source_event_seq", Seq, nullable=False),
        sa.UniqueConstraint("number", name="uq_tracks_number"),
    )
    op.create_index("ix_tracks_status_number", "tracks", ["status", "number"])

    op.create_table(
        "decisions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("rationale", sa.Text, nullable=True),
        sa.Column("options", Json, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=False),
        sa.Column("supersedes", sa.String(36), nullable=True),
        sa.Column("superseded_by", sa.String(36), nullable=True),
        sa.Column("source_event_seq", Seq, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("number", name="uq_decisions_number"),
    )
    op.create_index("ix_decisions_status_number", "decisions", ["status", "number"])


def downgrade() -> None:
    op.drop_index("ix_decisions_status_number", table_name="decisions")
    op.drop_table("decisions")
    op.drop_index("ix_tracks_status_number", table_name="tracks")
    op.drop_table("tracks")
    op.drop_table("notes")
    op.drop_index("ix_todos_status_number", table_name="todos")
    op.drop_table("todos")
