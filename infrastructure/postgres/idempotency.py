"""Idempotency records on PostgreSQL, through SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.ports import IdempotencyRecord
from infrastructure.postgres.driver import COPY_FROM, copy_rows
from infrastructure.postgres.errors import translated
from infrastructure.tables import idempotency_records

# Well under asyncpg's 32767 bound parameters per statement.
_KEYS_PER_QUERY = 1000
_TABLE = idempotency_records


class PostgresIdempotencyRecords:
    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def get(self, key: str) -> IdempotencyRecord | None:
        return (await self.get_many([key])).get(key)

    async def get_many(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        found: dict[str, IdempotencyRecord] = {}
        keys = list(dict.fromkeys(keys))
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
        if len(records) >= COPY_FROM and await copy_rows(
            self._conn,
            _TABLE.name,
            ("key", "event_seq", "request_hash"),
            [(r.key, r.event_seq, r.request_hash) for r in records],
        ):
            return
        with translated():
            await self._conn.execute(
                _TABLE.insert(),
                [
                    {"key": r.key, "event_seq": r.event_seq, "request_hash": r.request_hash}
                    for r in records
                ],
            )
