"""Read-model repositories. They add and query; only the unit of work commits."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import Conflict
from domain.ports import IdempotencyRecord
from infrastructure import sqlite_rows
from infrastructure.tables import idempotency_records

# Well under SQLite's 32766 and asyncpg's 32767 bound parameters per statement.
_KEYS_PER_QUERY = 1000
_SELECT = "SELECT key, event_seq, request_hash FROM idempotency_records WHERE key IN"
_INSERT = "INSERT INTO idempotency_records (key, event_seq, request_hash) VALUES (?, ?, ?)"
_COLUMNS = (idempotency_records.c.key, idempotency_records.c.event_seq,
            idempotency_records.c.request_hash)


class SqlIdempotencyRecords:
    """With `pending`, as the event store (infrastructure/event_store.py): added records
    are sent before the next lookup or with the commit."""

    def __init__(self, connection: AsyncConnection,
                 pending: sqlite_rows.PendingRows | None = None) -> None:
        self._conn = connection
        self._sqlite = connection.dialect.name == "sqlite"
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
            if self._sqlite:
                marks = ", ".join("?" * len(chunk))
                rows = await sqlite_rows.fetch_all(self._conn, f"{_SELECT} ({marks})", chunk)
            else:
                query = select(*_COLUMNS).where(idempotency_records.c.key.in_(chunk))
                rows = list(await self._conn.execute(query))
            for row in rows:
                found[row[0]] = IdempotencyRecord(*row)
        return found

    async def add(self, record: IdempotencyRecord) -> None:
        await self.add_many([record])

    async def add_many(self, records: Sequence[IdempotencyRecord]) -> None:
        if not records:
            return
        if self._sqlite:
            rows = list(records)  # tuples in column order
            if self._pending is not None:
                self._pending.add(_INSERT, rows)
                return
            try:
                await sqlite_rows.execute_many(self._conn, _INSERT, rows)
            except sqlite3.IntegrityError as e:
                raise Conflict("this idempotency key is already recorded") from e
        else:
            await self._conn.execute(
                idempotency_records.insert(),
                [{"key": r.key, "event_seq": r.event_seq, "request_hash": r.request_hash}
                 for r in records],
            )
