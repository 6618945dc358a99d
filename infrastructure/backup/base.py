"""What every backup shares with the backends: errors, a database's chain as verified, the
steps a backend takes to restore, and short-lived engines on the databases involved."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.chain import ChainReport
from infrastructure.backends import backend_for
from infrastructure.database import create_engine
from infrastructure.tables import events, helionyx_meta


class BackupError(Exception):
    """Nothing was written or replaced; the message says why."""


class BackupCorrupt(BackupError):
    """The backup is damaged, tampered with, or not the file its manifest describes."""

    def __init__(self, message: str, first_bad_seq: int | None = None) -> None:
        super().__init__(message)
        self.first_bad_seq = first_bad_seq


class RestoreRefused(BackupError):
    """The backup is sound, but restoring it needs the operator's explicit confirmation."""


@dataclass(frozen=True)
class DatabaseSnapshot:
    """A database's event chain as verified, with the tier and revision it records."""

    report: ChainReport
    tier: str | None
    revision: str | None


@dataclass(frozen=True)
class KeptDatabase:
    """The database a restore replaced, kept to return to: a backup file with its manifest
    (SQLite), or the old database renamed (PostgreSQL), with the command that puts it back
    when that is not `restore` of the file."""

    events: int
    location: str
    is_file: bool
    chain_problem: str | None = None
    return_command: str | None = None


class RestoreSteps(Protocol):
    """How a backend puts a backup in place of a database (`Backend.restore_steps`), in the
    order `restore` takes the steps; leaving the context removes what the steps made."""

    async def __aenter__(self) -> RestoreSteps: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def check_unused(self) -> None:
        """RestoreRefused while another process has the target open, where that can be
        told before anything is read."""
        ...

    async def verify(self) -> DatabaseSnapshot:
        """The backup's chain, checked without touching the target."""
        ...

    async def target_events(self) -> tuple[int, str | None]:
        """How many events the target holds, and the tier it records."""
        ...

    async def keep_replaced(
        self, events: int, keep_copy: Callable[[Path], Awaitable[KeptDatabase]]
    ) -> KeptDatabase | None:
        """Keep the target, when it holds events, to return to; `keep_copy` writes a
        verified backup of it into the directory it is given."""
        ...

    async def install(self, tier: str) -> None:
        """Replace the target with the verified backup, fenced to `tier`."""
        ...


@asynccontextmanager
async def connected(url: str | URL) -> AsyncIterator[AsyncEngine]:
    """A short-lived engine on one database (a copy, a scratch database, a restore target),
    disposed on the way out so that no session outlives the step that needed it."""
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def verify_chain(conn: AsyncConnection) -> ChainReport:
    """The backend's own chain check (what `make verify` runs), of the database `conn` is
    on: a copy at rest, or a restore target no one else uses."""
    return await backend_for(conn.engine.url).verify_on(conn)


async def snapshot_of(conn: AsyncConnection) -> DatabaseSnapshot:
    tables = await _tables(conn)
    if events.name not in tables:
        raise BackupCorrupt("no event log in it (no events table)")
    revision = None
    if "alembic_version" in tables:
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return DatabaseSnapshot(await verify_chain(conn), await _tier(conn, tables), revision)


async def event_count(conn: AsyncConnection) -> tuple[int, str | None]:
    """How many events a (restore target) database holds, and the tier it records."""
    tables = await _tables(conn)
    if events.name not in tables:
        return 0, await _tier(conn, tables)
    seq = (await conn.execute(select(func.max(events.c.seq)))).scalar()
    return int(seq or 0), await _tier(conn, tables)


async def record_tier(conn: AsyncConnection, tier: str) -> None:
    """Fence a restored database to the tier it now serves (helionyx_meta is not an event)."""
    await conn.execute(
        helionyx_meta.update().where(helionyx_meta.c.key == "tier").values(value=tier)
    )


async def _tables(conn: AsyncConnection) -> set[str]:
    return await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))


async def _tier(conn: AsyncConnection, tables: set[str]) -> str | None:
    if helionyx_meta.name not in tables:
        return None
    query = select(helionyx_meta.c.value).where(helionyx_meta.c.key == "tier")
    return (await conn.execute(query)).scalar()
