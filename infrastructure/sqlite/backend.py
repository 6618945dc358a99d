"""The SQLite backend (dev): a file, its statements straight to aiosqlite where it pays."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from infrastructure.backends import BackupFormat
from infrastructure.sqlite import guard_triggers
from infrastructure.sqlite.engine import create_sqlite_engine
from infrastructure.sqlite.unit_of_work import SqliteUnitOfWork

if TYPE_CHECKING:
    from domain.chain import ChainReport
    from domain.event_log import ChainVerification, EventLog
    from infrastructure.backup.base import DatabaseSnapshot, RestoreSteps


class SqliteBackend:
    name = "sqlite"
    title = "SQLite"
    tiers: tuple[str, ...] = ("dev",)  # a file on one machine: never the owner's real data
    guard_triggers = tuple(guard_triggers.TRIGGERS)
    unit_of_work = SqliteUnitOfWork
    # https://www.sqlite.org/fileformat.html#the_database_header
    backup_format = BackupFormat(
        extension="sqlite3",
        name="sqlite3",
        consistency="SQLite online backup API: one read transaction",
        magic=b"SQLite format 3\x00",
        spelled="a SQLite database",
    )

    def create_engine(self, url: URL, *, pool_size: int = 5) -> AsyncEngine:
        return create_sqlite_engine(url)

    def database_file(self, url: URL) -> Path | None:
        database = url.database
        if url.query.get("uri") and database and database.startswith("file:"):
            parsed = urlsplit(database)  # file:///path?mode=ro (https://sqlite.org/uri.html)
            if "memory" in parse_qs(parsed.query).get("mode", []) or not parsed.path:
                return None
            database = unquote(parsed.path)
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database)

    def chain_verification(
        self, url: URL, engine: AsyncEngine, event_log: EventLog
    ) -> ChainVerification:
        from infrastructure.sqlite.verification import ParallelSqliteChainVerification

        path = self.database_file(url)
        return event_log if path is None else ParallelSqliteChainVerification(path.resolve())

    async def verify_on(self, conn: AsyncConnection) -> ChainReport:
        from infrastructure.sqlite.verification import ParallelSqliteChainVerification

        path = self.database_file(conn.engine.url)
        if path is None:
            raise ValueError("an in-memory SQLite database has no file to check")
        return await ParallelSqliteChainVerification(path.resolve()).verify()

    async def enabled_triggers(self, engine: AsyncEngine) -> set[str]:
        return await guard_triggers.enabled_triggers(engine)

    async def restore_triggers(self, engine: AsyncEngine, missing: list[str]) -> None:
        await guard_triggers.restore_triggers(engine, missing)

    async def grant_runtime_role(self, owner: AsyncEngine, runtime_url: str) -> None:
        return None  # a file has no roles: whoever may write it may do anything

    async def runtime_role_warning(self, engine: AsyncEngine) -> None:
        return None

    async def copy_live(self, live: AsyncEngine, temporary: Path) -> DatabaseSnapshot:
        from infrastructure.sqlite.backup import copy_live

        return await copy_live(live.url, temporary)

    def restore_steps(self, backup: Path, target_url: str | URL) -> RestoreSteps:
        from infrastructure.sqlite.backup import SqliteRestore

        return SqliteRestore(backup, target_url)


SQLITE = SqliteBackend()
