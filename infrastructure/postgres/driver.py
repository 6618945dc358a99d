"""The PostgreSQL write path's statements straight to asyncpg: the head, and the events,
idempotency records and messages' search rows of a write transaction (pending_rows.py).

Through SQLAlchemy each statement costs its execute path (compiled-cache lookup,
parameter processing per row, the greenlet bridge): in a profile of in-process ingest at
16 writers on PostgreSQL, reading the head, inserting a group's events and indexing its
messages took 45 % of the writer's samples. Straight to the driver each is one asyncpg
call on a prepared statement: a group's events in one `INSERT ... SELECT FROM unnest`
(one Bind and Execute for the group), or by COPY from COPY_FROM rows on (a /ingest/batch,
the ChatGPT import), which skips the per-row protocol: ~50 us a row against 80-115 us as
an executemany through SQLAlchemy (bench/README.md, "Seventh round").

Public APIs only: SQLAlchemy's `AsyncConnection.get_raw_connection()` and its
`driver_connection` (the asyncpg connection underneath), asyncpg's
`Connection.is_in_transaction()`, `fetchrow`, `execute` and `copy_records_to_table`.
The statements go into the unit of work's transaction, which its first statement (the
writer's advisory lock) opened on the driver connection; where there is none,
`driver_of` says so. COPY fires the table's row triggers as an INSERT does.
tests/integration/test_postgres_pending_rows.py pins what this relies on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import Conflict

COPY_FROM = 64

HEAD = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"


async def driver_of(conn: AsyncConnection) -> asyncpg.Connection | None:
    """The asyncpg connection under `conn`, when a transaction is open on it; else None."""
    raw = (await conn.get_raw_connection()).driver_connection
    return raw if raw is not None and raw.is_in_transaction() else None


@contextmanager
def translated() -> Iterator[None]:
    """A unique key already taken is Conflict; any other driver error is raised as it is
    (errors.DRIVER_ERRORS: the database's fault)."""
    try:
        yield
    except asyncpg.UniqueViolationError as e:
        raise Conflict("an idempotency key is already recorded") from e


def unnest_insert(table: str, columns: Sequence[tuple[str, str]], *, first: int = 1) -> str:
    """One INSERT of many rows, each column sent as one array: (name, element type); the
    arrays are parameters `first` on."""
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(columns, first))
    return f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"
