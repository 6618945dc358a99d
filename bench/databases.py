"""The databases a run measures: temporary SQLite files, fresh PostgreSQL databases, and
what can be read off them without the service (event count, size, a raw scan)."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from infrastructure.database import create_engine
from infrastructure.tables import events

# Every column's stored length: what a bare file of the same events would hold.
_CONTENT = (
    "length(event_id) + length(type) + length(aggregate_type) + length(aggregate_id)"
    " + length(payload) + length(metadata) + coalesce(length(idempotency_key), 0)"
    " + length(occurred_at) + length(recorded_at) + length(prev_hash) + length(hash)"
    " + 16"
)  # seq and schema_version as two 8-byte integers


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def sqlite_path(url: str) -> str:
    return str(make_url(url).database)


def event_count(url: str) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return int(await conn.scalar(select(func.coalesce(func.max(events.c.seq), 0))))
        finally:
            await engine.dispose()

    return asyncio.run(count())


def disk_bytes(path: Path) -> int:
    """The database file and its write-ahead log (the -shm index is not data)."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def content_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT coalesce(sum({_CONTENT}), 0) FROM events").fetchone()[0])


def raw_scan_rate(path: Path) -> tuple[int, float]:
    """Every event row read with the standard library's sqlite3, no decoding: how fast the
    rows come off this disk at all. Returns (rows, seconds)."""
    with sqlite3.connect(path) as conn:
        started = time.perf_counter()
        rows = sum(1 for _ in conn.execute("SELECT * FROM events ORDER BY seq"))
        return rows, time.perf_counter() - started


def raw_hash_rate(path: Path) -> tuple[int, float]:
    """Every event row read with sqlite3 and each hashed with hashlib's SHA-256 (its
    columns as text): the least any verification of this chain can cost here. Returns
    (rows, seconds)."""
    with sqlite3.connect(path) as conn:
        started = time.perf_counter()
        rows = 0
        for row in conn.execute("SELECT * FROM events ORDER BY seq"):
            hashlib.sha256("\x1f".join(map(str, row)).encode()).digest()
            rows += 1
        return rows, time.perf_counter() - started


class PostgresDatabase:
    """A fresh database on the server the admin URL names, dropped again afterwards."""

    def __init__(self, admin_url: str) -> None:
        self.admin = make_url(admin_url)
        self.name = f"helionyx_bench_{uuid.uuid4().hex[:12]}"
        self.url = self.admin.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self, statement: str) -> None:
        import asyncpg

        async def run() -> None:
            dsn = self.admin.set(drivername="postgresql").render_as_string(hide_password=False)
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        asyncio.run(run())

    def __enter__(self) -> PostgresDatabase:
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
