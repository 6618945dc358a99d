"""SQLite: refuse INSERT OR REPLACE on events, which would delete a row past the triggers.

SQLite does not fire DELETE triggers for the rows a REPLACE removes unless the
connection has `PRAGMA recursive_triggers=ON`
(https://www.sqlite.org/lang_conflict.html), and a connection we do not control need not
have it. This trigger refuses any insert that collides with a recorded event, whatever
the connection's pragmas. PostgreSQL has no REPLACE; its triggers already hold.

Revision ID: 20261126_0003
Revises: 20261126_0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261126_0003"
down_revision: str | None = "20261126_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("""
        CREATE TRIGGER events_reject_replace BEFORE INSERT ON events
        WHEN EXISTS (SELECT 1 FROM events WHERE seq = NEW.seq OR event_id = NEW.event_id
                     OR (NEW.idempotency_key IS NOT NULL
                         AND idempotency_key = NEW.idempotency_key))
        BEGIN
          SELECT RAISE(ABORT, 'events are append-only: a recorded event cannot be replaced');
        END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_reject_replace")
