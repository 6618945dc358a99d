"""Idempotency records on SQLite, straight to the driver; added ones wait with the
transaction's other rows (`PendingRows`) until the next lookup or the commit."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from domain.ports import IdempotencyRecord
from infrastructure.sqlite.driver import driver_of
from infrastructure.sqlite.errors import translated
from infrastructure.sqlite.pending_rows import PendingRows

# Well under SQLite's 32766 bound parameters per statement.
_KEYS_PER_QUERY = 1000
_SELECT = "SELECT key, event_seq, request_hash FROM idempotency_records WHERE key IN"
_INSERT = "INSERT INTO idempotency_records (key, event_seq, request_hash) VALUES (?, ?, ?)"


class SqliteIdempotencyRecords:
    def __init__(self, connection: AsyncConnection, pending: PendingRows | None = None) -> None:
        self._conn = connection
        self._pending = pending

    async def get(self, key: str) -> IdempotencyRecord | None:
        return (await self.get_many([key])).get(key)

    async def get_many(self, keys: Sequence[str]) -> dict[str, IdempotencyRecord]:
        found: dict[str, IdempotencyRecord] = {}
        keys = list(dict.fromkeys(keys))
        if keys and self._pending is not None:
            await self._pending.write()
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            with translated("answer"):
                rows = await (await driver_of(self._conn)).execute_fetchall(
                    f"{_SELECT} ({', '.join('?' * len(chunk))})", chunk
                )
            for key, event_seq, request_hash in rows:
                found[key] = IdempotencyRecord(
                    key=key, event_seq=event_seq, request_hash=request_hash
                )
        return found

    async def add(self, record: IdempotencyRecord) -> None:
        await self.add_many([record])

    async def add_many(self, records: Sequence[IdempotencyRecord]) -> None:
        if not records:
            return
        rows = [(r.key, r.event_seq, r.request_hash) for r in records]
        if self._pending is not None:
            self._pending.add(_INSERT, rows)
            return
        with translated("take the idempotency records"):
            await (await driver_of(self._conn)).executemany(_INSERT, rows)
