"""The PostgreSQL backend (staging, live): a server, through SQLAlchemy Core and asyncpg."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infrastructure.backends import BackupFormat
from infrastructure.postgres import guard_triggers
from infrastructure.postgres.engine import create_postgres_engine
from infrastructure.postgres.unit_of_work import PostgresUnitOfWork

if TYPE_CHECKING:
    from domain.chain import ChainReport
    from domain.event_log import ChainVerification, EventLog
    from infrastructure.backup.base import DatabaseSnapshot, RestoreSteps
    from infrastructure.postgres.roles import Grants


class PostgresBackend:
    name = "postgresql"
    title = "PostgreSQL"
    tiers: tuple[str, ...] = ("dev", "staging", "live")
    guard_triggers = tuple(guard_triggers.TRIGGERS)
    unit_of_work = PostgresUnitOfWork
    # pg_dump's custom format begins with "PGDMP" (pg_backup_archiver.c, WriteHead).
    backup_format = BackupFormat(
        extension="dump",
        name="pg_dump custom",
        consistency="pg_dump --snapshot of the transaction that verified the chain",
        magic=b"PGDMP",
        spelled="a pg_dump archive",
    )

    def create_engine(self, url: URL, *, pool_size: int = 5) -> AsyncEngine:
        return create_postgres_engine(url, pool_size)

    def database_file(self, url: URL) -> Path | None:
        return None

    def chain_verification(
        self, url: URL, engine: AsyncEngine, event_log: EventLog
    ) -> ChainVerification:
        from infrastructure.postgres.verification import PostgresChainVerification

        return PostgresChainVerification(engine)

    async def verify_on(self, conn: AsyncConnection) -> ChainReport:
        from infrastructure.postgres.verification import verify_on

        return await verify_on(conn)

    async def enabled_triggers(self, engine: AsyncEngine) -> set[str]:
        return await guard_triggers.enabled_triggers(engine)

    async def restore_triggers(self, engine: AsyncEngine, missing: list[str]) -> None:
        await guard_triggers.restore_triggers(engine, missing)

    async def grant_runtime_role(self, owner: AsyncEngine, runtime_url: str) -> Grants | None:
        from infrastructure.postgres.roles import grant_runtime_role

        return await grant_runtime_role(owner, runtime_url)

    async def runtime_role_warning(self, engine: AsyncEngine) -> str | None:
        from infrastructure.postgres.roles import startup_warning

        return await startup_warning(engine)

    async def copy_live(self, live: AsyncEngine, temporary: Path) -> DatabaseSnapshot:
        from infrastructure.postgres.backup import dump_live

        return await dump_live(live, temporary)

    def restore_steps(self, backup: Path, target_url: str | URL) -> RestoreSteps:
        from infrastructure.postgres.backup import PostgresRestore

        return PostgresRestore(backup, target_url)


POSTGRES = PostgresBackend()
