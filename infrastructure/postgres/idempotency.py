"""Idempotency records on PostgreSQL, through SQLAlchemy Core; a write transaction's new
records wait in its `PendingRows` (infrastructure/postgres/pending_rows.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.ports import IdempotencyRecord
from infrastructure.postgres.errors import translated
from infrastructure.postgres.pending_rows import PendingRows
from infrastructure.tables import idempotency_records

# Well under asyncpg's 32767 bound parameters per statement.
_KEYS_PER_QUERY = 1000
_TABLE = idempotency_records


class PostgresIdempotencyRecords:
    def __init__(self, connection: AsyncConnection, pending: PendingRows | None = None) -> None:
        self._conn = connection
        self._pending = pending

    async def get(self, key: str) -> IdempotencyRecord | None:
        return (await self.get_many([key])).get(key)

    async def get_many(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        found: dict[str, IdempotencyRecord] = {}
        keys = list(dict.fromkeys(keys))
        if self._pending is not None and keys:
            await self._pending.write()
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            query = select(_TABLE.c.key, _TABLE.c.event_seq, _TABLE.c.request_hash).where(
                _TABLE.c.key.in_(keys[start : start + _KEYS_PER_QUERY])
            )
            for row in await self._conn.execute(query):
                found[row.key] = IdempotencyRecord(
                    key=row.key, event_seq=row.event_seq, request_hash=row.request_hash
                )
        return found

    async def add(self, record: IdempotencyRecord) -> None:
        await self.add_many([record])

    async def add_many(self, records: Sequence[IdempotencyRecord]) -> None:
        if not records:
            return
        if self._pending is not None:
            self._pending.add_records([(r.key, r.event_seq, r.request_hash) for r in records])
            return
        with translated():
            await self._conn.execute(
                _TABLE.insert(),
                [
                    {"key": r.key, "event_seq": r.event_seq, "request_hash": r.request_hash}
                    for r in records
                ],
            )
