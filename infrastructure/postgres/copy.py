"""Many rows at once on PostgreSQL: COPY, through asyncpg's `copy_records_to_table`.

A batch of 1000 events costs 80-115 us a row as a SQLAlchemy executemany here and about
50 us a row as COPY (bench/README.md, "Levers"), most of it the server's: COPY skips
a Bind and Execute per row and SQLAlchemy's per-row parameter processing. Only this
backend uses it, for appends of COPY_FROM rows or more (a /ingest/batch, the ChatGPT
import, a full group commit); smaller ones keep the prepared INSERT, which needs no
introspection of the table.

Public APIs only: SQLAlchemy's `AsyncConnection.get_raw_connection()` and its
`driver_connection` (the asyncpg connection underneath), asyncpg's
`Connection.is_in_transaction()` and `copy_records_to_table`. The rows go into the unit
of work's transaction, which its first statement (the writer's advisory lock) opened on
the driver connection; when there is none, nothing is copied and the caller inserts as
usual. COPY fires the table's row triggers as an INSERT does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import Conflict

COPY_FROM = 64


async def copy_rows(conn: AsyncConnection, table: str, columns: Sequence[str],
                    records: Sequence[tuple[Any, ...]]) -> bool:
    """COPY `records` (values in `columns` order) into `table` in the open transaction;
    False, having written nothing, when the driver has no transaction open. A unique key
    already taken is Conflict; any other driver error is raised as it is
    (errors.DRIVER_ERRORS: the database's fault)."""
    raw = (await conn.get_raw_connection()).driver_connection
    if raw is None or not raw.is_in_transaction():
        return False
    try:
        await raw.copy_records_to_table(table, records=records, columns=list(columns))
    except asyncpg.UniqueViolationError as e:
        raise Conflict("an idempotency key is already recorded") from e
    return True
