"""Read-model repositories. They add and query; only the unit of work commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.ports import IdempotencyRecord
from infrastructure.tables import idempotency_records


class SqlIdempotencyRecords:
    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def get(self, key: str) -> IdempotencyRecord | None:
        table = idempotency_records
        query = select(table.c.key, table.c.event_seq, table.c.request_hash).where(
            table.c.key == key
        )
        row = (await self._conn.execute(query)).first()
        return IdempotencyRecord(*row) if row else None

    async def add(self, record: IdempotencyRecord) -> None:
        await self._conn.execute(
            idempotency_records.insert().values(
                key=record.key, event_seq=record.event_seq, request_hash=record.request_hash
            )
        )
