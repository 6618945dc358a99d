"""The second reference: a durable ingest endpoint as a careful user would write it without
Helionyx, to hold the service's price for its guarantees against.

The same `IngestMessage` model, the same `check_bearer` as a router dependency, the same
strict `parse_body` and problem+json handlers, an answer of the same shape and status.
Then one INSERT and one COMMIT per request, acknowledged after the commit, with the
service's durability: on SQLite WAL with `synchronous=FULL` (one connection; a lock
keeps each request's INSERT and COMMIT a transaction of their own, as sqlite3 allows one
writer), on PostgreSQL `synchronous_commit=on` (an asyncpg pool, each INSERT its own
transaction). No hash chain, no idempotency record, no derivation, no read models.

Served as bench/bare_app.py is, in a process of its own:
`python -m bench.durable_app --port N --database URL` with the token in
HELIONYX_API_TOKEN. The table is created if missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from app.api import problems
from app.api.edge import check_bearer, parse_body
from app.api.schemas import IngestMessage, IngestResultOut
from bench.bare_app import answer_health, serve

_COLUMNS = (
    "event_id",
    "text",
    "source",
    "source_id",
    "author",
    "conversation_id",
    "occurred_at",
    "metadata",
    "received_at",
)


class Store(Protocol):
    async def insert(self, row: tuple[Any, ...]) -> int: ...

    async def close(self) -> None: ...


class SqliteStore:
    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, "
            + ", ".join(f"{c} TEXT" for c in _COLUMNS)
            + ")"
        )
        self._insert = (
            f"INSERT INTO messages ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})"
        )
        self._lock = asyncio.Lock()

    def _write(self, row: tuple[Any, ...]) -> int:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            seq = self._db.execute(self._insert, row).lastrowid
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        assert seq is not None
        return seq

    async def insert(self, row: tuple[Any, ...]) -> int:
        async with self._lock:  # off the event loop, one transaction at a time
            return await asyncio.to_thread(self._write, row)

    async def close(self) -> None:
        self._db.close()


class PostgresStore:
    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._insert = (
            f"INSERT INTO messages ({', '.join(_COLUMNS)}) VALUES "
            f"({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))}) "
            "RETURNING seq"
        )

    @classmethod
    async def open(cls, dsn: str) -> PostgresStore:
        import asyncpg

        pool = await asyncpg.create_pool(
            dsn, min_size=4, max_size=16, server_settings={"synchronous_commit": "on"}
        )
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS messages (seq BIGSERIAL PRIMARY KEY, "
            + ", ".join(f"{c} TEXT" for c in _COLUMNS)
            + ")"
        )
        return cls(pool)

    async def insert(self, row: tuple[Any, ...]) -> int:
        return int(await self._pool.fetchval(self._insert, *row))

    async def close(self) -> None:
        await self._pool.close()


async def open_store(url: str) -> Store:
    """From a SQLAlchemy URL as the service takes it (sqlite+aiosqlite:///path or
    postgresql+asyncpg://...)."""
    if url.startswith("sqlite"):
        return SqliteStore(url.split(":///", 1)[1])
    return await PostgresStore.open(url.replace("postgresql+asyncpg://", "postgresql://", 1))


def create_durable_app(token: str, database_url: str) -> FastAPI:
    expected = token.encode()
    store: dict[str, Store] = {}

    async def require_token(request: Request) -> None:
        check_bearer(request, expected)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        store["db"] = await open_store(database_url)
        try:
            yield
        finally:
            await store["db"].close()

    app = FastAPI(
        title="Helionyx bench durable reference", docs_url=None, redoc_url=None, lifespan=lifespan
    )
    problems.install(app)
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])

    @api.post("/ingest/message", response_model=IngestResultOut, status_code=201)
    async def ingest_message(request: Request) -> JSONResponse:
        body = await parse_body(request, IngestMessage)
        event_id = str(uuid.uuid4())
        occurred = body.occurred_at.isoformat() if body.occurred_at else None
        row = (
            event_id,
            body.text,
            body.source,
            body.source_id,
            body.author,
            body.conversation_id,
            occurred,
            json.dumps(body.metadata),
            datetime.now(UTC).isoformat(),
        )
        seq = await store["db"].insert(row)
        answer = IngestResultOut(event_id=event_id, seq=seq, status="recorded", derived=[])
        return JSONResponse(answer.model_dump(mode="json"), status_code=201)

    answer_health(app)
    app.include_router(api)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.durable_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--database", required=True, help="sqlite+aiosqlite:///path or postgresql+asyncpg://..."
    )
    args = parser.parse_args(argv)
    serve(create_durable_app(os.environ["HELIONYX_API_TOKEN"], args.database), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
