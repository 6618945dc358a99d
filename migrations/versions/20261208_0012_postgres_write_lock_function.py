"""PostgreSQL: `helionyx_write_lock(key)` takes the event log's advisory lock and then
reads the head, in one round trip (infrastructure/postgres/unit_of_work.py).

A writer used to send the lock and, in a statement of its own, the head's read: the
head must be read after the lock is granted, and a single SELECT would read it in the
snapshot taken when the statement began, before it waited. In a VOLATILE PL/pgSQL
function under READ COMMITTED each statement takes a snapshot of its own, so the head's
read sees what the writer before committed while this one waited
(https://www.postgresql.org/docs/current/xfunc-volatility.html). SQLite's writer reads
the head in its BEGIN IMMEDIATE's trip the same way. Nothing on SQLite.

Revision ID: 20261208_0012
Revises: 20261208_0011
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261208_0012"
down_revision: str | None = "20261208_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """CREATE FUNCTION helionyx_write_lock(lock_key bigint)
    RETURNS TABLE (head_seq bigint, head_hash varchar)
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(lock_key);
      RETURN QUERY SELECT e.seq, e.hash FROM events AS e ORDER BY e.seq DESC LIMIT 1;
    END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION helionyx_write_lock(bigint)")
