"""The PostgreSQL backend (staging, live): a server, through SQLAlchemy Core and asyncpg."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infrastructure.postgres import guard_triggers
from infrastructure.postgres.engine import create_postgres_engine
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork

if TYPE_CHECKING:
    from domain.chain import ChainReport
    from domain.event_log import ChainVerification, EventLog


class PostgresBackend:
    name = "postgresql"
    title = "PostgreSQL"
    guard_triggers = tuple(guard_triggers.TRIGGERS)
    unit_of_work = PostgresUnitOfWork

    def create_engine(self, url: URL, *, pool_size: int = 5) -> AsyncEngine:
        return create_postgres_engine(url, pool_size)

    def database_file(self, url: URL) -> Path | None:
        return None

    def chain_verification(self, url: URL, engine: AsyncEngine,
                           event_log: EventLog) -> ChainVerification:
        from infrastructure.postgres.verification import PostgresChainVerification

        return PostgresChainVerification(engine)

    async def verify_on(self, conn: AsyncConnection) -> ChainReport:
        from infrastructure.postgres.verification import verify_on

        return await verify_on(conn)

    async def enabled_triggers(self, engine: AsyncEngine) -> set[str]:
        return await guard_triggers.enabled_triggers(engine)

    async def restore_triggers(self, engine: AsyncEngine, missing: list[str]) -> None:
        await guard_triggers.restore_triggers(engine, missing)


POSTGRES = PostgresBackend()
